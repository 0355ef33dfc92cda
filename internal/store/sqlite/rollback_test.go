package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/signpost-go/signpost/internal/store/sqlite"
)

// A rollback to the previous release: this binary opens a database that a
// newer one has migrated further, with an additive migration of the kind
// the upgrade rules allow (a column with a default, a table, an index). It
// must start, read and write, and leave the newer schema alone
// (docs/runbooks.md, "Upgrades and rollbacks").
func TestOlderBinaryOpensNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "newer.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	current, _ := s.SchemaVersion(ctx)
	create(t, s, "docs")
	s.Close()

	// What the next release's migration might do, applied by it.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`ALTER TABLE links ADD COLUMN next_release_column TEXT NOT NULL DEFAULT ''`,
		`CREATE TABLE next_release_table (key TEXT NOT NULL, at INTEGER NOT NULL)`,
		`CREATE INDEX links_by_owner ON links (owner)`,
		`INSERT INTO goose_db_version (version_id, is_applied) VALUES (99, 1)`,
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	db.Close()

	s, err = sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatalf("this binary refuses a database one migration ahead: %v", err)
	}
	defer s.Close()
	if v, _ := s.SchemaVersion(ctx); v != 99 {
		t.Errorf("schema version %d after opening, want the newer 99 kept (this binary knows %d)", v, current)
	}
	create(t, s, "after-rollback")
	if l, err := s.Get(ctx, "docs"); err != nil || l.URL != "https://docs.example" {
		t.Errorf("read after rollback: %+v %v", l, err)
	}
	if n := count(t, s); n != 2 {
		t.Errorf("%d links, want 2", n)
	}
}
