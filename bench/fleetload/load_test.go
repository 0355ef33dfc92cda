package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The client counts what a non-retrying keep-alive client would see: it
// reuses connections, leaves after Connection: close or a server's idle
// close without an error, and records a request the server dropped.
func TestWorkerRecordsWhatTheServerDid(t *testing.T) {
	for _, tc := range []struct {
		name string
		// handle answers the n-th request (from 1); false: it hijacked
		// the connection and closed it without an answer.
		handle   func(w http.ResponseWriter, r *http.Request, n int64) bool
		idle     time.Duration // server's IdleTimeout, and the pause between requests
		wantOK   int64
		wantErrs map[string]int64
		reused   int64 // errors on a reused connection
		conns    int64
	}{
		{name: "keep-alive", wantOK: 3, conns: 1},
		{
			name: "Connection: close", wantOK: 3, conns: 3,
			handle: func(w http.ResponseWriter, r *http.Request, n int64) bool {
				w.Header().Set("Connection", "close")
				return true
			},
		},
		{name: "server closed the idle connection", idle: 30 * time.Millisecond, wantOK: 3, conns: 3},
		{
			name: "closed with a request in flight", wantOK: 2, conns: 2,
			wantErrs: map[string]int64{"eof": 1}, reused: 1,
			handle: func(w http.ResponseWriter, r *http.Request, n int64) bool {
				if n != 2 {
					return true
				}
				c, _, _ := w.(http.Hijacker).Hijack()
				c.Close()
				return false
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n, conns atomic.Int64
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.handle != nil && !tc.handle(w, r, n.Add(1)) {
					return
				}
				http.Redirect(w, r, target("x", 0), http.StatusFound)
			}))
			srv.Config.IdleTimeout = tc.idle
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					conns.Add(1)
				}
			}
			srv.Start()
			defer srv.Close()
			w := testWorker(srv.Listener.Addr().String())
			defer w.close()
			for range 3 {
				w.one()
				time.Sleep(3 * tc.idle)
			}
			if w.st.ok != tc.wantOK || w.st.errsReused != tc.reused || conns.Load() != tc.conns {
				t.Errorf("ok %d, errors on reused connections %d, connections %d; want %d, %d, %d (errors %v, first %v)",
					w.st.ok, w.st.errsReused, conns.Load(), tc.wantOK, tc.reused, tc.conns, w.st.errs, w.st.firstMsg)
			}
			for kind, want := range tc.wantErrs {
				if w.st.errs[kind] != want {
					t.Errorf("%s errors: %d, want %d (all: %v)", kind, w.st.errs[kind], want, w.st.errs)
				}
			}
			if len(tc.wantErrs) == 0 && len(w.st.errs) > 0 {
				t.Errorf("errors %v, want none", w.st.firstMsg)
			}
		})
	}
}

func TestWorkerRecordsRefusedAndWrongTarget(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	w := testWorker(addr)
	w.one()
	if w.st.errs["refused"] != 1 || w.st.ok != 0 {
		t.Errorf("against a closed port: errors %v, ok %d", w.st.errs, w.st.ok)
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://elsewhere.example", http.StatusFound)
	}))
	defer srv.Close()
	w = testWorker(srv.Listener.Addr().String())
	defer w.close()
	w.one()
	if w.st.errs["wrong-location"] != 1 || w.st.ok != 0 || !strings.Contains(w.st.firstMsg["wrong-location"], "elsewhere") {
		t.Errorf("a redirect to the wrong target: errors %v, ok %d", w.st.firstMsg, w.st.ok)
	}
}

func testWorker(addr string) *worker {
	return &worker{
		cfg: &loadConfig{addr: addr, prefix: "x", links: 1, timeout: 5 * time.Second},
		seq: new(atomic.Int64),
		st:  newStats(),
	}
}

// The pacer hands out exactly -max tokens, and after a stop signal keeps
// going only until -min.
func TestPaceBounds(t *testing.T) {
	for _, tc := range []struct {
		name     string
		min, max int64
		stop     bool
		want     int64
	}{
		{"max", 0, 50, false, 50},
		{"stop waits for min", 30, 1_000_000, true, 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &loadConfig{rate: 10_000, min: tc.min, max: tc.max, duration: time.Minute}
			tokens := make(chan struct{}, 4)
			stop := make(chan os.Signal, 1)
			if tc.stop {
				stop <- syscall.SIGTERM
			}
			var got atomic.Int64
			done := make(chan struct{})
			go func() {
				for range tokens {
					got.Add(1)
				}
				close(done)
			}()
			pace(c, time.Now(), tokens, stop)
			close(tokens)
			<-done
			if got.Load() != tc.want {
				t.Errorf("%d tokens, want %d", got.Load(), tc.want)
			}
		})
	}
}
