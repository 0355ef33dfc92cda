package main_test

// Start-up and signals outside the serving phase, sent to the real
// binary: what the port answers while start-up waits, a signal during
// start-up (waiting for the migration lock, loading the index), and a
// second signal during the final click flush and profile push. The
// PostgreSQL cases skip unless SIGNPOST_TEST_POSTGRES_URL is set
// (scripts/test-postgres.sh).

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pressly/goose/v3/lock"
	_ "modernc.org/sqlite"

	"github.com/signpost-go/signpost/internal/store/postgres/pgtest"
)

// pgConn is a connection of the test's own to dbURL, closed at the end.
func pgConn(t *testing.T, dbURL string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// waitFor polls cond every 20ms until it holds, failing after within.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
	}
}

// signpostSessions counts signpost's sessions on the test's database that
// match the condition on pg_stat_activity.
func signpostSessions(t *testing.T, conn *pgx.Conn, where string) int {
	t.Helper()
	var n int
	err := conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = 'signpost' AND `+where).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// assertPromptExit checks that s exited within 2s of at: with code 0 and
// the log line want when killedBy is 0, else killed by that signal (its
// default action, which serve restores after the first signal).
func assertPromptExit(t *testing.T, s *server, at time.Time, killedBy syscall.Signal, want string) {
	t.Helper()
	code, exitAt := s.wait(15 * time.Second)
	took := exitAt.Sub(at)
	if took > 2*time.Second {
		t.Errorf("exited %s after the signal, want at once", took.Round(time.Millisecond))
	} else {
		t.Logf("exited %s after the signal, code %d (killed by: %v)", took.Round(time.Millisecond), code, s.killedBy())
	}
	switch {
	case killedBy == 0 && code != 0:
		t.Errorf("exit code %d (killed by %v), want 0", code, s.killedBy())
	case killedBy != 0 && s.killedBy() != killedBy:
		t.Errorf("exit code %d, killed by %v, want killed by %v", code, s.killedBy(), killedBy)
	}
	if !strings.Contains(s.log(), want) {
		t.Errorf("stderr does not say %q:\n%s", want, s.log())
	}
}

// Another replica holds the migration lock (goose's id) for longer than
// anyone waits: SIGTERM stops start-up at once, exit 0, no serving.
func testSignalDuringStartupPostgres(t *testing.T, bin string) {
	dbURL := pgtest.NewDatabase(t)
	holder := pgConn(t, dbURL)
	if _, err := holder.Exec(context.Background(), `SELECT pg_advisory_lock($1)`, lock.DefaultLockID); err != nil {
		t.Fatal(err)
	}
	s := spawnServer(t, bin, map[string]string{"DATABASE_URL": dbURL})
	waitFor(t, 10*time.Second, "signpost tries the migration lock", func() bool {
		return signpostSessions(t, holder, `query LIKE '%pg_try_advisory_lock%'`) > 0
	})
	if s.find("serving") != nil {
		t.Fatal("serving while another session holds the migration lock")
	}
	at := time.Now()
	s.signal(syscall.SIGTERM)
	assertPromptExit(t, s, at, 0, `"msg":"start-up interrupted by a signal; exiting without serving"`)
	if l := s.find("start-up interrupted by a signal; exiting without serving"); l != nil && (l["signal"] != "terminated" || l["step"] != "opening the database") {
		t.Errorf("log line %v, want signal terminated and step opening the database", l)
	}
	if s.find("serving") != nil || s.find("shutdown complete") != nil {
		t.Errorf("an interrupted start-up served or shut down as if it had:\n%s", s.log())
	}
}

// lockedSQLite returns the path of a SQLite file that a connection of the
// test's holds locked (BEGIN EXCLUSIVE) until release or the test's end:
// signpost's start-up then waits in SQLite's busy wait, up to 10 s.
func lockedSQLite(t *testing.T) (path string, release func()) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "locked.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := conn.ExecContext(context.Background(), `BEGIN EXCLUSIVE`); err != nil {
		t.Fatal(err)
	}
	return path, func() {
		if _, err := conn.ExecContext(context.Background(), `COMMIT`); err != nil {
			t.Fatal(err)
		}
	}
}

// The SQLite file is locked by another process for longer than the busy
// timeout would wait: SIGINT stops start-up at once.
func testSignalDuringStartupSQLite(t *testing.T, bin string) {
	path, _ := lockedSQLite(t)
	s := spawnServer(t, bin, map[string]string{"DATABASE_URL": "sqlite:" + path})
	s.waitLog("starting signpost", 5*time.Second)
	time.Sleep(300 * time.Millisecond) // into the busy wait
	if s.find("serving") != nil {
		t.Fatal("serving while the database file is locked")
	}
	at := time.Now()
	s.signal(syscall.SIGINT)
	assertPromptExit(t, s, at, 0, `"msg":"start-up interrupted by a signal; exiting without serving"`)
}

// The profiling server takes the last push and never answers: a second
// signal ends the process at once instead of waiting out the push's 5s
// bound.
func testSecondSignalDuringPush(t *testing.T, bin string) {
	arrived := make(chan struct{}, 100)
	release := make(chan struct{})
	pts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ingest" {
			return
		}
		select {
		case arrived <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer pts.Close()
	defer close(release) // before Close, which waits for the handlers
	s := startServer(t, bin, map[string]string{"PYROSCOPE_SERVER": pts.URL})
	s.waitLog("continuous profiling on", time.Second)
	for len(arrived) > 0 { // pushes before the signal (every 15s) do not count
		<-arrived
	}
	s.signal(syscall.SIGTERM)
	select {
	case <-arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("no profile push after SIGTERM")
	}
	at := time.Now()
	s.signal(syscall.SIGINT)
	assertPromptExit(t, s, at, syscall.SIGINT, "")
	if s.find("shutdown complete") != nil {
		t.Error("logged shutdown complete after a second signal")
	}
}

// Another session holds the row lock of a link with counted clicks: the
// final flush waits (up to 10s) and a second signal ends the process at
// once.
func testSecondSignalDuringFlush(t *testing.T, bin string) {
	dbURL := pgtest.NewDatabase(t)
	s := startServer(t, bin, map[string]string{"DATABASE_URL": dbURL, "CLICK_FLUSH_INTERVAL": "1h"})
	if code, body := do(t, "POST", s.URL+"/api/v1/links", `{"name":"hot","url":"https://hot.example"}`); code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	for range 3 {
		if code, _ := do(t, "GET", s.URL+"/hot", ""); code != 302 {
			t.Fatalf("redirect: %d", code)
		}
	}
	holder := pgConn(t, dbURL)
	ctx := context.Background()
	tx, err := holder.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT 1 FROM links WHERE key = 'hot' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	watcher := pgConn(t, dbURL)
	s.signal(syscall.SIGTERM)
	waitFor(t, 10*time.Second, "the final flush waits for the row lock", func() bool {
		return signpostSessions(t, watcher, `wait_event_type = 'Lock'`) > 0
	})
	at := time.Now()
	s.signal(syscall.SIGINT)
	assertPromptExit(t, s, at, syscall.SIGINT, "")
}

// The port opens before the database: while start-up waits (here for the
// SQLite file's lock), /healthz answers 200, /readyz 503, and everything
// else 503 saying why, as JSON under /api/; once the lock is released the
// links load and everything is served on the same port.
func testProbesWhileStarting(t *testing.T, bin string) {
	path, release := lockedSQLite(t)
	s := spawnServer(t, bin, map[string]string{"DATABASE_URL": "sqlite:" + path, "DEBUG_ADDR": "127.0.0.1:0"})
	base := "http://" + s.waitLog("public server listening; starting up", 10*time.Second)["addr"].(string)

	// pprof answers before the database opens, so a slow start-up can be
	// profiled: here, a goroutine dump shows start-up waiting on the lock.
	debugURL := "http://" + s.waitLog("debug server listening", 5*time.Second)["addr"].(string)
	if resp, err := noRedirect.Get(debugURL + "/debug/pprof/goroutine?debug=2"); err != nil {
		t.Errorf("pprof while starting: %v", err)
	} else {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), "openStoreUntilDone") {
			t.Errorf("pprof goroutine dump while starting: %d, want 200 with start-up's open in it:\n%.2000s", resp.StatusCode, b)
		}
	}

	// The busy wait lasts up to 10 s; these take milliseconds.
	for _, tt := range []struct {
		path, body, contentType string
		code                    int
	}{
		{"/healthz", `"status":"ok"`, "application/json", 200},
		{"/readyz", `"reason":"link index not loaded yet"`, "application/json", 503},
		{"/docs/a", "has not loaded its links yet", "text/plain; charset=utf-8", 503},
		{"/-/", "has not loaded its links yet", "text/plain; charset=utf-8", 503},
		{"/metrics", "has not loaded its links yet", "text/plain; charset=utf-8", 503},
		{"/api/v1/links", `{"error":{"code":"unavailable","message":"Signpost is starting`, "application/json", 503},
	} {
		resp, err := noRedirect.Get(base + tt.path)
		if err != nil {
			t.Fatalf("GET %s while starting: %v", tt.path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.code || !strings.Contains(string(b), tt.body) || resp.Header.Get("Content-Type") != tt.contentType {
			t.Errorf("GET %s while starting: %d %s %q, want %d %s containing %s", tt.path, resp.StatusCode, resp.Header.Get("Content-Type"), b, tt.code, tt.contentType, tt.body)
		}
		if tt.code == 503 && tt.path != "/readyz" && resp.Header.Get("Retry-After") == "" {
			t.Errorf("GET %s while starting: no Retry-After", tt.path)
		}
	}
	if s.find("serving") != nil {
		t.Fatal("logged serving while the database is locked")
	}

	release()
	if addr := s.waitLog("serving", 20*time.Second)["addr"]; "http://"+addr.(string) != base {
		t.Errorf("serving on %s, listened on %s", addr, base)
	}
	for _, p := range []string{"/readyz", "/api/v1/links", "/-/"} {
		if code, body := do(t, "GET", base+p, ""); code != 200 {
			t.Errorf("GET %s once started: %d %s", p, code, body)
		}
	}
	s.signal(syscall.SIGTERM)
	if code, _ := s.wait(10 * time.Second); code != 0 {
		t.Errorf("exit %d after SIGTERM", code)
	}
}
