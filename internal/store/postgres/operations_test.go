package postgres

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/signpost-go/signpost/internal/store/postgres/pgtest"
)

// These tests follow docs/runbooks.md step by step against a real server:
// the role and grants Signpost needs, a rollback onto a newer schema, and
// a pg_dump / pg_restore round trip.

func queryString(t *testing.T, dbURL, sql string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var s string
	if err := conn.QueryRow(ctx, sql).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

// asRole returns dbURL with role as its user (the test cluster trusts
// local connections, so no password is checked; the privileges are).
func asRole(t *testing.T, dbURL, role string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(role, "unused")
	return u.String()
}

func newRole(t *testing.T, dbURL string) string {
	t.Helper()
	role := "signpost_app_" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "_"))
	if len(role) > 60 {
		role = role[:60]
	}
	pgtest.Exec(t, dbURL, `CREATE ROLE `+role+` LOGIN PASSWORD 'unused' NOSUPERUSER NOCREATEDB NOCREATEROLE`)
	t.Cleanup(func() {
		// The database is dropped after this (cleanups run last-in first-out
		// and it was made first), so the role's objects go first.
		pgtest.Exec(t, dbURL, `DROP OWNED BY `+role)
		pgtest.Exec(t, dbURL, `DROP ROLE `+role)
	})
	return role
}

func TestRunbookRoleOwningTheDatabase(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	role := newRole(t, dbURL)
	db := strings.TrimPrefix(must(url.Parse(dbURL)).Path, "/")
	// The runbook's CREATE DATABASE ... OWNER, for a database that exists.
	pgtest.Exec(t, dbURL, `ALTER DATABASE `+db+` OWNER TO `+role)
	t.Cleanup(func() { pgtest.Exec(t, dbURL, `ALTER DATABASE `+db+` OWNER TO CURRENT_USER`) }) // so the role can go
	s := open(t, asRole(t, dbURL, role))
	if _, _, err := s.Create(context.Background(), mk("docs", "https://docs.example")); err != nil {
		t.Fatalf("create as %s: %v", role, err)
	}
	if owner := queryString(t, dbURL, `SELECT tableowner FROM pg_tables WHERE tablename = 'links'`); owner != role {
		t.Errorf("links is owned by %s, want %s", owner, role)
	}
}

func TestRunbookSchemaInASharedDatabase(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	role := newRole(t, dbURL)
	db := strings.TrimPrefix(must(url.Parse(dbURL)).Path, "/")
	// PostgreSQL 15+ no longer lets every role create in public; say so for older ones.
	pgtest.Exec(t, dbURL, `REVOKE CREATE ON SCHEMA public FROM PUBLIC`)
	pgtest.Exec(t, dbURL, `CREATE SCHEMA signpost AUTHORIZATION `+role)
	pgtest.Exec(t, dbURL, `ALTER ROLE `+role+` IN DATABASE `+db+` SET search_path = signpost`)
	s := open(t, asRole(t, dbURL, role))
	if _, _, err := s.Create(context.Background(), mk("docs", "https://docs.example")); err != nil {
		t.Fatalf("create as %s: %v", role, err)
	}
	if schema := queryString(t, dbURL, `SELECT schemaname FROM pg_tables WHERE tablename = 'links'`); schema != "signpost" {
		t.Errorf("links is in schema %s, want signpost", schema)
	}
	if n := queryString(t, dbURL, `SELECT count(*)::text FROM pg_tables WHERE schemaname = 'public'`); n != "0" {
		t.Errorf("%s tables in public, want none", n)
	}
}

// A rollback: this binary on a database the next release migrated further
// with an additive migration, as docs/runbooks.md allows.
func TestOlderBinaryOpensNewerSchema(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	s := open(t, dbURL)
	if _, _, err := s.Create(context.Background(), mk("docs", "https://docs.example")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	pgtest.Exec(t, dbURL, `ALTER TABLE links ADD COLUMN next_release_column text NOT NULL DEFAULT ''`)
	pgtest.Exec(t, dbURL, `CREATE TABLE next_release_table (key text NOT NULL, at timestamptz NOT NULL)`)
	pgtest.Exec(t, dbURL, `INSERT INTO goose_db_version (version_id, is_applied) VALUES (99, true)`)
	s = open(t, dbURL)
	if v, err := s.SchemaVersion(context.Background()); err != nil || v != 99 {
		t.Errorf("schema version %d (%v) after opening, want the newer 99 kept", v, err)
	}
	if _, _, err := s.Create(context.Background(), mk("after-rollback", "https://a.example")); err != nil {
		t.Fatalf("write after rollback: %v", err)
	}
	if l, err := s.Get(context.Background(), "docs"); err != nil || l.URL != "https://docs.example" {
		t.Errorf("read after rollback: %+v %v", l, err)
	}
}

// pgTool finds a PostgreSQL client program: PATH, then the Debian
// location scripts/test-postgres.sh installs.
func pgTool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	p := filepath.Join("/usr/lib/postgresql/15/bin", name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("no %s here", name)
	}
	return p
}

// The runbook's backup: pg_dump in the custom format, pg_restore into an
// empty database, and Signpost runs on the restored one, writes included
// (the triggers that count changes came along).
func TestRunbookPgDumpRestore(t *testing.T) {
	pgDump, pgRestore := pgTool(t, "pg_dump"), pgTool(t, "pg_restore")
	src := pgtest.NewDatabase(t)
	s := open(t, src)
	ctx := context.Background()
	for _, n := range []string{"docs", "wiki", "oncall"} {
		if _, _, err := s.Create(ctx, mk(n, "https://"+n+".example")); err != nil {
			t.Fatal(err)
		}
	}
	dump := filepath.Join(t.TempDir(), "signpost.dump")
	if out, err := exec.Command(pgDump, "--format=custom", "--no-owner", "--file="+dump, "--dbname="+src).CombinedOutput(); err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, out)
	}
	dst := pgtest.NewDatabase(t)
	if out, err := exec.Command(pgRestore, "--no-owner", "--exit-on-error", "--dbname="+dst, dump).CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v\n%s", err, out)
	}
	r := open(t, dst)
	before, _ := r.Version(ctx)
	if l, err := r.Get(ctx, "wiki"); err != nil || l.URL != "https://wiki.example" {
		t.Fatalf("restored wiki: %+v %v", l, err)
	}
	if _, _, err := r.Create(ctx, mk("after", "https://after.example")); err != nil {
		t.Fatalf("write on the restored database: %v", err)
	}
	if after, _ := r.Version(ctx); after <= before {
		t.Errorf("the change counter did not move on a write (%d -> %d): the restored triggers are missing", before, after)
	}
	ws, _ := s.SchemaVersion(ctx)
	if v, _ := r.SchemaVersion(ctx); v != ws {
		t.Errorf("restored schema version %d, want %d", v, ws)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
