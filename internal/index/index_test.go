package index_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
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
		if _, _, err := s.Create(ctx, link(n, "https://"+n+".example")); err != nil {
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
	if !ok || e.Key() != "bc" {
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
	if _, _, err := s.Create(ctx, link("hot", "https://hot.example")); err != nil {
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
				ix.Click(e)
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
	if _, _, err := s.Create(ctx, link("hot", "https://hot.example")); err != nil {
		t.Fatal(err)
	}
	ix := index.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := ix.Load(ctx, s); err != nil {
		t.Fatal(err)
	}
	e, _ := ix.Lookup("hot")
	for i := 0; i < 5; i++ {
		ix.Click(e)
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

func (b *staleStore) Targets(ctx context.Context, fn func(key, url string) error) error {
	var ls [][2]string
	if err := b.Store.Targets(ctx, func(k, u string) error { ls = append(ls, [2]string{k, u}); return nil }); err != nil {
		return err
	}
	b.hold()
	for _, l := range ls {
		if err := fn(l[0], l[1]); err != nil {
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
				if _, _, err := s.Create(ctx, link(n, "https://old.example/"+n)); err != nil {
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
			if _, _, err := s.Update(ctx, "race", l); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Delete(ctx, "gone"); err != nil {
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
			if e, ok := ix.Lookup("race"); !ok || e.Target.String() != "https://new.example" {
				t.Errorf("index went back to an older value: %+v", e)
			}
			if _, ok := ix.Lookup("gone"); ok {
				t.Error("index resurrected a deleted link")
			}
		})
	}
}

// countingStore records every AddClicks batch.
type countingStore struct {
	links.Store
	mu      sync.Mutex
	batches [][]links.Click
	fail    int // fail the batch with this number (1-based), once
}

func (c *countingStore) AddClicks(ctx context.Context, cs []links.Click) error {
	c.mu.Lock()
	c.batches = append(c.batches, append([]links.Click(nil), cs...))
	fail := len(c.batches) == c.fail
	c.mu.Unlock()
	if fail {
		return links.Errorf(links.Unavailable, "database unavailable")
	}
	return c.Store.AddClicks(ctx, cs)
}

// A flush visits only the links clicked since the last one, in key order,
// in batches of FlushBatch; the pending total is kept as it goes; a batch
// that fails keeps its counts and those of the batches after it.
func TestFlushVisitsOnlyClickedLinksInKeyOrder(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	const n = 3 * index.FlushBatch
	ls := make([]links.Link, n)
	for i := range ls {
		ls[i] = link(fmt.Sprintf("l%05d", i), "https://x.example")
	}
	if err := s.Import(ctx, links.All(ls), links.ImportOptions{Stats: true}); err != nil {
		t.Fatal(err)
	}
	ix := index.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := ix.Load(ctx, s); err != nil {
		t.Fatal(err)
	}
	// Click 2.5 batches' worth of links, in reverse order, twice each.
	clicked := n * 5 / 6
	for i := clicked - 1; i >= 0; i-- {
		e, _ := ix.Lookup(links.Normalize(fmt.Sprintf("l%05d", i)))
		ix.Click(e)
		ix.Click(e)
	}
	if got := ix.PendingClicks(); got != int64(2*clicked) {
		t.Fatalf("pending = %d, want %d", got, 2*clicked)
	}
	cs := &countingStore{Store: s, fail: 2}
	f := &index.Flusher{Index: ix, Store: cs, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := f.Flush(ctx); err == nil {
		t.Fatal("a flush whose second batch failed reported success")
	}
	if len(cs.batches) != 2 || len(cs.batches[0]) != index.FlushBatch {
		t.Fatalf("batches = %d (first %d), want 2 (the second failing)", len(cs.batches), len(cs.batches[0]))
	}
	// The first batch is written; the rest is pending again.
	if got, want := ix.PendingClicks(), int64(2*(clicked-index.FlushBatch)); got != want {
		t.Fatalf("pending after a failed batch = %d, want %d", got, want)
	}
	if err := f.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, b := range cs.batches[2:] {
		if len(b) > index.FlushBatch {
			t.Fatalf("batch of %d clicks, more than FlushBatch", len(b))
		}
		for _, c := range b {
			if c.N != 2 {
				t.Fatalf("%s flushed with %d clicks, want 2", c.Key, c.N)
			}
			keys = append(keys, c.Key)
		}
	}
	if len(keys) != clicked-index.FlushBatch || !slices.IsSorted(keys) {
		t.Fatalf("second flush wrote %d keys (sorted: %v), want the %d not yet written, in key order", len(keys), slices.IsSorted(keys), clicked-index.FlushBatch)
	}
	if ix.PendingClicks() != 0 {
		t.Fatalf("pending after the flush = %d", ix.PendingClicks())
	}
	// Nothing clicked since: the next flush writes nothing.
	before := len(cs.batches)
	if err := f.Flush(ctx); err != nil || len(cs.batches) != before {
		t.Fatalf("an idle flush wrote %d batches (err %v)", len(cs.batches)-before, err)
	}
	var total int64
	err := s.Each(ctx, func(l links.Link) error { total += l.Clicks; return nil })
	if err != nil || total != int64(2*clicked) {
		t.Fatalf("stored clicks = %d (%v), want %d", total, err, 2*clicked)
	}
}

// Pending clicks survive a change of the link and a full reload.
func TestPendingSurvivesPutAndLoad(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if _, _, err := s.Create(ctx, link("hot", "https://hot.example")); err != nil {
		t.Fatal(err)
	}
	ix := index.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := ix.Load(ctx, s); err != nil {
		t.Fatal(err)
	}
	e, _ := ix.Lookup("hot")
	ix.Click(e)
	if err := ix.Put(link("hot", "https://changed.example")); err != nil {
		t.Fatal(err)
	}
	e2, _ := ix.Lookup("hot")
	ix.Click(e2)
	ix.Click(e) // through an entry an older snapshot still holds
	if err := ix.Load(ctx, s); err != nil {
		t.Fatal(err)
	}
	if got := ix.Pending("hot"); got != 3 {
		t.Fatalf("pending = %d, want 3", got)
	}
	l, _ := s.Get(ctx, "hot")
	if w := ix.WithPending(l); w.Clicks != 3 || w.LastClickedAt.IsZero() {
		t.Fatalf("WithPending = %d clicks at %v", w.Clicks, w.LastClickedAt)
	}
}

// The index's own writes move on the version it holds, so the resync that
// follows them does not reload; a change it did not publish (another
// process writing to the database) still makes the next resync reload.
func TestWriteIsNotFollowedByReload(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	ix := index.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	syncer := &index.Syncer{Index: ix, Store: s, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if reloaded, err := syncer.Sync(ctx); err != nil || !reloaded {
		t.Fatalf("first sync: reloaded=%v err=%v", reloaded, err)
	}
	svc := &links.Service{Store: s, Index: ix}
	u := "https://a.example"
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ { // concurrent writers may publish out of commit order
		wg.Go(func() {
			for i := 0; i < 10; i++ {
				name := fmt.Sprintf("w%d-%d", w, i)
				if _, err := svc.Create(ctx, links.Principal{}, links.Input{Name: &name, URL: &u}); err != nil {
					t.Error(err)
				}
				if i%3 == 0 {
					if err := svc.Delete(ctx, links.Principal{}, name); err != nil {
						t.Error(err)
					}
				} else if i%3 == 1 {
					renamed := name + "-r"
					if _, err := svc.Update(ctx, links.Principal{}, name, links.Input{Name: &renamed}); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	reloaded, err := syncer.Sync(ctx)
	if err != nil || reloaded {
		t.Fatalf("sync after the index's own writes: reloaded=%v err=%v", reloaded, err)
	}
	if v, _ := s.Version(ctx); ix.Version() != v {
		t.Fatalf("index holds version %d, store is at %d", ix.Version(), v)
	}
	// Written behind the index's back (as `signpost import` or another
	// replica would): the next resync reloads, and then serves it.
	if _, _, err := s.Create(ctx, link("outside", "https://o.example")); err != nil {
		t.Fatal(err)
	}
	name := "after"
	if _, err := svc.Create(ctx, links.Principal{}, links.Input{Name: &name, URL: &u}); err != nil {
		t.Fatal(err)
	}
	if reloaded, err := syncer.Sync(ctx); err != nil || !reloaded {
		t.Fatalf("sync after an outside write: reloaded=%v err=%v", reloaded, err)
	}
	if _, ok := ix.Lookup("outside"); !ok {
		t.Fatal("the reload did not bring the outside write")
	}
}

// A reload keeps the entry of every link whose target did not change (no
// parse, no allocation: a resync at a million links costs a map, not a
// million entries) and builds new ones for what changed, which keep their
// pending clicks.
func TestReloadKeepsUnchangedEntries(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	for _, n := range []string{"same", "moved"} {
		if _, _, err := s.Create(ctx, link(n, "https://"+n+".example")); err != nil {
			t.Fatal(err)
		}
	}
	ix := index.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := ix.Load(ctx, s); err != nil {
		t.Fatal(err)
	}
	same, _ := ix.Lookup("same")
	moved, _ := ix.Lookup("moved")
	ix.Click(moved)
	l, err := s.Get(ctx, "moved")
	if err != nil {
		t.Fatal(err)
	}
	l.URL = "https://elsewhere.example"
	if _, _, err := s.Update(ctx, "moved", l); err != nil {
		t.Fatal(err)
	}
	if err := ix.Load(ctx, s); err != nil {
		t.Fatal(err)
	}
	if e, _ := ix.Lookup("same"); e != same {
		t.Error("the unchanged link got a new entry")
	}
	e, ok := ix.Lookup("moved")
	if !ok || e == moved || e.Target.String() != "https://elsewhere.example" {
		t.Fatalf("the changed link: %v, %v", e, ok)
	}
	if n := ix.Pending("moved"); n != 1 {
		t.Errorf("the changed link's pending clicks: %d, want 1", n)
	}
}

// A resync that finds the store ahead only by a write of this replica
// that committed and has not published yet waits for it instead of
// reloading; a write it was not told of is reloaded for.
func TestSyncWaitsForWritesInFlight(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	ix := index.New(nil)
	sy := &index.Syncer{Index: ix, Store: s}
	if _, err := sy.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	done := ix.Writing()
	l, v, err := s.Create(ctx, links.Link{Name: "own", Key: "own", URL: "https://own.example"})
	if err != nil {
		t.Fatal(err)
	}
	go func() { // the write publishes a moment after its commit
		time.Sleep(50 * time.Millisecond)
		if err := ix.Refresh(ctx, s, l.Key); err != nil {
			t.Error(err)
		}
		ix.Published(v)
		done()
	}()
	if reloaded, err := sy.Sync(ctx); err != nil || reloaded {
		t.Fatalf("Sync with the replica's own write in flight: reloaded=%v, %v; want no reload", reloaded, err)
	}
	if _, ok := ix.Lookup("own"); !ok {
		t.Fatal("the write in flight was not published")
	}
	if _, _, err := s.Create(ctx, links.Link{Name: "other", Key: "other", URL: "https://other.example"}); err != nil {
		t.Fatal(err)
	}
	if reloaded, err := sy.Sync(ctx); err != nil || !reloaded {
		t.Fatalf("Sync after a write the index was not told of: reloaded=%v, %v; want a reload", reloaded, err)
	}
}

// An alias's entry holds its target's target: loaded so, and re-read with
// its target whenever the target is refreshed (an edit, a rename), so that
// a redirect through it takes one lookup and one hop. Its clicks are its
// own.
func TestAliasesFollowTheirTarget(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if _, _, err := s.Create(ctx, link("kubernetes", "https://k8s.example/{{.Path}}")); err != nil {
		t.Fatal(err)
	}
	a := link("k8s", "")
	a.AliasOf = "kubernetes"
	if _, _, err := s.Create(ctx, a); err != nil {
		t.Fatal(err)
	}
	ix := index.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := ix.Load(ctx, s); err != nil {
		t.Fatal(err)
	}
	served := func(key string) string {
		t.Helper()
		e, ok := ix.Lookup(key)
		if !ok {
			return ""
		}
		return e.Target.String()
	}
	if got := served("k8s"); got != "https://k8s.example/{{.Path}}" {
		t.Fatalf("loaded alias serves %q", got)
	}
	cur, err := s.Get(ctx, "kubernetes")
	if err != nil {
		t.Fatal(err)
	}
	cur.URL, cur.Name, cur.Key, cur.Aliases = "https://kubernetes.example", "kube", "kube", nil
	if _, _, err := s.Update(ctx, "kubernetes", cur); err != nil {
		t.Fatal(err)
	}
	if err := ix.Refresh(ctx, s, "kubernetes", "kube"); err != nil { // what a rename publishes
		t.Fatal(err)
	}
	if got := served("k8s"); got != "https://kubernetes.example" {
		t.Fatalf("alias after its target's edit serves %q", got)
	}
	if served("kubernetes") != "" || served("kube") != "https://kubernetes.example" {
		t.Fatal("the rename is not published")
	}
	e, _ := ix.Lookup("k8s")
	ix.Click(e)
	if ix.Pending("k8s") != 1 || ix.Pending("kube") != 0 {
		t.Fatalf("pending clicks: alias %d, target %d; want 1, 0", ix.Pending("k8s"), ix.Pending("kube"))
	}
}
