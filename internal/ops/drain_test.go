package ops

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// drainServer is a real server on loopback whose /slow requests block
// until release is closed.
type drainServer struct {
	srv     *http.Server
	url     string
	probes  *Probes
	started chan struct{}
	release chan struct{}
	once    sync.Once
}

func newDrainServer(t *testing.T) *drainServer {
	t.Helper()
	d := &drainServer{probes: NewProbes(func() bool { return true }, nil), started: make(chan struct{}, 10), release: make(chan struct{})}
	mux := http.NewServeMux()
	mux.Handle("GET /readyz", d.probes.Ready())
	mux.HandleFunc("GET /fast", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		d.started <- struct{}{}
		select {
		case <-d.release:
		case <-r.Context().Done():
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d.srv = &http.Server{Handler: mux}
	d.url = "http://" + ln.Addr().String()
	go d.srv.Serve(ln)
	t.Cleanup(func() { d.unblock(); d.srv.Close() })
	return d
}

func (d *drainServer) unblock() { d.once.Do(func() { close(d.release) }) }

// fetchFresh makes a request on a fresh connection.
func fetchFresh(url string) (int, string, error) {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Drain keeps serving with readiness at 503 for the delay, lets the
// request in flight finish, and only then stops the background loops and
// flushes, in that order.
func TestDrainSteps(t *testing.T) {
	d := newDrainServer(t)
	inflight := make(chan int, 1)
	go func() {
		code, _, _ := fetchFresh(d.url + "/slow")
		inflight <- code
	}()
	<-d.started

	var mu sync.Mutex
	var steps []string
	step := func(s string) { mu.Lock(); steps = append(steps, s); mu.Unlock() }
	const delay = 300 * time.Millisecond
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		Drain{
			Log: slog.New(slog.DiscardHandler), Server: d.srv, Probes: d.probes,
			Delay: delay, Timeout: 5 * time.Second,
			StopBackground: func() { step("stop background") },
			Flush: func(ctx context.Context) error {
				if _, ok := ctx.Deadline(); !ok {
					t.Error("the final flush has no deadline")
				}
				step("flush")
				return nil
			},
		}.Run()
	}()

	// During the delay: not ready, still serving new connections.
	if code, body, err := fetchFresh(d.url + "/readyz"); err != nil || code != 503 || !strings.Contains(body, "shutting down") {
		t.Errorf("/readyz while draining: %d %q %v", code, body, err)
	}
	if code, _, err := fetchFresh(d.url + "/fast"); err != nil || code != 200 {
		t.Errorf("a new request during the delay: %d %v", code, err)
	}
	if !d.probes.Draining() {
		t.Error("Probes.Draining is false while draining")
	}
	if took := time.Since(start); took >= delay {
		t.Fatalf("the checks during the delay took %s of %s", took, delay)
	}

	// After the delay Shutdown waits for the request in flight: nothing
	// else has happened yet.
	time.Sleep(delay + 200*time.Millisecond)
	mu.Lock()
	early := append([]string(nil), steps...)
	mu.Unlock()
	if len(early) > 0 {
		t.Errorf("%v before the request in flight finished", early)
	}
	if _, _, err := fetchFresh(d.url + "/fast"); err == nil {
		t.Error("a new connection was served after the delay")
	}
	d.unblock()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the request in flight finished")
	}
	if code := <-inflight; code != 200 {
		t.Errorf("the request in flight got %d", code)
	}
	if got := strings.Join(steps, ", "); got != "stop background, flush" {
		t.Errorf("steps after Shutdown: %s", got)
	}
}

// A request still running at the timeout is cut off, and the clicks are
// flushed all the same.
func TestDrainCutsOffAtTimeout(t *testing.T) {
	d := newDrainServer(t)
	go fetchFresh(d.url + "/slow")
	<-d.started
	var log syncBuffer
	flushed := false
	const timeout = 200 * time.Millisecond
	start := time.Now()
	Drain{
		Log: slog.New(slog.NewTextHandler(&log, nil)), Server: d.srv, Probes: d.probes, Timeout: timeout,
		Flush: func(context.Context) error { flushed = true; return nil },
	}.Run()
	if took := time.Since(start); took < timeout || took > timeout+2*time.Second {
		t.Errorf("Run took %s with a %s timeout and a request that never ends", took, timeout)
	}
	if !flushed {
		t.Error("no final flush after the timeout")
	}
	if !strings.Contains(log.String(), "cut off") {
		t.Errorf("the cut-off is not logged:\n%s", log.String())
	}
}
