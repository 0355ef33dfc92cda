package ops

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signpost-go/signpost/internal/buildinfo"
	"github.com/signpost-go/signpost/internal/links"
	"github.com/signpost-go/signpost/internal/store/sqlite"
)

// scrape returns the text exposition of m's registry.
func scrape(t testing.TB, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics answered %d: %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

func wantLines(t *testing.T, body string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(body, l) {
			t.Errorf("metrics lack %q", l)
		}
	}
}

func TestMetricsRegistry(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "m.db"), sqlite.Options{MaxOpenConns: 7, MaxIdleConns: 7})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	links, dbUp, pending, listening, skipped := 42, 1.0, int64(7), 1.0, int64(2)
	m := NewMetrics(MetricsOptions{
		Links:         func() int { return links },
		DBUp:          func() float64 { return dbUp },
		PendingClicks: func() int64 { return pending },
		ListenerUp:    func() float64 { return listening },
		RowsSkipped:   func() int64 { return skipped },
		DB:            st.DB(), DBName: "sqlite",
	})
	m.Redirect(true)
	m.Redirect(true)
	m.Redirect(false)
	m.ObserveFlush(3*time.Millisecond, nil)
	m.ObserveFlush(time.Second, errors.New("database is locked"))

	body := scrape(t, m)
	bi := buildinfo.Get()
	wantLines(t, body,
		// Go collector, with runtime/metrics series, and the process collector.
		"go_goroutines ", "go_gc_duration_seconds", "go_sched_gomaxprocs_threads ", "go_gc_gogc_percent ",
		"go_memory_classes_heap_objects_bytes ", "go_sync_mutex_wait_total_seconds_total ",
		"process_cpu_seconds_total ", "process_resident_memory_bytes ",
		`signpost_build_info{goversion="`+bi.GoVersion+`",revision="`+bi.Revision+`",version="`+bi.Version+`"} 1`,
		"signpost_links 42",
		"signpost_db_up 1",
		"signpost_clicks_pending 7",
		"signpost_change_listener_up 1",
		`signpost_redirects_total{result="found"} 2`,
		`signpost_redirects_total{result="not_found"} 1`,
		`signpost_click_flush_duration_seconds_count{result="ok"} 1`,
		`signpost_click_flush_duration_seconds_count{result="error"} 1`,
		`go_sql_max_open_connections{db_name="sqlite"} 7`,
		`go_sql_open_connections{db_name="sqlite"}`,
		`go_sql_wait_count_total{db_name="sqlite"}`,
		"signpost_store_rows_skipped_total 2",
		"signpost_disk_full_total 0",
	)
	// Gauges are read at scrape time.
	links, dbUp, pending, listening, skipped = 43, 0, 9, 0, 3
	body = scrape(t, m)
	wantLines(t, body, "signpost_links 43", "signpost_db_up 0", "signpost_clicks_pending 9", "signpost_change_listener_up 0",
		"signpost_store_rows_skipped_total 3")
}

// A full disk is counted whether a request or a click flush met it.
func TestDiskFullCounted(t *testing.T) {
	m := NewMetrics(MetricsOptions{})
	h := m.Instrument(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/full" {
			w.WriteHeader(http.StatusInsufficientStorage)
		}
	}))
	for _, p := range []string{"/full", "/ok", "/full"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", p, nil))
	}
	m.ObserveFlush(time.Millisecond, links.Errorf(links.DiskFull, "disk full"))
	m.ObserveFlush(time.Millisecond, links.Errorf(links.Unavailable, "database down"))
	wantLines(t, scrape(t, m), "signpost_disk_full_total 3")
}

// newInstrumented builds a mux behind Instrument, the way serve.go wires
// the public handler.
func newInstrumented(m *Metrics) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /-/{$}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "home") })
	mux.HandleFunc("GET /-/links/{name}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "link page") })
	mux.HandleFunc("POST /-/links/{name}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusSeeOther) })
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/known" {
			w.Header()["Location"] = []string{"https://example.com/"}
			w.WriteHeader(http.StatusFound)
			return
		}
		http.NotFound(w, r)
	})
	return m.Instrument(mux)
}

func TestHTTPMetricsLabelRoutePatterns(t *testing.T) {
	m := NewMetrics(MetricsOptions{})
	h := newInstrumented(m)
	for _, rq := range []struct{ method, target string }{
		{"GET", "/-/links/alpha"},
		{"GET", "/-/links/beta"},
		{"POST", "/-/links/beta"},
		{"GET", "/known?token=s3cret"},
		{"GET", "/user/typed/path"},
		{"HEAD", "/known"},
		{"GET", "/healthz"},
		{"GET", "/-/"},
		{"DELETE", "/known"},    // no route takes it: 405 from the mux
		{"BREW", "/coffee-pot"}, // an invented method is not a label value
	} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(rq.method, rq.target, nil))
	}
	body := scrape(t, m)
	wantLines(t, body,
		`signpost_http_requests_total{code="200",method="GET",route="/-/links/{name}"} 2`,
		`signpost_http_requests_total{code="303",method="POST",route="/-/links/{name}"} 1`,
		`signpost_http_requests_total{code="302",method="GET",route="/"} 1`,
		`signpost_http_requests_total{code="404",method="GET",route="/"} 1`,
		`signpost_http_requests_total{code="302",method="HEAD",route="/"} 1`,
		`signpost_http_requests_total{code="200",method="GET",route="/healthz"} 1`, // wrote nothing: net/http sends 200
		`signpost_http_requests_total{code="200",method="GET",route="/-/"} 1`,      // the pattern read as a path, without {$}
		`signpost_http_requests_total{code="405",method="DELETE",route="unmatched"} 1`,
		`signpost_http_requests_total{code="405",method="OTHER",route="unmatched"} 1`,
		`signpost_http_request_duration_seconds_count{method="GET",route="/-/links/{name}"} 2`,
		`signpost_http_request_duration_seconds_bucket{method="GET",route="/",le="2.5e-05"}`,
	)
	for _, leak := range []string{"alpha", "beta", "/user/typed/path", "s3cret", "BREW", "coffee"} {
		if strings.Contains(body, leak) {
			t.Errorf("metrics carry a request-supplied value %q", leak)
		}
	}
}

func TestAccessLog(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelDebug, slog.LevelInfo} {
		var buf bytes.Buffer
		m := NewMetrics(MetricsOptions{Log: slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: level}))})
		h := newInstrumented(m)
		req := httptest.NewRequest("GET", "/known/deeper?token=s3cret&x=1", nil)
		req.RemoteAddr = "192.0.2.7:5555"
		h.ServeHTTP(httptest.NewRecorder(), req)
		if level != slog.LevelDebug {
			if buf.Len() != 0 {
				t.Errorf("access log at %s: %s", level, buf.String())
			}
			continue
		}
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		if len(lines) != 1 {
			t.Fatalf("want one access-log line per request, got %d: %s", len(lines), buf.String())
		}
		var line map[string]any
		if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
			t.Fatal(err)
		}
		for k, want := range map[string]any{"level": "DEBUG", "msg": "request", "method": "GET", "route": "/",
			"path": "/known/deeper", "status": float64(404), "remote": "192.0.2.7:5555"} {
			if line[k] != want {
				t.Errorf("access log %s = %v, want %v", k, line[k], want)
			}
		}
		if _, ok := line["duration_ms"]; !ok {
			t.Errorf("access log has no duration_ms: %s", lines[0])
		}
		if strings.Contains(buf.String(), "s3cret") || strings.Contains(buf.String(), "token") {
			t.Errorf("access log carries the query string: %s", lines[0])
		}
	}
}

func TestRecorderUnwrapsForResponseController(t *testing.T) {
	m := NewMetrics(MetricsOptions{})
	errs := make(chan error, 2)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		errs <- rc.SetWriteDeadline(time.Now().Add(time.Minute))
		io.WriteString(w, "part")
		errs <- rc.Flush()
	})
	ts := httptest.NewServer(m.Instrument(mux))
	defer ts.Close()
	resp, err := ts.Client().Get(ts.URL + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("ResponseController through the recorder: %v", err)
		}
	}
}

// discardWriter is a ResponseWriter that keeps nothing, so allocation
// counts and benchmarks measure the middleware alone.
type discardWriter struct {
	h    http.Header
	code int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(code int)        { d.code = code }

// redirectHandler answers a fixed 302 and reports the pattern "GET /", as
// the redirect fast path does.
func redirectHandler() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Pattern = "GET /"
		w.Header()["Location"] = []string{"https://example.com/fixed"}
		w.WriteHeader(http.StatusFound)
	}
}

// BenchmarkInstrumentedRedirect and BenchmarkBareRedirectHandler compare a
// fixed 302 with and without the metrics middleware, access log off as at
// LOG_LEVEL=info. The middleware allocates nothing once warm: both report
// the handler's one allocation (its Location slice).
//
//	go test -run XXX -bench 'Redirect' -benchmem ./internal/ops/
func BenchmarkInstrumentedRedirect(b *testing.B) {
	m := NewMetrics(MetricsOptions{Log: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	benchHandler(b, m.Instrument(redirectHandler()))
}

func BenchmarkBareRedirectHandler(b *testing.B) {
	benchHandler(b, redirectHandler())
}

func benchHandler(b *testing.B, h http.Handler) {
	req := httptest.NewRequest("GET", "/link-00042/a/b?x=1", nil)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, req)
	}
}

func BenchmarkInstrumentedRedirectParallel(b *testing.B) {
	m := NewMetrics(MetricsOptions{Log: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	benchParallel(b, m.Instrument(redirectHandler()))
}

// benchParallel serves a fixed redirect request with h on every core.
func benchParallel(b *testing.B, h http.Handler) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequest("GET", "/link-00042/a/b?x=1", nil)
		w := &discardWriter{h: http.Header{}}
		for pb.Next() {
			clear(w.h)
			h.ServeHTTP(w, req)
		}
	})
}
