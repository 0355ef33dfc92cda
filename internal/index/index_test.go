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
	if got, _ := e.Target.Expand(context.Background(), "", "", ""); got != "https://B-c.example" {
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

// staleStore reads from the store, then holds what it read until
// released: a read that is overtaken by a later change and a later read.
type staleStore struct {
	links.Store
	read, release chan struct{}
	once          sync.Once // only the first read is held
}

func newStaleStore(s links.Store) *staleStore {
	return &staleStore{Store: s, read: make(chan struct{}), release: make(chan struct{})}
}

func (b *staleStore) hold() {
	b.once.Do(func() {
		close(b.read)
		<-b.release
	})
}

func (b *staleStore) Get(ctx context.Context, key string) (links.Link, error) {
	l, err := b.Store.Get(ctx, key)
	b.hold()
	return l, err
}

func (b *staleStore) Each(ctx context.Context, fn func(links.Link) error) error {
	var ls []links.Link
	if err := b.Store.Each(ctx, func(l links.Link) error { ls = append(ls, l); return nil }); err != nil {
		return err
	}
	b.hold()
	for _, l := range ls {
		if err := fn(l); err != nil {
			return err
		}
	}
	return nil
}

// A read of the store that started earlier is published earlier: a
// Refresh or Load whose read is overtaken by a change never publishes
// over the Refresh that read the change. (Two writers of one link on two
// replicas return in either order; the index must end at the value that
// committed last, as the store did.)
func TestPublishingFollowsReadOrder(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stale func(ix *index.Index, s links.Store) error
	}{
		{"refresh", func(ix *index.Index, s links.Store) error { return ix.Refresh(context.Background(), s, "gone", "race") }},
		{"load", func(ix *index.Index, s links.Store) error { return ix.Load(context.Background(), s) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := newStore(t)
			for _, n := range []string{"race", "gone"} {
				if _, err := s.Create(ctx, link(n, "https://old.example/"+n)); err != nil {
					t.Fatal(err)
				}
			}
			ix := index.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
			ss := newStaleStore(s)
			staleDone := make(chan error)
			go func() { staleDone <- tc.stale(ix, ss) }()
			<-ss.read // the old rows are read, not yet published

			// Meanwhile both links change in the store and a writer refreshes.
			l := link("race", "https://new.example")
			if _, err := s.Update(ctx, "race", l); err != nil {
				t.Fatal(err)
			}
			if err := s.Delete(ctx, "gone"); err != nil {
				t.Fatal(err)
			}
			freshDone := make(chan error)
			go func() { freshDone <- ix.Refresh(ctx, s, "race", "gone") }()
			select {
			case err := <-freshDone:
				t.Fatalf("a refresh published (err %v) while an earlier read was in flight", err)
			case <-time.After(50 * time.Millisecond):
			}
			close(ss.release)
			if err := <-staleDone; err != nil {
				t.Fatal(err)
			}
			if err := <-freshDone; err != nil {
				t.Fatal(err)
			}
			if e, ok := ix.Lookup("race"); !ok || e.Link.URL != "https://new.example" {
				t.Errorf("index went back to an older value: %+v", e)
			}
			if _, ok := ix.Lookup("gone"); ok {
				t.Error("index resurrected a deleted link")
			}
		})
	}
}
