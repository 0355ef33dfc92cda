package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
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

	// exitNow is set when a second signal cuts the final click flush and
	// profile push short: they may still hold the database and the
	// profiler, so the deferred closers leave both to the process's exit.
	exitNow := false

	prof, err := ops.StartProfiling(ops.ProfilingOptions{Server: c.PyroscopeServer, Env: c.Env, Log: log})
	if err != nil {
		return err
	}
	defer func() {
		if !exitNow {
			prof.Stop(0) // early returns; a clean shutdown pushes the last profiles below
		}
	}()

	// Signals: the first stops start-up or starts a graceful shutdown, a
	// second exits at once.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)

	// Start-up (opening the database, which may wait up to five minutes for
	// another replica's migration lock, and loading the index) stops at the
	// first signal: nothing has been served or counted yet, so the process
	// exits there, with 0 as after a graceful shutdown.
	st, ix, syncer, err := startUp(ctx, sigs, c, log)
	if errors.Is(err, errStartInterrupted) {
		return nil
	}
	if err != nil {
		return err
	}
	defer func() {
		if !exitNow {
			st.Close()
		}
	}()
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
	// 3. Stop the background loops, flush the clicks counted so far, push
	// the last profiles, then close the database (deferred). A second
	// signal cuts this short too: the flush may wait up to 10s for a slow
	// database and the push up to 5s for the profiling server.
	stopBG()
	fctx, fcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer fcancel()
	final := make(chan struct{})
	go func() {
		defer close(final)
		wg.Wait()
		if err := flusher.Flush(fctx); err != nil {
			log.Error("final click flush failed; these counts are lost", "err", err)
		}
		prof.Stop(5 * time.Second)
	}()
	select {
	case <-final:
	case sig := <-sigs:
		exitNow = true
		return fmt.Errorf("second signal (%s) during the final click flush and profile push: exiting at once; clicks not yet written are lost", sig)
	}
	log.Info("shutdown complete")
	return nil
}

// errStartInterrupted: a signal stopped start-up (serve exits 0).
var errStartInterrupted = errors.New("start-up interrupted by a signal")

// startUpGrace is how long an interrupted start-up step may take to
// return after its context is cancelled before it is abandoned to the
// process's exit: a PostgreSQL query returns in milliseconds, a SQLite
// busy wait (up to 10s) does not heed its context at all.
const startUpGrace = 500 * time.Millisecond

// startUp opens the database and loads the index, unless a signal arrives
// on sigs first: then it cancels them, logs what it was doing, and returns
// errStartInterrupted.
func startUp(ctx context.Context, sigs <-chan os.Signal, c config.Config, log *slog.Logger) (store.Store, *index.Index, *index.Syncer, error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		st     store.Store
		ix     *index.Index
		syncer *index.Syncer
		err    error
	}
	var step atomic.Value
	step.Store("opening the database")
	done := make(chan result, 1)
	go func() {
		st, err := openStore(sctx, c, log)
		if err != nil {
			done <- result{err: fmt.Errorf("open database: %w", err)}
			return
		}
		step.Store("loading links")
		ix := index.New(log)
		syncer := &index.Syncer{Index: ix, Store: st, Log: log}
		if _, err := syncer.Sync(sctx); err != nil {
			st.Close()
			done <- result{err: fmt.Errorf("load links: %w", err)}
			return
		}
		done <- result{st, ix, syncer, nil}
	}()
	select {
	case r := <-done:
		// A signal that came meanwhile waits in sigs for the shutdown.
		return r.st, r.ix, r.syncer, r.err
	case sig := <-sigs:
		cancel()
		log.Warn("start-up interrupted by a signal; exiting without serving", "signal", sig.String(), "step", step.Load())
		select {
		case r := <-done:
			if r.st != nil {
				r.st.Close()
			}
		case <-time.After(startUpGrace):
		}
		return nil, nil, nil, errStartInterrupted
	}
}
