// Package ops is the production plumbing around the service: probes and
// what the port answers while starting, the drain at shutdown (drain.go),
// metrics, the private debug server, continuous profiling and runtime
// tuning.
package ops

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// Probes answers /healthz and /readyz.
//
// Readiness means "send me traffic": the schema is migrated, the index is
// loaded and the server is not draining. It deliberately does not depend on
// the database once the index is loaded: redirects are served from memory,
// and a shared database blip must not take every replica out at once. The
// database's state is reported in the body (and in signpost_db_up).
type Probes struct {
	// Loaded reports whether the index has been loaded.
	Loaded func() bool
	// Ping checks the database.
	Ping func(ctx context.Context) error

	draining atomic.Bool
	dbUp     atomic.Int32 // -1 unknown, 0 down, 1 up
	dbErr    atomic.Value // string
}

// Drain makes /readyz answer 503 from now on.
func (p *Probes) Drain() { p.draining.Store(true) }

// Draining reports whether Drain was called.
func (p *Probes) Draining() bool { return p.draining.Load() }

// DBUp reports the last database check: 1 up, 0 down.
func (p *Probes) DBUp() float64 { return float64(max(p.dbUp.Load(), 0)) }

// CheckDB pings the database once and records the result.
func (p *Probes) CheckDB(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := p.Ping(ctx); err != nil {
		p.dbUp.Store(0)
		p.dbErr.Store(err.Error())
		return
	}
	p.dbUp.Store(1)
	p.dbErr.Store("")
}

// WatchDB checks the database every interval until ctx is done.
func (p *Probes) WatchDB(ctx context.Context, interval time.Duration) {
	p.CheckDB(ctx)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.CheckDB(ctx)
		}
	}
}

// Health is the liveness probe: the process can serve. No database call.
func (p *Probes) Health() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
}

type readiness struct {
	Status   string `json:"status"`
	Reason   string `json:"reason,omitempty"`
	Database string `json:"database"`
	DBError  string `json:"database_error,omitempty"`
}

// Ready is the readiness probe.
func (p *Probes) Ready() http.Handler { return p.ready(false) }

// ready is the readiness probe; starting says the service is not serving
// yet (Starting has not been handed it), which is not ready even once the
// index has loaded: the rest of start-up (the handlers, the background
// loops) still runs, and every other request still answers 503.
func (p *Probes) ready(starting bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := readiness{Status: "ready", Database: "unknown"}
		switch p.dbUp.Load() {
		case 0:
			body.Database = "down"
			body.DBError, _ = p.dbErr.Load().(string)
		case 1:
			body.Database = "up"
		}
		status := http.StatusOK
		switch {
		case p.draining.Load():
			body.Status, body.Reason, status = "not ready", "shutting down", http.StatusServiceUnavailable
		case !p.Loaded():
			body.Status, body.Reason, status = "not ready", "link index not loaded yet", http.StatusServiceUnavailable
		case starting:
			body.Status, body.Reason, status = "not ready", "starting up", http.StatusServiceUnavailable
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(body)
	})
}

// NewProbes returns probes whose database state is unknown until checked.
func NewProbes(loaded func() bool, ping func(context.Context) error) *Probes {
	p := &Probes{Loaded: loaded, Ping: ping}
	p.dbUp.Store(-1)
	return p
}

// Starting is the public server's handler from the moment its port opens:
// until Start hands it the service, the probes answer (the process is
// alive; readiness says the index is not loaded yet) and every other
// request is refused with 503 and Retry-After, in the API's JSON error
// shape under /api/ and as plain text elsewhere. So the kubelet's liveness
// and start-up probes pass while a large index loads or another replica
// holds the migration lock, and nobody gets a 404 for a link that has
// just not been read yet.
type Starting struct {
	starting http.Handler
	h        atomic.Pointer[http.Handler]
}

// NewStarting returns the handler that answers with p until Start. Its
// /readyz stays 503 until Start even once the index has loaded: between
// the load and Start the service is still being built (templates,
// compressed static files), and a balancer that saw 200 then would get
// 503s.
func NewStarting(p *Probes) *Starting {
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", p.Health())
	mux.Handle("GET /readyz", p.ready(true))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		const msg = "Signpost is starting and has not loaded its links yet; try again in a few seconds"
		w.Header().Set("Retry-After", "2")
		w.Header().Set("Cache-Control", "no-store")
		if strings.HasPrefix(r.URL.Path, "/api/") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"error":{"code":"unavailable","message":"` + msg + `"}}` + "\n"))
			return
		}
		http.Error(w, msg, http.StatusServiceUnavailable)
	})
	return &Starting{starting: mux}
}

// Start hands every request from now on to h.
func (s *Starting) Start(h http.Handler) { s.h.Store(&h) }

func (s *Starting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h := s.h.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	s.starting.ServeHTTP(w, r)
}
