package main

// End-to-end tests of active-active replicas: several run() instances, each
// a whole `signpost serve`, on one real PostgreSQL database. They skip
// unless SIGNPOST_TEST_POSTGRES_URL is set (scripts/test-postgres.sh).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signpost-go/signpost/internal/links"
	"github.com/signpost-go/signpost/internal/store/postgres"
	"github.com/signpost-go/signpost/internal/store/postgres/pgtest"
	"github.com/signpost-go/signpost/internal/web"
	"github.com/signpost-go/signpost/internal/web/apitest"
)

// replica is one running `signpost serve`.
type replica struct {
	t      *testing.T
	name   string
	base   string // http://127.0.0.1:port
	logs   *replicaLog
	cancel context.CancelFunc
	done   chan error
}

type replicaLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *replicaLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *replicaLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var servingAddr = regexp.MustCompile(`"msg":"serving","addr":"([^"]+)"`)

// startReplica runs `signpost serve` on dbURL on a free port. Clicks are
// flushed only at shutdown and the periodic resync is an hour away unless
// env says otherwise, so what the tests see comes from notifications.
func startReplica(t *testing.T, name, dbURL string, env map[string]string) *replica {
	t.Helper()
	vars := map[string]string{
		"HTTP_ADDR":            "127.0.0.1:0",
		"DATABASE_URL":         dbURL,
		"DEBUG_ADDR":           "off",
		"LOG_FORMAT":           "json",
		"SHUTDOWN_DELAY":       "0s",
		"SHUTDOWN_TIMEOUT":     "5s",
		"CLICK_FLUSH_INTERVAL": "1h",
		"RESYNC_INTERVAL":      "1h",
		"DB_MAX_OPEN_CONNS":    "5",
		"DB_MAX_IDLE_CONNS":    "5",
	}
	for k, v := range env {
		vars[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &replica{t: t, name: name, logs: &replicaLog{}, cancel: cancel, done: make(chan error, 1)}
	go func() {
		r.done <- run(ctx, []string{"signpost", "serve"}, func(k string) string { return vars[k] }, io.Discard, r.logs)
	}()
	t.Cleanup(func() {
		r.stop()
		if t.Failed() {
			t.Logf("replica %s log:\n%s", name, r.logs)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := servingAddr.FindStringSubmatch(r.logs.String()); m != nil {
			r.base = "http://" + m[1]
			return r
		}
		select {
		case err := <-r.done:
			r.done <- err
			t.Fatalf("replica %s exited before serving: %v\n%s", name, err, r.logs)
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("replica %s did not start serving within 30s:\n%s", name, r.logs)
	return nil
}

// stop shuts the replica down as SIGTERM would (it flushes its clicks) and
// returns run's error. Stopping twice is fine.
func (r *replica) stop() error {
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err
		return err
	case <-time.After(30 * time.Second):
		r.t.Errorf("replica %s did not stop within 30s", r.name)
		return nil
	}
}

var noFollow = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Transport:     apitest.CheckedTransport(web.OpenAPI(), nil),
}

// get returns the status and Location of GET path.
func (r *replica) get(path string) (int, string) {
	r.t.Helper()
	resp, err := noFollow.Get(r.base + path)
	if err != nil {
		r.t.Fatalf("replica %s: GET %s: %v", r.name, path, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}

// api sends a JSON API request and returns the status and decoded body.
// metric returns the value of an unlabelled series on /metrics, or "".
func (r *replica) metric(name string) string {
	r.t.Helper()
	resp, err := http.Get(r.base + "/metrics")
	if err != nil {
		r.t.Fatalf("replica %s: GET /metrics: %v", r.name, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func (r *replica) api(method, path string, body any) (int, map[string]any) {
	r.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, r.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	resp, err := noFollow.Do(req)
	if err != nil {
		r.t.Fatalf("replica %s: %s %s: %v", r.name, method, path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out); err != nil {
			r.t.Fatalf("replica %s: %s %s: body is not JSON: %v\n%s", r.name, method, path, err, raw)
		}
	}
	return resp.StatusCode, out
}

func (r *replica) mustAPI(want int, method, path string, body any) map[string]any {
	r.t.Helper()
	status, out := r.api(method, path, body)
	if status != want {
		r.t.Fatalf("replica %s: %s %s = %d %v, want %d", r.name, method, path, status, out, want)
	}
	return out
}

// waitRedirect polls path on r until it answers want (302 with location,
// or 404 when location is ""), and returns how long that took.
func (r *replica) waitRedirect(path, location string, within time.Duration) time.Duration {
	r.t.Helper()
	start := time.Now()
	wantStatus := http.StatusFound
	if location == "" {
		wantStatus = http.StatusNotFound
	}
	var status int
	var loc string
	for {
		status, loc = r.get(path)
		if status == wantStatus && loc == location {
			return time.Since(start)
		}
		if time.Since(start) > within {
			r.t.Fatalf("replica %s: GET %s = %d %q after %v, want %d %q", r.name, path, status, loc, within, wantStatus, location)
		}
		time.Sleep(time.Millisecond)
	}
}

func storeClicks(t *testing.T, dbURL, key string) int64 {
	t.Helper()
	s, err := postgres.Open(context.Background(), dbURL, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return l.Clicks
}

func TestReplicasStayInStep(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	a := startReplica(t, "A", dbURL, nil)
	b := startReplica(t, "B", dbURL, nil)
	const within = time.Second

	// Create on A: B redirects within a second.
	a.mustAPI(http.StatusCreated, "POST", "/api/v1/links", map[string]string{"name": "docs", "url": "https://docs.example/v1"})
	t.Logf("create on A visible on B after %v", b.waitRedirect("/docs", "https://docs.example/v1", within))

	// Update on B: A follows.
	b.mustAPI(http.StatusOK, "PUT", "/api/v1/links/docs", map[string]string{"url": "https://docs.example/v2"})
	t.Logf("update on B visible on A after %v", a.waitRedirect("/docs", "https://docs.example/v2", within))

	// Rename on A: B serves the new name and forgets the old one.
	a.mustAPI(http.StatusOK, "PATCH", "/api/v1/links/docs", map[string]string{"name": "manual"}) // a rename; PUT would replace the whole link
	t.Logf("rename on A visible on B after %v", b.waitRedirect("/manual", "https://docs.example/v2", within))
	b.waitRedirect("/docs", "", within)

	// Delete on B: A stops redirecting.
	b.mustAPI(http.StatusNoContent, "DELETE", "/api/v1/links/manual", nil)
	t.Logf("delete on B visible on A after %v", a.waitRedirect("/manual", "", within))

	// Both edit one link at once: whichever committed last wins on both.
	a.mustAPI(http.StatusCreated, "POST", "/api/v1/links", map[string]string{"name": "race", "url": "https://race.example/0"})
	b.waitRedirect("/race", "https://race.example/0", within)
	for round := range 5 {
		var wg sync.WaitGroup
		for _, r := range []*replica{a, b} {
			wg.Go(func() {
				r.mustAPI(http.StatusOK, "PUT", "/api/v1/links/race", map[string]string{"url": fmt.Sprintf("https://race.example/%d/%s", round, r.name)})
			})
		}
		wg.Wait()
		_, rec := a.api("GET", "/api/v1/links/race", nil) // from the database
		final, _ := rec["url"].(string)
		if !strings.HasPrefix(final, fmt.Sprintf("https://race.example/%d/", round)) {
			t.Fatalf("round %d: stored url %q", round, final)
		}
		a.waitRedirect("/race", final, within)
		b.waitRedirect("/race", final, within)
	}

	// Clicks on both replicas add up in the database once they flush.
	a.mustAPI(http.StatusCreated, "POST", "/api/v1/links", map[string]string{"name": "hot", "url": "https://hot.example"})
	b.waitRedirect("/hot", "https://hot.example", within)
	const onA, onB = 30, 20
	for range onA {
		a.get("/hot")
	}
	for range onB - 1 { // waitRedirect above clicked once on B
		b.get("/hot")
	}
	if err := a.stop(); err != nil {
		t.Fatalf("A: %v", err)
	}
	if err := b.stop(); err != nil {
		t.Fatalf("B: %v", err)
	}
	if got := storeClicks(t, dbURL, "hot"); got != onA+onB {
		t.Fatalf("clicks in the database after both flushed: %d, want %d", got, onA+onB)
	}
}

// Three replicas starting at once on an empty database all come up (the
// migration runs under an advisory lock) and serve the same links.
func TestReplicasStartTogether(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	var wg sync.WaitGroup
	rs := make([]*replica, 3)
	for i := range rs {
		wg.Go(func() { rs[i] = startReplica(t, fmt.Sprint(i), dbURL, nil) })
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	rs[0].mustAPI(http.StatusCreated, "POST", "/api/v1/links", map[string]string{"name": "one", "url": "https://one.example"})
	for _, r := range rs[1:] {
		r.waitRedirect("/one", "https://one.example", time.Second)
	}
}

// PostgreSQL stops mid-test and starts again. Meanwhile redirects never
// fail, writes answer 503 with a JSON error, /readyz stays 200 and says the
// database is down, and clicks wait in memory. Afterwards writes work
// without a restart, changes propagate again, and the clicks are flushed.
func TestReplicasThroughDatabaseOutage(t *testing.T) {
	dbURL, srv := pgtest.NewOutage(t)
	env := map[string]string{"CLICK_FLUSH_INTERVAL": "200ms"}
	a := startReplica(t, "A", dbURL, env)
	b := startReplica(t, "B", dbURL, env)
	a.mustAPI(http.StatusCreated, "POST", "/api/v1/links", map[string]string{"name": "up", "url": "https://up.example"})
	b.waitRedirect("/up", "https://up.example", time.Second)
	clicks := 1 // b.waitRedirect's successful GET

	srv.Stop()
	downSince := time.Now()
	sawDown := false
	for time.Since(downSince) < 8*time.Second {
		for _, r := range []*replica{a, b} {
			for range 5 {
				if status, loc := r.get("/up"); status != http.StatusFound || loc != "https://up.example" {
					t.Fatalf("replica %s redirect while the database is down: %d %q", r.name, status, loc)
				}
				clicks++
			}
			status, body := r.api("POST", "/api/v1/links", map[string]string{"name": "down", "url": "https://down.example"})
			e, _ := body["error"].(map[string]any)
			if status != http.StatusServiceUnavailable || e["code"] != string(links.Unavailable) || e["message"] == "" {
				t.Fatalf("replica %s write while the database is down: %d %v, want 503 with a JSON error", r.name, status, body)
			}
			status, body = r.api("GET", "/readyz", nil)
			if status != http.StatusOK {
				t.Fatalf("replica %s /readyz while the database is down: %d %v", r.name, status, body)
			}
			if r == a && body["database"] == "down" {
				sawDown = true
			}
		}
		if sawDown && time.Since(downSince) > 2*time.Second {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !sawDown {
		t.Error("/readyz never reported the database as down")
	}
	// The metrics show the outage: the listener is down and the clicks
	// wait in memory (flushes fail every 200ms meanwhile).
	if got := a.metric("signpost_change_listener_up"); got != "0" {
		t.Errorf("signpost_change_listener_up during the outage = %q, want 0", got)
	}
	if got := a.metric("signpost_clicks_pending"); got == "" || got == "0" {
		t.Errorf("signpost_clicks_pending during the outage = %q, want the clicks counted on A", got)
	}
	if got := a.metric("signpost_db_up"); got != "0" {
		t.Errorf("signpost_db_up during the outage (after /readyz said down) = %q, want 0", got)
	}

	srv.Start()
	upSince := time.Now()
	// Writes work again on the same processes. The pool drops the dead
	// connections on its own; allow a few seconds for it, without restart.
	var status, attempts int
	for {
		attempts++
		status, _ = b.api("POST", "/api/v1/links", map[string]string{"name": "back", "url": "https://back.example"})
		if status == http.StatusCreated || time.Since(upSince) > 10*time.Second {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if status != http.StatusCreated {
		t.Fatalf("write after the database came back: %d", status)
	}
	t.Logf("write succeeded %v after the database started, at attempt %d", time.Since(upSince).Round(time.Millisecond), attempts)
	// A hears of it, from the notification or from the resync its listener
	// runs on reconnecting (it may still be in its backoff, at most ~6s).
	d := a.waitRedirect("/back", "https://back.example", 10*time.Second)
	t.Logf("change after recovery visible on the other replica %v after the write", d.Round(time.Millisecond))
	// Once reconnected, changes propagate within a second again.
	b.mustAPI(http.StatusOK, "PUT", "/api/v1/links/back", map[string]string{"url": "https://back.example/2"})
	a.waitRedirect("/back", "https://back.example/2", time.Second)
	a.mustAPI(http.StatusNoContent, "DELETE", "/api/v1/links/back", nil)
	b.waitRedirect("/back", "", time.Second)

	// The clicks counted during the outage reach the database.
	deadline := time.Now().Add(10 * time.Second)
	var got int64
	for time.Now().Before(deadline) {
		if got = storeClicks(t, dbURL, "up"); got == int64(clicks) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got != int64(clicks) {
		t.Fatalf("clicks in the database after recovery: %d, want %d", got, clicks)
	}
	for _, r := range []*replica{a, b} {
		if got := r.metric("signpost_change_listener_up"); got != "1" {
			t.Errorf("replica %s: signpost_change_listener_up after recovery = %q, want 1", r.name, got)
		}
		// Later redirects (waitRedirect above) may wait for the next flush.
		deadline := time.Now().Add(5 * time.Second)
		got := r.metric("signpost_clicks_pending")
		for ; got != "0" && time.Now().Before(deadline); got = r.metric("signpost_clicks_pending") {
			time.Sleep(50 * time.Millisecond)
		}
		if got != "0" {
			t.Errorf("replica %s: signpost_clicks_pending after recovery = %q, want 0", r.name, got)
		}
		// The database is checked every 5s.
		deadline = time.Now().Add(7 * time.Second)
		got = r.metric("signpost_db_up")
		for ; got != "1" && time.Now().Before(deadline); got = r.metric("signpost_db_up") {
			time.Sleep(50 * time.Millisecond)
		}
		if got != "1" {
			t.Errorf("replica %s: signpost_db_up after recovery = %q, want 1", r.name, got)
		}
	}
	for _, r := range []*replica{a, b} {
		if err := r.stop(); err != nil {
			t.Fatalf("replica %s: %v", r.name, err)
		}
		if strings.Contains(r.logs.String(), `"level":"ERROR","msg":"final click flush failed`) {
			t.Errorf("replica %s lost clicks at shutdown", r.name)
		}
	}
}

// DATABASE_URL may say postgresql:// as well as postgres://: the CLI
// migrates with it and a replica on it serves, writes and follows the
// other's changes through its listener.
func TestReplicaPostgresqlScheme(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	alt, ok := strings.CutPrefix(dbURL, "postgres://")
	if !ok {
		t.Fatalf("test database URL %q does not start with postgres://", dbURL)
	}
	alt = "postgresql://" + alt
	code, out, errs := runCLI(t, map[string]string{"DATABASE_URL": alt}, "migrate")
	if code != 0 || !strings.HasPrefix(out, "schema version ") {
		t.Fatalf("migrate with postgresql://: %d %q %q", code, out, errs)
	}
	a := startReplica(t, "A", dbURL, nil)
	b := startReplica(t, "B", alt, nil)
	b.mustAPI(http.StatusCreated, "POST", "/api/v1/links", map[string]string{"name": "alt", "url": "https://alt.example/1"})
	a.waitRedirect("/alt", "https://alt.example/1", time.Second)
	a.mustAPI(http.StatusOK, "PUT", "/api/v1/links/alt", map[string]string{"url": "https://alt.example/2"})
	b.waitRedirect("/alt", "https://alt.example/2", time.Second)
	if got := b.metric("signpost_change_listener_up"); got != "1" {
		t.Errorf("signpost_change_listener_up on the postgresql:// replica = %q, want 1", got)
	}
}

// TestReplicaPropagation measures how long a change made on one replica
// takes to reach the other's redirects, over 100 changes; the figures go
// to docs/benchmarks.md. Run it with -v to see them.
func TestReplicaPropagation(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	a := startReplica(t, "A", dbURL, nil)
	b := startReplica(t, "B", dbURL, nil)
	a.mustAPI(http.StatusCreated, "POST", "/api/v1/links", map[string]string{"name": "p", "url": "https://p.example/0"})
	b.waitRedirect("/p", "https://p.example/0", time.Second)
	const n = 100
	ds := make([]time.Duration, 0, n)
	for i := 1; i <= n; i++ {
		url := fmt.Sprintf("https://p.example/%d", i)
		// Timed from just before the write is sent: the figure includes
		// the API call, the commit and the notification.
		start := time.Now()
		a.mustAPI(http.StatusOK, "PUT", "/api/v1/links/p", map[string]string{"url": url})
		b.waitRedirect("/p", url, time.Second)
		ds = append(ds, time.Since(start))
	}
	slices.Sort(ds)
	t.Logf("cross-replica propagation over %d changes (write on A until B redirects to the new URL): median %v, p90 %v, max %v",
		n, ds[n/2].Round(10*time.Microsecond), ds[n*9/10].Round(10*time.Microsecond), ds[n-1].Round(10*time.Microsecond))
	if ds[n-1] > time.Second {
		t.Fatalf("slowest change took %v, want under 1s", ds[n-1])
	}
}

// A change that sends no notification (a bulk writer sets signpost.bulk,
// as `signpost import` does for each row; the same holds for a change made
// while a listener was deaf) reaches a replica through the periodic resync
// alone: A resyncs every 200ms, B only every hour, so B shows what the
// notifications delivered, which is nothing.
func TestReplicaPeriodicResync(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	a := startReplica(t, "A", dbURL, map[string]string{"RESYNC_INTERVAL": "200ms"})
	b := startReplica(t, "B", dbURL, nil)
	a.mustAPI(http.StatusCreated, "POST", "/api/v1/links", map[string]string{"name": "docs", "url": "https://docs.example/v1"})
	a.mustAPI(http.StatusCreated, "POST", "/api/v1/links", map[string]string{"name": "gone", "url": "https://gone.example"})
	b.waitRedirect("/docs", "https://docs.example/v1", time.Second)
	b.waitRedirect("/gone", "https://gone.example", time.Second)

	pgtest.Exec(t, dbURL, `BEGIN;
		SET LOCAL signpost.bulk = 'on';
		UPDATE links SET url = 'https://docs.example/v2' WHERE key = 'docs';
		DELETE FROM links WHERE key = 'gone';
		COMMIT`)
	d := a.waitRedirect("/docs", "https://docs.example/v2", 2*time.Second)
	a.waitRedirect("/gone", "", time.Second)
	t.Logf("silent change visible on A (RESYNC_INTERVAL=200ms) after %v", d.Round(time.Millisecond))
	if !strings.Contains(a.logs.String(), `"msg":"index resynced"`) {
		t.Errorf("A did not log its resync")
	}
	// B has heard nothing: the change really sent no notification.
	time.Sleep(500 * time.Millisecond)
	if status, loc := b.get("/docs"); status != http.StatusFound || loc != "https://docs.example/v1" {
		t.Errorf("B (no periodic resync due) redirects /docs to %d %q; the change was notified after all", status, loc)
	}
	if status, _ := b.get("/gone"); status != http.StatusFound {
		t.Errorf("B (no periodic resync due) answers /gone with %d; the delete was notified after all", status)
	}
}

// A replica's own edits are never followed by a reload: each write returns
// the link-set version it committed as, and the replica holds it once it
// published the change, so its frequent resyncs find nothing to do. (A
// reload at 1M links takes seconds and doubles the memory for a moment.)
func TestReplicaOwnWritesDoNotReload(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	a := startReplica(t, "A", dbURL, map[string]string{"RESYNC_INTERVAL": "100ms"})
	for i := 0; i < 5; i++ {
		name := fmt.Sprintf("own-%d", i)
		a.mustAPI(http.StatusCreated, "POST", "/api/v1/links", map[string]string{"name": name, "url": "https://a.example/" + name})
		a.mustAPI(http.StatusOK, "PUT", "/api/v1/links/"+name, map[string]string{"url": "https://b.example/" + name})
		a.mustAPI(http.StatusOK, "PUT", "/api/v1/links/"+name, map[string]string{"name": name + "-renamed", "url": "https://b.example/" + name})
		if i%2 == 0 {
			a.mustAPI(http.StatusNoContent, "DELETE", "/api/v1/links/"+name+"-renamed", nil)
		}
	}
	a.waitRedirect("/own-1-renamed", "https://b.example/own-1", time.Second)
	time.Sleep(time.Second) // ten resyncs
	if logs := a.logs.String(); strings.Contains(logs, "index resynced") {
		t.Errorf("A reloaded after its own writes:\n%s", logs)
	}
	// The resync itself works: a change made behind A's back is loaded.
	pgtest.Exec(t, dbURL, `BEGIN; SET LOCAL signpost.bulk = 'on';
		UPDATE links SET url = 'https://silent.example' WHERE key = 'own1renamed'; COMMIT`)
	a.waitRedirect("/own-1-renamed", "https://silent.example", 2*time.Second)
	if !strings.Contains(a.logs.String(), `"msg":"index resynced"`) {
		t.Error("A did not resync for a change it did not make")
	}
}
