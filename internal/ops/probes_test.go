package ops

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func probe(t *testing.T, h http.Handler) (int, map[string]string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	var body map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("probe body is not JSON: %q", rec.Body)
	}
	return rec.Code, body
}

func TestReadinessIgnoresADatabaseBlipOnceLoaded(t *testing.T) {
	var loaded atomic.Bool
	var dbErr atomic.Value
	dbErr.Store(errors.New("dial tcp 10.0.0.5:5432: connection refused"))
	pings := 0
	p := NewProbes(loaded.Load, func(context.Context) error {
		pings++
		return dbErr.Load().(error)
	})
	ready, health := p.Ready(), p.Health()

	// Not loaded yet: not ready, but alive.
	if code, body := probe(t, ready); code != 503 || body["reason"] != "link index not loaded yet" || body["database"] != "unknown" {
		t.Errorf("before load: %d %v", code, body)
	}
	if code, _ := probe(t, health); code != 200 {
		t.Errorf("/healthz before load: %d", code)
	}

	// Loaded, database down: still ready (redirects come from memory);
	// the body and signpost_db_up say the database is down.
	loaded.Store(true)
	p.CheckDB(context.Background())
	code, body := probe(t, ready)
	if code != 200 || body["status"] != "ready" || body["database"] != "down" || body["database_error"] == "" {
		t.Errorf("loaded, database down: %d %v", code, body)
	}
	if p.DBUp() != 0 {
		t.Errorf("DBUp = %v with the database down", p.DBUp())
	}

	p.Ping = func(context.Context) error { pings++; return nil }
	p.CheckDB(context.Background())
	if code, body := probe(t, ready); code != 200 || body["database"] != "up" || body["database_error"] != "" {
		t.Errorf("loaded, database up: %d %v", code, body)
	}
	if p.DBUp() != 1 {
		t.Errorf("DBUp = %v with the database up", p.DBUp())
	}

	// Draining: not ready, still alive; liveness never asks the database.
	before := pings
	p.Drain()
	if code, body := probe(t, ready); code != 503 || body["reason"] != "shutting down" {
		t.Errorf("draining: %d %v", code, body)
	}
	if code, _ := probe(t, health); code != 200 {
		t.Errorf("/healthz while draining: %d", code)
	}
	if pings != before {
		t.Error("a probe pinged the database; only WatchDB/CheckDB may")
	}
}

// Until Start, the probes answer and every other request is refused with
// 503 and Retry-After (JSON under /api/); after it, the service answers.
func TestStarting(t *testing.T) {
	p := NewProbes(func() bool { return false }, nil)
	s := NewStarting(p)
	do := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec
	}
	if rec := do("/healthz"); rec.Code != 200 {
		t.Errorf("/healthz while starting: %d", rec.Code)
	}
	if rec := do("/readyz"); rec.Code != 503 || !strings.Contains(rec.Body.String(), "not loaded yet") {
		t.Errorf("/readyz while starting: %d %s", rec.Code, rec.Body)
	}
	for _, path := range []string{"/docs", "/-/", "/metrics", "/api/v1/links", "/api/v1/links/docs"} {
		rec := do(path)
		if rec.Code != 503 || rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), "starting") {
			t.Errorf("%s while starting: %d %v %q", path, rec.Code, rec.Header(), rec.Body)
		}
		if strings.HasPrefix(path, "/api/") {
			var e struct {
				Error struct{ Code, Message string }
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code != "unavailable" || e.Error.Message == "" {
				t.Errorf("%s while starting: not the API's error shape: %q (%v)", path, rec.Body, err)
			}
		}
	}
	s.Start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	for _, path := range []string{"/healthz", "/docs", "/api/v1/links"} {
		if rec := do(path); rec.Code != http.StatusTeapot {
			t.Errorf("%s after Start: %d, want the service's answer", path, rec.Code)
		}
	}
}

// Readiness waits for Start, not only for the index: once the links are
// loaded the service is still being built, and a balancer that saw
// /readyz 200 then would send requests that get the start-up 503.
func TestNotReadyUntilStarted(t *testing.T) {
	p := NewProbes(func() bool { return true }, nil)
	s := NewStarting(p)
	ready := func() int {
		rec := httptest.NewRecorder()
		p.Ready().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		return rec.Code
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 503 || ready() != 503 {
		t.Errorf("/readyz with the index loaded but before Start: %d (the starting handler), %d (the probe); want 503", rec.Code, ready())
	}
	s.Start(http.NotFoundHandler())
	if got := ready(); got != 200 {
		t.Errorf("/readyz after Start: %d, want 200", got)
	}
}
