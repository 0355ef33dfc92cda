package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/signpost-go/signpost/internal/links"
)

func openTest(t *testing.T, path string, opt Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), path, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mk(name string) links.Link {
	now := time.Now().UTC().Truncate(time.Microsecond)
	return links.Link{Name: name, Key: links.Normalize(name), URL: "https://" + name + ".example", CreatedAt: now, UpdatedAt: now}
}

// rawDB opens the file with the driver alone, as another process (or an
// older version of Signpost) would.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Rows that older versions or other tools left behind never stop a
// listing, an export or a start-up: an overflowed click count (a REAL)
// reads as the maximum, a row that cannot be read at all is skipped,
// logged and counted.
func TestMalformedRowsAreSkipped(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "bad.db")
	var logs bytes.Buffer
	s := openTest(t, path, Options{Log: slog.New(slog.NewTextHandler(&logs, nil))})
	for _, n := range []string{"alpha", "big", "broken", "zulu"} {
		if _, _, err := s.Create(ctx, mk(n)); err != nil {
			t.Fatal(err)
		}
	}
	db := rawDB(t, path)
	// What `clicks + n` past 2^63 left in the file before flushes saturated.
	if _, err := db.Exec(`UPDATE links SET clicks = 9223372036854775807.0 + 10 WHERE key = 'big'`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE links SET created_at = 'not a time' WHERE key = 'broken'`); err != nil {
		t.Fatal(err)
	}
	var keys []string
	if err := s.Each(ctx, func(l links.Link) error { keys = append(keys, l.Key); return nil }); err != nil {
		t.Fatalf("Each over a malformed row: %v", err)
	}
	if got := strings.Join(keys, " "); got != "alpha big zulu" {
		t.Fatalf("Each read %q, want the three readable links", got)
	}
	ls, err := s.List(ctx, links.ListOptions{Sort: links.SortPopular})
	if err != nil || len(ls) != 3 || ls[0].Key != "big" || ls[0].Clicks != links.MaxClicks {
		t.Fatalf("List = %+v, %v; want big first with %d clicks", ls, err, int64(links.MaxClicks))
	}
	if n := s.RowsSkipped(); n != 2 {
		t.Errorf("RowsSkipped = %d, want 2 (one per call)", n)
	}
	if !strings.Contains(logs.String(), "key=broken") {
		t.Errorf("the skipped row's key is not logged:\n%s", logs.String())
	}
	if _, err := s.Get(ctx, "broken"); err == nil {
		t.Error("Get of a malformed row succeeded")
	}
	// The next flush writes an integer again.
	if err := s.AddClicks(ctx, []links.Click{{Key: "big", N: 1, Last: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	var typ string
	if err := db.QueryRow(`SELECT typeof(clicks) FROM links WHERE key = 'big'`).Scan(&typ); err != nil || typ != "integer" {
		t.Fatalf("clicks after a flush is %q, %v; want integer", typ, err)
	}
}

// A full disk is DiskFull (507), not "database unavailable".
func TestDiskFull(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, filepath.Join(t.TempDir(), "full.db"), Options{})
	// The writer pool is one connection; capping its pages is how SQLite
	// meets a full disk (SQLITE_FULL) without filling one.
	var pages int
	if err := s.wr.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := s.wr.ExecContext(ctx, `PRAGMA max_page_count = `+strconv.Itoa(pages+2)); err != nil {
		t.Fatal(err)
	}
	var err error
	for i := 0; i < 200 && err == nil; i++ {
		l := mk("l" + strconv.Itoa(i))
		l.Description = strings.Repeat("x", 2000)
		_, _, err = s.Create(ctx, l)
	}
	if links.ErrorCode(err) != links.DiskFull || !strings.Contains(links.ErrorMessage(err), "disk full") {
		t.Fatalf("writing to a full database = %v (code %q), want disk_full", err, links.ErrorCode(err))
	}
}

// With another process holding the write lock, a write gives up when its
// context ends (modernc.org/sqlite ends its busy_timeout wait then), stores
// nothing, and says the database is busy.
func TestWriteGivesUpOnLockedDatabase(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "locked.db")
	s := openTest(t, path, Options{})
	conn, err := rawDB(t, path).Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err = s.Create(wctx, mk("late"))
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the write answered after %v; its deadline was 300ms (busy_timeout is 10s)", d)
	}
	if links.ErrorCode(err) != links.Unavailable {
		t.Fatalf("write under a held lock = %v, want Unavailable", err)
	}
	if _, err := conn.ExecContext(ctx, `ROLLBACK`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "late"); links.ErrorCode(err) != links.NotFound {
		t.Fatalf("the write that gave up was stored: %v", err)
	}
}

// Read-only: no migration, reads work, writes fail cleanly.
func TestOpenReadOnly(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ro.db")
	rw := openTest(t, path, Options{})
	if _, _, err := rw.Create(ctx, mk("docs")); err != nil {
		t.Fatal(err)
	}
	rw.Close()
	ro := openTest(t, path, Options{ReadOnly: true})
	if _, err := ro.Get(ctx, "docs"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ro.Create(ctx, mk("new")); links.ErrorCode(err) != links.Unavailable {
		t.Fatalf("write on a read-only store = %v", err)
	}
	if _, err := Open(ctx, filepath.Join(t.TempDir(), "none.db"), Options{ReadOnly: true}); err == nil {
		t.Fatal("read-only open of a missing database succeeded")
	}
}

// A row written without an ID, as a binary from before migration 00005
// writes one after a rollback, gets the next ID from the table's trigger
// (PostgreSQL's column default does the same): it stays readable, and
// IDs stay unique.
func TestRowWithoutIDGetsOne(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old-writer.db")
	s := openTest(t, path, Options{})
	first, _, err := s.Create(ctx, mk("first"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rawDB(t, path).Exec(`INSERT INTO links (key, name, url, clicks, created_at, updated_at) VALUES ('old', 'old', 'https://old.example', 0, 0, 0)`); err != nil {
		t.Fatal(err)
	}
	old, err := s.Get(ctx, "old")
	if err != nil {
		t.Fatalf("a row written without an ID: %v", err)
	}
	next, _, err := s.Create(ctx, mk("next"))
	if err != nil {
		t.Fatal(err)
	}
	if old.ID == 0 || old.Version != 1 || old.ID == first.ID || next.ID <= old.ID {
		t.Fatalf("IDs: first %d, old %d (version %d), next %d; want three distinct, increasing", first.ID, old.ID, old.Version, next.ID)
	}
}
