package links_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signpost-go/signpost/internal/index"
	"github.com/signpost-go/signpost/internal/links"
	"github.com/signpost-go/signpost/internal/store/sqlite"
)

// flakyReads is a real store whose reads fail while down is set: the
// database going away right after a write committed.
type flakyReads struct {
	links.Store
	down atomic.Bool
}

func (f *flakyReads) Get(ctx context.Context, key string) (links.Link, error) {
	if f.down.Load() {
		return links.Link{}, links.Wrap(errors.New("connection refused"), links.Unavailable, "database unavailable")
	}
	return f.Store.Get(ctx, key)
}

func (f *flakyReads) Update(ctx context.Context, key string, l links.Link) (links.Link, int64, error) {
	got, v, err := f.Store.Update(ctx, key, l)
	f.down.Store(true) // committed; the re-read that follows fails
	return got, v, err
}

func (f *flakyReads) Create(ctx context.Context, l links.Link) (links.Link, int64, error) {
	got, v, err := f.Store.Create(ctx, l)
	f.down.Store(true)
	return got, v, err
}

func (f *flakyReads) Delete(ctx context.Context, key string, match ...links.Rev) (int64, error) {
	v, err := f.Store.Delete(ctx, key, match...)
	f.down.Store(true)
	return v, err
}

func ptr(s string) *string { return &s }

// Every committed write shows in the index at once, whether the re-read
// after the commit works or not (then the written value is published).
func TestServicePublishesCommittedWrites(t *testing.T) {
	for _, readsFail := range []bool{false, true} {
		name := map[bool]string{false: "re-read", true: "re-read fails"}[readsFail]
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "svc.db"), sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			fs := &flakyReads{Store: st}
			ix := index.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err := ix.Load(ctx, st); err != nil {
				t.Fatal(err)
			}
			svc := &links.Service{Store: st, Index: ix}
			if readsFail {
				svc.Store = fs
			}
			step := func(what string, f func() error) {
				t.Helper()
				fs.down.Store(false)
				if err := f(); err != nil {
					t.Fatalf("%s: %v", what, err)
				}
			}
			target := func(key string) string {
				if e, ok := ix.Lookup(key); ok {
					return e.Target.String()
				}
				return ""
			}
			step("create", func() error {
				_, err := svc.Create(ctx, links.Principal{}, links.Input{Name: ptr("Docs"), URL: ptr("https://docs.example")})
				return err
			})
			if got := target("docs"); got != "https://docs.example" {
				t.Fatalf("after create: index has %q", got)
			}
			step("update", func() error {
				_, err := svc.Update(ctx, links.Principal{}, "docs", links.Input{URL: ptr("https://docs.example/v2")})
				return err
			})
			if got := target("docs"); got != "https://docs.example/v2" {
				t.Fatalf("after update: index has %q", got)
			}
			step("rename", func() error {
				_, err := svc.Update(ctx, links.Principal{}, "docs", links.Input{Name: ptr("manual")})
				return err
			})
			if old, got := target("docs"), target("manual"); old != "" || got != "https://docs.example/v2" {
				t.Fatalf("after rename: docs %q, manual %q", old, got)
			}
			step("delete", func() error { return svc.Delete(ctx, links.Principal{}, "manual") })
			if got := target("manual"); got != "" {
				t.Fatalf("after delete: index still has %q", got)
			}
		})
	}
}

// newOpenService is a Service on a real SQLite file, with ownership off.
func newOpenService(t *testing.T) *links.Service {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "svc.db"), sqlite.Options{MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ix := index.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := ix.Load(ctx, st); err != nil {
		t.Fatal(err)
	}
	return &links.Service{Store: st, Index: ix}
}

// Writers without a precondition that race on one link each get their
// change applied to what the link is then: none is lost unseen, none is
// told of a precondition it did not set.
func TestServiceConcurrentUpdatesWithoutIfMatch(t *testing.T) {
	svc := newOpenService(t)
	ctx := context.Background()
	l, err := svc.Create(ctx, links.Principal{}, links.Input{Name: ptr("hot"), URL: ptr("https://a.example")})
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = svc.Update(ctx, links.Principal{}, "hot", links.Input{Description: ptr(fmt.Sprintf("writer %d", i))})
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch links.ErrorCode(err) {
		case "":
			ok++
		case links.Unavailable: // overtaken more than staleRetries times: told to retry
		default:
			t.Fatalf("update without If-Match: %v", err)
		}
	}
	cs, err := svc.Store.Changes(ctx, links.ChangeQuery{LinkID: l.ID})
	if err != nil {
		t.Fatal(err)
	}
	if ok == 0 || len(cs) != ok+1 {
		t.Fatalf("%d updates succeeded, %d history entries (want one each, plus the create)", ok, len(cs))
	}
	// With IfMatch the first stale answer is final: Stale, nothing written.
	_, err = svc.Update(ctx, links.Principal{}, "hot", links.Input{Description: ptr("late"), IfMatch: []links.Rev{l.Rev()}})
	if links.ErrorCode(err) != links.Stale {
		t.Fatalf("stale IfMatch: %v", err)
	}
}

// Every read through the service carries the clicks counted and not yet
// stored: Get, List, Each, and what Create and Update return.
func TestServiceReadsAddPendingClicks(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "pending.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ix := index.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := ix.Load(ctx, st); err != nil {
		t.Fatal(err)
	}
	svc := &links.Service{Store: st, Index: ix}
	if _, err := svc.Create(ctx, links.Principal{}, links.Input{Name: ptr("Docs"), URL: ptr("https://docs.example")}); err != nil {
		t.Fatal(err)
	}
	// Two clicks stored, three counted since.
	if err := st.AddClicks(ctx, []links.Click{{Key: "docs", N: 2, Last: time.Unix(1000, 0).UTC()}}); err != nil {
		t.Fatal(err)
	}
	e, ok := ix.Lookup("docs")
	if !ok {
		t.Fatal("docs is not in the index")
	}
	clickedAt := time.Unix(2000, 0).UTC()
	ix.Tick(clickedAt)
	for range 3 {
		ix.Click(e)
	}
	check := func(how string, l links.Link) {
		t.Helper()
		if l.Clicks != 5 || !l.LastClickedAt.Equal(clickedAt) {
			t.Errorf("%s: %d clicks, last %v; want 5 (2 stored + 3 pending), last %v", how, l.Clicks, l.LastClickedAt, clickedAt)
		}
	}
	l, err := svc.Get(ctx, links.Principal{}, "DOCS")
	if err != nil {
		t.Fatal(err)
	}
	check("Get", l)
	ls, err := svc.List(ctx, links.Principal{}, links.ListOptions{})
	if err != nil || len(ls) != 1 {
		t.Fatalf("List: %v %v", ls, err)
	}
	check("List", ls[0])
	n := 0
	if err := svc.Each(ctx, links.Principal{}, func(l links.Link) error { n++; check("Each", l); return nil }); err != nil || n != 1 {
		t.Fatalf("Each: %d links, %v", n, err)
	}
	l, err = svc.Update(ctx, links.Principal{}, "docs", links.Input{Description: ptr("the docs")})
	if err != nil {
		t.Fatal(err)
	}
	check("Update", l)
	// The counter is in the index, not in the store: nothing was stored twice.
	if stored, _ := st.Get(ctx, "docs"); stored.Clicks != 2 {
		t.Errorf("the store has %d clicks, want the 2 added", stored.Clicks)
	}
}
