package ops

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
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
