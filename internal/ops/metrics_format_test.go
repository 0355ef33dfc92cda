package ops

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/signpost-go/signpost/internal/store/sqlite"
)

// fullMetrics is a registry with every optional collector on and a
// sample in each labelled family, as a busy server exposes it.
func fullMetrics(t *testing.T) *Metrics {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "m.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m := NewMetrics(MetricsOptions{
		Links:         func() int { return 3 },
		DBUp:          func() float64 { return 1 },
		PendingClicks: func() int64 { return 2 },
		ListenerUp:    func() float64 { return 1 },
		DB:            st.DB(), DBName: "sqlite",
	})
	m.Redirect(true)
	m.Redirect(false)
	m.ObserveFlush(time.Millisecond, nil)
	h := newInstrumented(m)
	for _, target := range []string{"/known", "/missing", "/-/links/a", "/healthz"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", target, nil))
	}
	return m
}

// promlint (Prometheus' own naming and help checks) finds nothing in
// anything the registry exposes. A new metric with a bad name, a missing
// HELP, a counter without _total or a unit it should spell out fails here.
func TestMetricsPassPromlint(t *testing.T) {
	mfs, err := fullMetrics(t).Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) < 30 {
		t.Fatalf("gathered only %d metric families", len(mfs))
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

// /metrics answers the Prometheus text format by default and OpenMetrics
// when asked, as Prometheus asks when it wants exemplars.
func TestMetricsNegotiateOpenMetrics(t *testing.T) {
	m := fullMetrics(t)
	for _, tc := range []struct {
		accept, wantType, wantEnd string
	}{
		{"", "text/plain; version=0.0.4", ""},
		{"text/plain", "text/plain; version=0.0.4", ""},
		{"application/openmetrics-text; version=1.0.0; charset=utf-8,text/plain;version=0.0.4;q=0.5,*/*;q=0.1", "application/openmetrics-text; version=1.0.0", "# EOF\n"},
		{"application/openmetrics-text", "application/openmetrics-text", "# EOF\n"},
	} {
		req := httptest.NewRequest("GET", "/metrics", nil)
		if tc.accept != "" {
			req.Header.Set("Accept", tc.accept)
		}
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, req)
		ct, body := rec.Header().Get("Content-Type"), rec.Body.String()
		if rec.Code != http.StatusOK || !strings.HasPrefix(ct, tc.wantType) {
			t.Errorf("Accept %q: %d, Content-Type %q, want %q", tc.accept, rec.Code, ct, tc.wantType)
			continue
		}
		if !strings.HasSuffix(body, tc.wantEnd) || (tc.wantEnd == "" && strings.Contains(body, "# EOF")) {
			t.Errorf("Accept %q: body ends %q", tc.accept, body[max(0, len(body)-40):])
		}
		// Both carry the service's own families; OpenMetrics names a
		// counter's family without _total.
		for _, want := range []string{"# TYPE signpost_redirects", `signpost_redirects_total{result="found"} 1`, "signpost_http_request_duration_seconds_bucket{"} {
			if !strings.Contains(body, want) {
				t.Errorf("Accept %q: body lacks %q", tc.accept, want)
			}
		}
	}
}
