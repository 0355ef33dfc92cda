package index_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/signpost-go/signpost/internal/index"
	"github.com/signpost-go/signpost/internal/store/postgres"
	"github.com/signpost-go/signpost/internal/store/postgres/pgtest"
)

// A follower's index sees what another replica commits, through the
// change feed alone (no periodic resync runs here). It skips without
// PostgreSQL (scripts/test-postgres.sh).
func TestFollowerAppliesOtherReplicasChanges(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	open := func() *postgres.Store {
		s, err := postgres.Open(ctx, dbURL, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	writer, follower := open(), open()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ix := index.New(log)
	syncer := &index.Syncer{Index: ix, Store: follower, Log: log}
	if _, err := syncer.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		(&index.Follower{Feed: follower, Store: follower, Index: ix, Syncer: syncer, Log: log}).Run(ctx)
	}()
	defer func() { cancel(); <-done }()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("not within 10s: %s", what)
			}
		}
	}
	waitFor("the feed listens", follower.Listening)

	target := func() string {
		if e, ok := ix.Lookup("docs"); ok {
			return e.Target.String()
		}
		return ""
	}
	if _, _, err := writer.Create(ctx, link("Docs", "https://docs.example")); err != nil {
		t.Fatal(err)
	}
	waitFor("the follower has the new link", func() bool { return target() == "https://docs.example" })
	l := link("Docs", "https://docs.example/v2")
	if _, _, err := writer.Update(ctx, "docs", l); err != nil {
		t.Fatal(err)
	}
	waitFor("the follower has the update", func() bool { return target() == "https://docs.example/v2" })

	// An alias is served with its target's URL, and follows the target's
	// change at once: the feed names only the target.
	aliasTarget := func() string {
		if e, ok := ix.Lookup("d"); ok {
			return e.Target.String()
		}
		return ""
	}
	a := link("d", "")
	a.AliasOf = "docs"
	if _, _, err := writer.Create(ctx, a); err != nil {
		t.Fatal(err)
	}
	waitFor("the follower has the alias", func() bool { return aliasTarget() == "https://docs.example/v2" })
	l.URL = "https://docs.example/v3"
	if _, _, err := writer.Update(ctx, "docs", l); err != nil {
		t.Fatal(err)
	}
	waitFor("the follower's alias follows its target", func() bool { return aliasTarget() == "https://docs.example/v3" })
	if _, err := writer.Delete(ctx, "d"); err != nil {
		t.Fatal(err)
	}
	waitFor("the follower dropped the alias", func() bool { return aliasTarget() == "" })
	if _, err := writer.Delete(ctx, "docs"); err != nil {
		t.Fatal(err)
	}
	waitFor("the follower dropped the link", func() bool { return target() == "" })
	if n := ix.Len(); n != 0 {
		t.Errorf("%d links in the follower's index, want 0", n)
	}
}
