package postgres

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/signpost-go/signpost/internal/links"
	"github.com/signpost-go/signpost/internal/store/postgres/pgtest"
)

// A row that cannot be read (a time Go cannot hold, written by hand)
// never stops a listing, an export or a start-up: it is skipped, logged
// and counted.
func TestMalformedRowsAreSkipped(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	var logs bytes.Buffer
	s, err := Open(ctx, url, Options{Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, n := range []string{"alpha", "broken", "zulu"} {
		if _, _, err := s.Create(ctx, mk(n, "https://"+n+".example")); err != nil {
			t.Fatal(err)
		}
	}
	pgtest.Exec(t, url, `UPDATE links SET created_at = 'infinity' WHERE key = 'broken'`)
	var keys []string
	if err := s.Each(ctx, func(l links.Link) error { keys = append(keys, l.Key); return nil }); err != nil {
		t.Fatalf("Each over a malformed row: %v", err)
	}
	if got := strings.Join(keys, " "); got != "alpha zulu" {
		t.Fatalf("Each read %q, want the readable links", got)
	}
	if ls, err := s.List(ctx, links.ListOptions{}); err != nil || len(ls) != 2 {
		t.Fatalf("List = %d links, %v", len(ls), err)
	}
	if n := s.RowsSkipped(); n != 2 || !strings.Contains(logs.String(), "key=broken") {
		t.Errorf("RowsSkipped = %d, log:\n%s", n, logs.String())
	}
}

// A write whose context ends while another session holds a lock it needs
// is cancelled on the server: it answers at its deadline and never
// commits later, when the lock is released. (pgx sends a cancel request
// when it closes a connection whose context ended; without one the
// server would commit the insert once the lock is free.)
func TestWriteCancelledOnServerAtDeadline(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	s := open(t, url)
	holder, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(ctx)
	tx, err := holder.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Blocks writes to links; reads go on.
	if _, err := tx.Exec(ctx, `LOCK TABLE links IN EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err = s.Create(wctx, mk("late", "https://late.example"))
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the write answered after %v; its deadline was 300ms", d)
	}
	if links.ErrorCode(err) != links.Unavailable {
		t.Fatalf("write under a held lock = %v, want Unavailable", err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	// Give a write the server was still running every chance to commit.
	time.Sleep(500 * time.Millisecond)
	if _, err := s.Get(ctx, "late"); links.ErrorCode(err) != links.NotFound {
		t.Fatalf("the write that answered Unavailable was committed later: %v", err)
	}
	// And the pool is fine afterwards.
	if _, _, err := s.Create(ctx, mk("later", "https://later.example")); err != nil {
		t.Fatal(err)
	}
}

func TestDiskFullIsItsOwnCode(t *testing.T) {
	err := wrap(&pgconn.PgError{Code: "53100", Message: "could not extend file: No space left on device"})
	if links.ErrorCode(err) != links.DiskFull || !strings.Contains(links.ErrorMessage(err), "disk full") {
		t.Fatalf("disk_full = %v (%s)", err, links.ErrorCode(err))
	}
	if c := links.ErrorCode(wrap(&pgconn.PgError{Code: "53300"})); c != links.Unavailable {
		t.Fatalf("too_many_connections = %s, want unavailable", c)
	}
}
