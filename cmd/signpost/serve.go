package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/signpost-go/signpost/internal/auth"
	"github.com/signpost-go/signpost/internal/config"
	"github.com/signpost-go/signpost/internal/index"
	"github.com/signpost-go/signpost/internal/links"
	"github.com/signpost-go/signpost/internal/ops"
	"github.com/signpost-go/signpost/internal/store"
	"github.com/signpost-go/signpost/internal/web"
)

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, _, err := config.Parse("serve", "serve [flags]", args, getenv, nil, stdout, nil)
	if err != nil {
		return err
	}
	log := newLogger(stderr, c)
	ops.SetMemoryLimit(log) // before the start-up line, which states it
	ops.LogStartup(log, c)
	if c.AuthMode == "none" {
		log.Warn("AUTH_MODE=none: everyone is anonymous and may edit or delete any link; put an authenticating proxy in front and set AUTH_MODE=proxy")
	}

	prof, err := ops.StartProfiling(ops.ProfilingOptions{Server: c.PyroscopeServer, Env: c.Env, Log: log})
	if err != nil {
		return err
	}
	defer prof.Stop(0) // early returns; a clean shutdown pushes the last profiles below

	// Signals: the first starts a graceful shutdown, a second exits at once.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)

	st, err := openStore(ctx, c, log)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer st.Close()

	ix := index.New(log)
	syncer := &index.Syncer{Index: ix, Store: st, Log: log}
	if _, err := syncer.Sync(ctx); err != nil {
		return fmt.Errorf("load links: %w", err)
	}
	log.Info("link index loaded", "links", ix.Len())

	probes := ops.NewProbes(ix.Loaded, st.Ping)
	dbKind, _, _ := store.Kind(c.DatabaseURL)
	mopt := ops.MetricsOptions{Links: ix.Len, DBUp: probes.DBUp, PendingClicks: ix.PendingClicks, DB: st.DB(), DBName: dbKind, Log: log}
	feed, following := st.(changeFeed) // PostgreSQL: follow other replicas' changes
	if following {
		mopt.ListenerUp = func() float64 {
			if feed.Listening() {
				return 1
			}
			return 0
		}
	}
	metrics := ops.NewMetrics(mopt)
	var publicMetrics http.Handler
	if c.MetricsAddr == "" {
		publicMetrics = metrics.Handler()
	}
	svc := &links.Service{Store: st, Index: ix, Enforce: c.AuthMode == "proxy"}
	h, err := web.New(web.Options{
		Links:  svc,
		Index:  ix,
		Auth:   &auth.Resolver{Proxy: c.AuthMode == "proxy", Header: c.AuthProxyHeader, Trusted: c.TrustedProxies},
		Log:    log,
		Health: probes.Health(),
		Ready:  probes.Ready(),

		Metrics:    publicMetrics,
		Wrap:       metrics.Wrap,
		OnRedirect: metrics.Redirect,
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", c.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on HTTP_ADDR %s: %w", c.HTTPAddr, err)
	}
	srv := &http.Server{
		Handler:           metrics.Instrument(h),
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		ReadTimeout:       c.ReadTimeout,
		WriteTimeout:      c.WriteTimeout,
		IdleTimeout:       c.IdleTimeout,
		MaxHeaderBytes:    c.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	// Background work stops when bg is cancelled, after the server.
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBG()
	var wg sync.WaitGroup
	flusher := &index.Flusher{Index: ix, Store: st, Log: log, Observe: metrics.ObserveFlush}
	wg.Go(func() { flusher.Run(bg, c.ClickFlushInterval) })
	wg.Go(func() { syncer.Run(bg, c.ResyncInterval) })
	wg.Go(func() { probes.WatchDB(bg, 5*time.Second) })
	if following {
		wg.Go(func() { followChanges(bg, feed, st, ix, syncer, log) })
	}

	side, err := ops.StartSideServers(log, c.DebugAddr, c.MetricsAddr, metrics.Handler())
	if err != nil {
		return err
	}
	defer side.Close()

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("serving", "addr", ln.Addr().String())

	select {
	case err := <-serveErr:
		stopBG()
		wg.Wait()
		return fmt.Errorf("http server: %w", err)
	case sig := <-sigs:
		log.Info("shutting down", "signal", sig.String())
	case <-ctx.Done():
		log.Info("shutting down", "reason", context.Cause(ctx))
	}

	// 1. Readiness fails at once; keep serving while load balancers notice.
	probes.Drain()
	if c.ShutdownDelay > 0 {
		log.Info("draining: /readyz answers 503", "delay", c.ShutdownDelay)
		select {
		case <-time.After(c.ShutdownDelay):
		case sig := <-sigs:
			return fmt.Errorf("second signal (%s): exiting at once", sig)
		}
	}
	// 2. Stop accepting, finish requests in flight.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.ShutdownTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(sctx) }()
	select {
	case err = <-done:
	case sig := <-sigs:
		return fmt.Errorf("second signal (%s): exiting at once", sig)
	}
	if err != nil {
		log.Warn("requests still in flight at SHUTDOWN_TIMEOUT were cut off", "err", err)
		srv.Close()
	}
	// 3. Flush the clicks counted so far, then close the database (deferred).
	stopBG()
	wg.Wait()
	fctx, fcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer fcancel()
	if err := flusher.Flush(fctx); err != nil {
		log.Error("final click flush failed; these counts are lost", "err", err)
	}
	prof.Stop(5 * time.Second)
	log.Info("shutdown complete")
	return nil
}
