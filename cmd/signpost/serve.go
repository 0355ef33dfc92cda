package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/signpost-go/signpost/internal/config"
	"github.com/signpost-go/signpost/internal/index"
	"github.com/signpost-go/signpost/internal/links"
	"github.com/signpost-go/signpost/internal/ops"
	"github.com/signpost-go/signpost/internal/store"
	"github.com/signpost-go/signpost/internal/web"
)

// serve runs the service: it opens the public port, opens the database
// and loads the index, serves until the first SIGTERM or SIGINT (or until
// ctx is done), and then drains (ops.Drain).
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, rest, err := config.Parse("serve", "serve [flags]", args, getenv, nil, stdout, nil)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return &config.UsageError{Msg: fmt.Sprintf("serve: unexpected argument %q (settings are flags or environment variables: signpost serve --help)", rest[0])}
	}
	log := newLogger(stderr, c)
	ops.SetMemoryLimit(log, getenv) // before the start-up line, which states it
	ops.LogStartup(log, c, getenv)

	// The first signal cancels ctx: start-up stops, or serving drains.
	// stop then restores the default handling, so a second signal ends the
	// process at once, wherever it is.
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	context.AfterFunc(ctx, stop)

	prof, err := ops.StartProfiling(ops.ProfilingOptions{Server: c.PyroscopeServer, Env: c.Env, Log: log})
	if err != nil {
		return err
	}
	defer prof.Stop(0) // early returns; a drain pushes the last profiles first

	// pprof first: a start-up that is slow (a large index, a locked
	// database, a migration) can be profiled while it happens.
	debug, err := ops.StartSideServers(log, c.DebugAddr, "", nil)
	if err != nil {
		return err
	}
	defer debug.Close()

	// The port opens before the database: /healthz answers while another
	// replica holds the migration lock or the links load, /readyz says 503
	// until they are loaded, everything else 503 (ops.Starting).
	ix := index.New(log)
	probes := ops.NewProbes(ix.Loaded, nil)
	public := ops.NewStarting(probes)
	ln, err := net.Listen("tcp", c.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on HTTP_ADDR %s: %w", c.HTTPAddr, err)
	}
	srv := &http.Server{
		// Connection: close while draining: keep-alive clients leave before
		// Shutdown closes their connections (docs/operations.md).
		Handler:           ops.CloseWhileDraining(probes.Draining, public),
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		ReadTimeout:       c.ReadTimeout,
		WriteTimeout:      c.WriteTimeout,
		IdleTimeout:       c.IdleTimeout,
		MaxHeaderBytes:    c.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	defer srv.Close() // early returns; a drain has shut it down already
	log.Info("public server listening; starting up", "addr", ln.Addr().String())

	// Start-up runs under ctx, so the first signal stops it; nothing has
	// been counted yet, so that is a clean exit (0).
	st, err := openStoreUntilDone(ctx, c, log)
	if err != nil {
		return startUpFailed(ctx, log, "opening the database", fmt.Errorf("open database: %w", err))
	}
	defer st.Close()
	syncer := &index.Syncer{Index: ix, Store: st, Log: log}
	if _, err := syncer.Sync(ctx); err != nil {
		return startUpFailed(ctx, log, "loading links", fmt.Errorf("load links: %w", err))
	}
	log.Info("link index loaded", "links", ix.Len())
	probes.Ping = st.Ping

	dbKind, _, _ := store.Kind(c.DatabaseURL)
	mopt := ops.MetricsOptions{Links: ix.Len, DBUp: probes.DBUp, PendingClicks: ix.PendingClicks, DB: st.DB(), DBName: dbKind, Log: log}
	mopt.RowsSkipped = st.RowsSkipped
	feed, following := st.(index.ChangeFeed) // PostgreSQL: other replicas' changes
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
	svc := &links.Service{Store: st, Index: ix, Tokens: st, Log: log,
		WriteTimeout: min(links.DefaultWriteTimeout, c.WriteTimeout/6)} // an import gets 4x: still under HTTP_WRITE_TIMEOUT
	resolver, oidc, err := newIdentity(c, svc, log) // sets svc.Enforce and svc.RequireLogin
	if err != nil {
		return err
	}
	h, err := web.New(web.Options{
		Links:  svc,
		Index:  ix,
		Auth:   resolver,
		OIDC:   oidc,
		Log:    log,
		Health: probes.Health(),
		Ready:  probes.Ready(),

		Metrics:    publicMetrics,
		OnRedirect: metrics.Redirect,
		PublicURL:  c.PublicURL,

		ClickHistoryDays: c.ClickHistoryDays,
	})
	if err != nil {
		return err
	}

	// Background loops run on through the drain's delay; the drain stops
	// them before the final click flush.
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	stopBackground := func() { stopBG(); wg.Wait() }
	defer stopBackground() // early returns, before the database closes
	flusher := &index.Flusher{Index: ix, Store: st, Log: log, Observe: metrics.ObserveFlush}
	wg.Go(func() { flusher.Run(bg, c.ClickFlushInterval) })
	wg.Go(func() { syncer.Run(bg, c.ResyncInterval) })
	wg.Go(func() { probes.WatchDB(bg, 5*time.Second) })
	if oidc != nil {
		wg.Go(func() { oidc.Run(bg) })
	}
	if following {
		follower := &index.Follower{Feed: feed, Store: st, Index: ix, Syncer: syncer, Log: log}
		wg.Go(func() { follower.Run(bg) })
	}
	if c.HistoryRetention > 0 {
		wg.Go(func() { pruneHistory(bg, st, c.HistoryRetention, pruneInterval, log) })
	}
	if c.ClickHistoryDays > 0 {
		wg.Go(func() { pruneClicks(bg, st, c.ClickHistoryDays, pruneInterval, log) })
	}

	side, err := ops.StartSideServers(log, "", c.MetricsAddr, metrics.Handler())
	if err != nil {
		return err
	}
	defer side.Close()

	public.Start(metrics.Instrument(h))
	log.Info("serving", "addr", ln.Addr().String())

	select {
	case err := <-serveErr:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	// AfterFunc's stop runs in a goroutine of its own: stop here too, so
	// that the default handling is back before we say so.
	stop()
	log.Info("shutting down; a second signal ends the process at once", why(ctx)...)
	ops.Drain{
		Log: log, Server: srv, Probes: probes,
		Delay: c.ShutdownDelay, Timeout: c.ShutdownTimeout,
		StopBackground: stopBackground,
		Flush:          flusher.Flush,
		Profiler:       prof,
	}.Run()
	log.Info("shutdown complete")
	return nil
}

// startUpFailed is how start-up ends early. After a signal (ctx done)
// that is a clean stop: nothing has been served or counted, and a
// migration cut short rolls back with its transaction.
func startUpFailed(ctx context.Context, log *slog.Logger, step string, err error) error {
	if ctx.Err() == nil {
		return err
	}
	log.Warn("start-up interrupted by a signal; exiting without serving", append(why(ctx), "step", step)...)
	return nil
}

// why says why ctx ended, as log attributes: "signal" and its name
// (terminated, interrupt), or "reason" when the caller cancelled it.
func why(ctx context.Context) []any {
	cause := context.Cause(ctx).Error()
	if name, ok := strings.CutSuffix(cause, " signal received"); ok { // signal.NotifyContext's cause
		return []any{"signal", name}
	}
	return []any{"reason", cause}
}

// openStoreUntilDone is openStore that returns when ctx is done even if
// the open does not: SQLite's busy wait for a file another process has
// locked ignores its context, for up to 10 s. A store that opens after
// that is closed.
func openStoreUntilDone(ctx context.Context, c config.Config, log *slog.Logger) (store.Store, error) {
	type opened struct {
		st  store.Store
		err error
	}
	done := make(chan opened, 1)
	go func() {
		st, err := openStore(ctx, c, log)
		done <- opened{st, err}
	}()
	select {
	case o := <-done:
		return o.st, o.err
	case <-ctx.Done():
		go func() {
			if o := <-done; o.err == nil {
				o.st.Close()
			}
		}()
		return nil, context.Cause(ctx)
	}
}
