// Package pgtest gives tests a real PostgreSQL database: the throwaway
// cluster that scripts/test-postgres.sh starts and describes in
// SIGNPOST_TEST_POSTGRES_URL (and SIGNPOST_TEST_PG_CTL, SIGNPOST_TEST_PG_LOCK).
// Without it, tests that need PostgreSQL skip.
//
// Tests from several packages share the cluster (go test runs packages in
// parallel), so each test holds a lock file shared while it uses the
// cluster, and an outage test, which stops the server, holds it exclusively.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	EnvURL  = "SIGNPOST_TEST_POSTGRES_URL"
	EnvCtl  = "SIGNPOST_TEST_PG_CTL"
	EnvLock = "SIGNPOST_TEST_PG_LOCK"
)

func adminURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		t.Skipf("PostgreSQL tests need %s (scripts/test-postgres.sh starts a throwaway cluster and sets it)", EnvURL)
	}
	return u
}

// NewDatabase creates an empty database for this test, drops it when the
// test ends, and returns its URL. It skips the test when no cluster is set.
func NewDatabase(t testing.TB) string {
	t.Helper()
	admin := adminURL(t)
	lockCluster(t, false)
	return newDatabase(t, admin)
}

// Server controls the cluster's server for outage tests.
type Server struct {
	t       testing.TB
	ctl     string
	stopped bool
}

// NewOutage is NewDatabase for a test that stops and starts the server: it
// waits until no other test uses the cluster and keeps it to itself. It
// skips when the cluster cannot be controlled (SIGNPOST_TEST_PG_CTL unset).
// The server is started again when the test ends, whatever happened.
func NewOutage(t testing.TB) (dbURL string, srv *Server) {
	t.Helper()
	admin := adminURL(t)
	ctl := os.Getenv(EnvCtl)
	if ctl == "" {
		t.Skipf("outage tests need %s, a command taking stop|start|restart (set by scripts/test-postgres.sh)", EnvCtl)
	}
	lockCluster(t, true)
	dbURL = newDatabase(t, admin)
	srv = &Server{t: t, ctl: ctl}
	// Registered after the database's drop, so it runs before it.
	t.Cleanup(func() {
		if srv.stopped {
			srv.Start()
		}
	})
	return dbURL, srv
}

// Stop stops the server (fast shutdown: sessions are terminated).
func (s *Server) Stop() {
	s.t.Helper()
	s.run("stop")
	s.stopped = true
}

// Start starts the server and waits until it accepts connections.
func (s *Server) Start() {
	s.t.Helper()
	s.run("start")
	s.stopped = false
}

// Restart restarts the server with a fast shutdown (sessions are
// terminated with SQLSTATE 57P01) and waits until it accepts connections
// again, as `pg_ctl restart -m fast` does.
func (s *Server) Restart() {
	s.t.Helper()
	s.stopped = true // until it is up again, for the cleanup
	s.run("restart")
	s.stopped = false
}

func (s *Server) run(verb string) {
	s.t.Helper()
	start := time.Now()
	out, err := exec.Command(s.ctl, verb).CombinedOutput()
	if err != nil {
		s.t.Fatalf("%s %s: %v\n%s", s.ctl, verb, err, out)
	}
	s.t.Logf("PostgreSQL %s took %v", verb, time.Since(start).Round(time.Millisecond))
}

func newDatabase(t testing.TB, admin string) string {
	t.Helper()
	name := "signpost_test_" + randomHex(6)
	exec := func(sql string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	// FILE_COPY (PostgreSQL 15+) copies the small template in a fraction
	// of the time WAL_LOG takes; older servers do not know the option.
	if err := exec("CREATE DATABASE " + name + " STRATEGY FILE_COPY"); err != nil {
		if err2 := exec("CREATE DATABASE " + name); err2 != nil {
			t.Fatalf("create test database: %v", errors.Join(err, err2))
		}
	}
	t.Cleanup(func() {
		// FORCE: connections a failed test left open must not keep it.
		if err := exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("%s: %v", EnvURL, err)
	}
	u.Path = "/" + name
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return strings.ToLower(hex.EncodeToString(b))
}

// Exec runs sql as the superuser on the database at dbURL (for tests that
// need to look behind the store, e.g. to terminate its connections).
func Exec(t testing.TB, dbURL, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
