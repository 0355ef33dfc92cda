package ops

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// The last two steps of a drain are bounded, so that a slow database or
// profiling server cannot hold the exit past what the shutdown arithmetic
// in docs/operations.md allows for.
const (
	FinalFlushTimeout  = 10 * time.Second
	ProfilePushTimeout = 5 * time.Second
)

// Drain is how a serving process stops without losing a request or a
// click. Run takes its steps in the order docs/operations.md ("Shutdown")
// describes; serve calls it after the first signal.
//
// A second signal is not Drain's business: serve restores the default
// signal handling after the first, so a second one ends the process
// wherever Drain is.
type Drain struct {
	Log *slog.Logger
	// Server is the public server, Probes its readiness.
	Server *http.Server
	Probes *Probes
	// Delay (SHUTDOWN_DELAY) is how long the server keeps serving with
	// readiness at 503, so that load balancers stop sending.
	Delay time.Duration
	// Timeout (SHUTDOWN_TIMEOUT) bounds the wait for requests in flight.
	Timeout time.Duration
	// StopBackground stops the loops that use the database (flusher,
	// resync, change listener) and waits for them.
	StopBackground func()
	// Flush writes the clicks counted so far, within FinalFlushTimeout.
	Flush func(context.Context) error
	// Profiler (nil when profiling is off) pushes its last profiles,
	// within ProfilePushTimeout.
	Profiler *Profiler
}

// Run drains: readiness 503 → Delay → Shutdown bounded by Timeout → stop
// the background loops → final click flush → last profile push. The
// caller closes the database when Run returns.
func (d Drain) Run() {
	d.Probes.Drain()
	if d.Delay > 0 {
		d.Log.Info("draining: /readyz answers 503", "delay", d.Delay)
		time.Sleep(d.Delay)
	}

	ctx, cancel := context.WithTimeout(context.Background(), d.Timeout)
	defer cancel()
	if err := d.Server.Shutdown(ctx); err != nil {
		d.Log.Warn("requests still in flight at SHUTDOWN_TIMEOUT were cut off", "err", err)
		d.Server.Close()
	}

	// No request can count a click any more: what is counted now is final.
	if d.StopBackground != nil {
		d.StopBackground()
	}
	if d.Flush != nil {
		fctx, fcancel := context.WithTimeout(context.Background(), FinalFlushTimeout)
		defer fcancel()
		if err := d.Flush(fctx); err != nil {
			d.Log.Error("final click flush failed; these counts are lost", "err", err)
		}
	}
	d.Profiler.Stop(ProfilePushTimeout)
}
