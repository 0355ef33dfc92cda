package ops

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func get(t *testing.T, c *http.Client, url string) (int, []byte) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func TestDebugMuxServesEveryPprofEndpoint(t *testing.T) {
	ts := httptest.NewServer(DebugMux())
	defer ts.Close()
	c := ts.Client()

	code, body := get(t, c, ts.URL+"/debug/pprof/")
	if code != 200 {
		t.Fatalf("index: %d", code)
	}
	for _, p := range []string{"allocs", "block", "cmdline", "goroutine", "heap", "mutex", "profile", "symbol", "threadcreate", "trace"} {
		if !strings.Contains(string(body), "href='"+p+"?debug=1'") {
			t.Errorf("index does not list %s", p)
		}
	}
	// Every named profile, in text and in the binary (gzipped) format.
	for _, p := range []string{"allocs", "block", "goroutine", "heap", "mutex", "threadcreate"} {
		if code, body := get(t, c, ts.URL+"/debug/pprof/"+p+"?debug=1"); code != 200 || len(body) == 0 {
			t.Errorf("%s?debug=1: %d, %d bytes", p, code, len(body))
		}
		if code, body := get(t, c, ts.URL+"/debug/pprof/"+p); code != 200 || !isGzip(body) {
			t.Errorf("%s: %d, gzip=%v", p, code, isGzip(body))
		}
	}
	if code, body := get(t, c, ts.URL+"/debug/pprof/cmdline"); code != 200 || !strings.Contains(string(body), ".test") {
		t.Errorf("cmdline: %d %q", code, body)
	}
	if code, body := get(t, c, ts.URL+"/debug/pprof/symbol"); code != 200 || !strings.HasPrefix(string(body), "num_symbols:") {
		t.Errorf("symbol: %d %q", code, body)
	}
	resp, err := c.Post(ts.URL+"/debug/pprof/symbol", "text/plain", strings.NewReader("0x0"))
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("POST symbol: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if code, body := get(t, c, ts.URL+"/debug/pprof/profile?seconds=1"); code != 200 || !isGzip(body) {
		t.Errorf("profile: %d %q", code, head(body))
	}
	if code, body := get(t, c, ts.URL+"/debug/pprof/trace?seconds=0.2"); code != 200 || !bytes.HasPrefix(body, []byte("go 1.")) {
		t.Errorf("trace: %d %q", code, head(body))
	}
	if code, _ := get(t, c, ts.URL+"/debug/pprof/nonesuch"); code != 404 {
		t.Errorf("unknown profile: %d", code)
	}
}

func TestDebugMuxIsPrivate(t *testing.T) {
	if DebugMux() == http.DefaultServeMux {
		t.Fatal("DebugMux is the DefaultServeMux")
	}
	// The public handler is built by web.New on its own mux; a side
	// server only ever serves the handler it is given. A metrics-only
	// side server must not answer pprof.
	s, err := StartSideServers(slog.New(slog.DiscardHandler), "", "127.0.0.1:0", NewMetrics(MetricsOptions{}).Handler())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Debug != nil {
		t.Fatal("DEBUG_ADDR empty started a debug server")
	}
	c := http.DefaultClient
	if code, _ := get(t, c, "http://"+s.Metrics.Addr()+"/debug/pprof/"); code != 404 {
		t.Errorf("metrics server answers /debug/pprof/ with %d", code)
	}
	if code, body := get(t, c, "http://"+s.Metrics.Addr()+"/metrics"); code != 200 || !strings.Contains(string(body), "signpost_build_info") {
		t.Errorf("metrics server /metrics: %d", code)
	}
	d, err := StartSideServers(slog.New(slog.DiscardHandler), "127.0.0.1:0", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	NewMetrics(MetricsOptions{}).Instrument(http.NotFoundHandler())

	// Nothing of ours lands on http.DefaultServeMux: after building the
	// metrics, a debug and a metrics server, it holds only what importing
	// net/http/pprof put there (and no server of ours serves it).
	for _, path := range []string{"/", "/metrics", "/healthz", "/readyz", "/debug/", "/-/"} {
		if _, pattern := http.DefaultServeMux.Handler(httptest.NewRequest("GET", path, nil)); pattern != "" {
			t.Errorf("http.DefaultServeMux has a handler for %s (pattern %q)", path, pattern)
		}
	}
}

func TestSideServersDebugAddrInUse(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	first, err := StartSideServers(log, "127.0.0.1:0", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	// A taken DEBUG_ADDR is a warning, not a refusal to serve.
	second, err := StartSideServers(log, first.Debug.Addr(), "", nil)
	if err != nil {
		t.Fatalf("busy DEBUG_ADDR stopped start-up: %v", err)
	}
	defer second.Close()
	if second.Debug != nil || !strings.Contains(logs.String(), "pprof is unavailable") {
		t.Errorf("busy DEBUG_ADDR: debug=%v logs=%s", second.Debug, logs.String())
	}
	// A taken METRICS_ADDR is an error: scrapes would silently stop.
	if _, err := StartSideServers(log, "", first.Debug.Addr(), NewMetrics(MetricsOptions{}).Handler()); err == nil || !strings.Contains(err.Error(), "METRICS_ADDR") {
		t.Errorf("busy METRICS_ADDR: err = %v", err)
	}
}

// A DEBUG_ADDR that others can reach is served (the operator asked for
// it) with a warning at start.
func TestDebugAddrNotLoopbackWarns(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:6060": false, "127.9.9.9:6060": false, "[::1]:6060": false, "localhost:6060": false, "[::ffff:127.0.0.1]:6060": false,
		":6060": true, "0.0.0.0:6060": true, "[::]:6060": true, "10.0.0.5:6060": true, "pprof.internal:6060": true,
	} {
		if got := !loopback(addr); got != want {
			t.Errorf("%s: warns %v, want %v", addr, got, want)
		}
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	// 192.0.2.1 (TEST-NET-1) is on no interface: the bind fails, nothing is exposed.
	s, err := StartSideServers(log, "192.0.2.1:0", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if !strings.Contains(logs.String(), "DEBUG_ADDR is not a loopback address") {
		t.Errorf("no warning for DEBUG_ADDR 192.0.2.1:0: %s", logs.String())
	}
	logs.Reset()
	s, err = StartSideServers(log, "127.0.0.1:0", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if strings.Contains(logs.String(), "not a loopback") {
		t.Errorf("a loopback DEBUG_ADDR warned: %s", logs.String())
	}
}

func isGzip(b []byte) bool { return len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b }

func head(b []byte) []byte {
	if len(b) > 80 {
		return b[:80]
	}
	return b
}
