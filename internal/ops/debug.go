package ops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"time"

	pyroscopepprof "github.com/grafana/pyroscope-go/http/pprof"
)

// DebugMux returns a private mux with the net/http/pprof handlers: the
// index (which also serves every named profile: allocs, block, goroutine,
// heap, mutex, threadcreate), cmdline, profile, symbol and trace.
//
// It is never http.DefaultServeMux. (Importing net/http/pprof registers the
// same handlers there as a side effect; no server of ours serves that mux.)
//
// /debug/pprof/profile is Pyroscope's drop-in CPU handler: plain
// runtime/pprof refuses a CPU profile while continuous profiling holds the
// CPU profiler ("cpu profiling already in use"); this one pauses the
// background profile, hands the caller its profile, and resumes.
func DebugMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pyroscopepprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/debug/pprof/", http.StatusFound)
	})
	return mux
}

// SideServer is one of the optional extra listeners: the debug (pprof)
// server on DEBUG_ADDR, or /metrics on METRICS_ADDR.
type SideServer struct {
	Name string
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
}

// Addr is the address the server listens on.
func (s *SideServer) Addr() string { return s.ln.Addr().String() }

// StartSideServer listens on addr and serves h until Close. writeTimeout
// 0 leaves writes unbounded (a CPU profile or trace takes as long as asked).
func StartSideServer(log *slog.Logger, name, addr string, h http.Handler, writeTimeout time.Duration) (*SideServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s server: %w", name, err)
	}
	s := &SideServer{Name: name, ln: ln, done: make(chan struct{}), srv: &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error(name+" server stopped", "err", err)
		}
	}()
	log.Info(name+" server listening", "addr", s.Addr())
	return s, nil
}

// Close stops the server, letting requests in flight finish until ctx is
// done.
func (s *SideServer) Close(ctx context.Context) error {
	if s == nil {
		return nil
	}
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close()
	}
	<-s.done
	return err
}

// SideServers are the debug server and, when METRICS_ADDR is set, the
// metrics server.
type SideServers struct {
	Debug, Metrics *SideServer
}

// StartSideServers starts the debug server on debugAddr (empty: none) and
// a /metrics server on metricsAddr (empty: none; /metrics is then on the
// public port). A debug address that cannot be bound is logged and
// skipped: profiling is not worth refusing traffic for. A metrics address
// that cannot be bound is an error, as scrapes would silently stop.
func StartSideServers(log *slog.Logger, debugAddr, metricsAddr string, metrics http.Handler) (*SideServers, error) {
	var s SideServers
	if debugAddr != "" {
		if !loopback(debugAddr) {
			log.Warn("DEBUG_ADDR is not a loopback address: pprof (heap contents, the command line, CPU profiles on demand) is open to whoever can reach it; use 127.0.0.1:6060 and kubectl port-forward", "addr", debugAddr)
		}
		d, err := StartSideServer(log, "debug", debugAddr, DebugMux(), 0)
		if err != nil {
			log.Warn("pprof is unavailable: DEBUG_ADDR could not be bound (set DEBUG_ADDR=off to silence this)", "err", err)
		}
		s.Debug = d
	}
	if metricsAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", metrics)
		m, err := StartSideServer(log, "metrics", metricsAddr, mux, 30*time.Second)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("METRICS_ADDR: %w", err)
		}
		s.Metrics = m
	}
	return &s, nil
}

// loopback reports whether addr (host:port) can only be reached from this
// machine: an IP loopback address or "localhost". An empty host listens
// on every interface; any other name may resolve to anything.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// Close stops both servers at once, cutting requests in flight (a long
// CPU profile must not hold a shutdown).
func (s *SideServers) Close() {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s.Debug.Close(ctx)
	s.Metrics.Close(ctx)
}
