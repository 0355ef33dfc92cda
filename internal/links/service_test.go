package links_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"

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

func (f *flakyReads) Delete(ctx context.Context, key string) (int64, error) {
	v, err := f.Store.Delete(ctx, key)
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
				_, err := svc.Create(ctx, "", links.Input{Name: ptr("Docs"), URL: ptr("https://docs.example")})
				return err
			})
			if got := target("docs"); got != "https://docs.example" {
				t.Fatalf("after create: index has %q", got)
			}
			step("update", func() error {
				_, err := svc.Update(ctx, "", "docs", links.Input{URL: ptr("https://docs.example/v2")})
				return err
			})
			if got := target("docs"); got != "https://docs.example/v2" {
				t.Fatalf("after update: index has %q", got)
			}
			step("rename", func() error {
				_, err := svc.Update(ctx, "", "docs", links.Input{Name: ptr("manual")})
				return err
			})
			if old, got := target("docs"), target("manual"); old != "" || got != "https://docs.example/v2" {
				t.Fatalf("after rename: docs %q, manual %q", old, got)
			}
			step("delete", func() error { return svc.Delete(ctx, "", "manual") })
			if got := target("manual"); got != "" {
				t.Fatalf("after delete: index still has %q", got)
			}
		})
	}
}
