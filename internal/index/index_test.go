package index_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/signpost-go/signpost/internal/index"
	"github.com/signpost-go/signpost/internal/links"
	"github.com/signpost-go/signpost/internal/store/sqlite"
)

func newStore(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "ix.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func link(name, url string) links.Link {
	now := time.Now().UTC()
	return links.Link{Name: name, Key: links.Normalize(name), URL: url, CreatedAt: now, UpdatedAt: now}
}

func TestLoadPutRemove(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	for _, n := range []string{"a", "B-c"} {
		if _, err := s.Create(ctx, link(n, "https://"+n+".example")); err != nil {
			t.Fatal(err)
		}
	}
	ix := index.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if ix.Loaded() {
		t.Fatal("new index says loaded")
	}
	if err := ix.Load(ctx, s); err != nil {
		t.Fatal(err)
	}
	if !ix.Loaded() || ix.Len() != 2 {
		t.Fatalf("loaded=%v len=%d", ix.Loaded(), ix.Len())
	}
	e, ok := ix.Lookup("bc")
	if !ok || e.Link.Name != "B-c" {
		t.Fatalf("Lookup(bc) = %+v, %v", e, ok)
	}
	if err := ix.Put(link("new", "https://new.example")); err != nil {
		t.Fatal(err)
	}
	if _, ok := ix.Lookup("new"); !ok {
		t.Fatal("Put not visible")
	}
	if err := ix.Put(link("bad", "javascript:alert(1)")); err == nil {
		t.Fatal("Put accepted an invalid target")
	}
	ix.Remove("a")
	if _, ok := ix.Lookup("a"); ok {
		t.Fatal("Remove not visible")
	}
	// An old snapshot's entry keeps working for a reader that holds it.
	if got, _ := e.Target.Expand("", "", ""); got != "https://B-c.example" {
		t.Fatalf("entry target = %q", got)
	}
}

func TestClicksFlushAndSurviveSwaps(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if _, err := s.Create(ctx, link("hot", "https://hot.example")); err != nil {
		t.Fatal(err)
	}
	ix := index.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := ix.Load(ctx, s); err != nil {
		t.Fatal(err)
	}
	e, _ := ix.Lookup("hot")
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				e.Click(time.Now())
			}
		}()
	}
	// A swap in the middle must not lose the counter.
	if err := ix.Put(link("other", "https://o.example")); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if got := ix.Pending("hot"); got != 8000 {
		t.Fatalf("pending = %d, want 8000", got)
	}
	f := &index.Flusher{Index: ix, Store: s, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := f.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := ix.Pending("hot"); got != 0 {
		t.Fatalf("pending after flush = %d", got)
	}
	l, _ := s.Get(ctx, "hot")
	if l.Clicks != 8000 || l.LastClickedAt.IsZero() {
		t.Fatalf("stored clicks = %d last %v", l.Clicks, l.LastClickedAt)
	}
}

func TestFailedFlushKeepsCounts(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if _, err := s.Create(ctx, link("hot", "https://hot.example")); err != nil {
		t.Fatal(err)
	}
	ix := index.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := ix.Load(ctx, s); err != nil {
		t.Fatal(err)
	}
	e, _ := ix.Lookup("hot")
	for i := 0; i < 5; i++ {
		e.Click(time.Now())
	}
	f := &index.Flusher{Index: ix, Store: s, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := f.Flush(cctx); err == nil {
		t.Fatal("flush with a cancelled context succeeded")
	}
	if got := ix.Pending("hot"); got != 5 {
		t.Fatalf("after a failed flush pending = %d, want 5", got)
	}
	if err := f.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if l, _ := s.Get(ctx, "hot"); l.Clicks != 5 {
		t.Fatalf("stored clicks = %d, want 5", l.Clicks)
	}
}

// blockingStore holds Each until released, to interleave writes with a Load.
type blockingStore struct {
	links.Store
	started, release chan struct{}
}

func (b *blockingStore) Each(ctx context.Context, fn func(links.Link) error) error {
	close(b.started)
	<-b.release
	return b.Store.Each(ctx, fn)
}

// A Put or Remove that lands while a Load reads the store wins over what
// the Load read: the load may have read the table before the change.
func TestLoadKeepsWritesMadeDuringIt(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	for _, n := range []string{"keep", "gone", "changed"} {
		if _, err := s.Create(ctx, link(n, "https://old.example/"+n)); err != nil {
			t.Fatal(err)
		}
	}
	ix := index.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	bs := &blockingStore{Store: s, started: make(chan struct{}), release: make(chan struct{})}
	done := make(chan error)
	go func() { done <- ix.Load(ctx, bs) }()
	<-bs.started
	// Published by writers while the load is in flight; the store, as the
	// load will read it, still has the old rows (a stale read).
	ix.Remove("gone")
	if err := ix.Put(link("changed", "https://new.example")); err != nil {
		t.Fatal(err)
	}
	close(bs.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, ok := ix.Lookup("gone"); ok {
		t.Error("load resurrected a link removed during it")
	}
	if e, _ := ix.Lookup("changed"); e == nil || e.Link.URL != "https://new.example" {
		t.Errorf("load overwrote a newer Put: %+v", e)
	}
	if _, ok := ix.Lookup("keep"); !ok {
		t.Error("load lost an untouched link")
	}
	// After the load, writes are no longer tracked: a later load wins.
	if err := ix.Load(ctx, s); err != nil {
		t.Fatal(err)
	}
	if e, _ := ix.Lookup("changed"); e.Link.URL != "https://old.example/changed" {
		t.Errorf("second load did not read the store: %q", e.Link.URL)
	}
}
