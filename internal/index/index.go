// Package index is the in-memory read model that serves redirects: an
// immutable snapshot of every link behind an atomic pointer (lookups take no
// lock and touch no database), replaced on every committed change by a
// snapshot that shares all but the changed path with it (see Snapshot), and
// per-link click counters that a Flusher writes to the store in batches.
//
// What the index publishes it reads from the store after the change
// committed (Refresh, Load), and these read-then-publish steps run one at
// a time: a step that starts later reads a store at least as new and
// publishes after the earlier one, so the index never goes back to an
// older value of a link. (Publishing the value a write returned instead
// would: two writers of one link, possibly on two replicas, may return in
// the other order than they committed.)
package index

import (
	"context"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/signpost-go/signpost/internal/links"
)

// Entry is one link as the redirect path sees it: its key and its parsed
// target, nothing else (the UI and the API read the store). Entries are
// immutable once published, apart from their click counter.
type Entry struct {
	key    string
	Target links.Target
	clicks *counter
}

// Key is the link's normalised name.
func (e *Entry) Key() string { return e.key }

// counter holds one link's clicks not yet in the store. It outlives the
// entries of its link: a changed link's new entry takes over its
// predecessor's counter, and a removed link's counter is still flushed.
type counter struct {
	n    atomic.Int64
	last atomic.Int64 // unix microseconds of the latest click
}

// Index holds the current Snapshot. The zero value is not usable; call New.
type Index struct {
	log    *slog.Logger
	cur    atomic.Pointer[Snapshot]
	loaded atomic.Bool

	// publish serialises the steps that read the store and publish what
	// they read (Load, Refresh, Put, Remove), so that they publish in the
	// order they read. Redirects never take it.
	publish sync.Mutex

	// pending is the running total of clicks not yet written; dirty lists
	// the links clicked since the last flush (each once: an entry is added
	// when its counter leaves zero; any entry of a link names its key and
	// counter), so that neither a scrape nor a flush visits links nobody
	// clicked.
	pending atomic.Int64
	dirtyMu sync.Mutex
	dirty   []*Entry
	// clock is a coarse clock for click times (unix microseconds), kept
	// current by Flusher.Run; zero means "read the time per click".
	clock atomic.Int64

	versions versions
	// writing counts the writes in flight (Writing).
	writing atomic.Int64
	// folding serialises folds; foldDue (under publish) says one is
	// scheduled.
	folding sync.Mutex
	foldDue bool
}

// New returns an empty, not yet loaded index.
func New(log *slog.Logger) *Index {
	ix := &Index{log: log}
	seed := maphash.MakeSeed()
	ix.cur.Store(newSnapshot(newTable(seed, 0), seed, 0))
	return ix
}

// Lookup returns the entry for a normalised key.
func (ix *Index) Lookup(key string) (*Entry, bool) {
	e := ix.cur.Load().get(key)
	return e, e != nil
}

// LookupName returns the entry for a name in any spelling (go/Foo-Bar finds
// foobar) without allocating: the redirect hot path.
func (ix *Index) LookupName(name string) (*Entry, bool) {
	var buf [links.MaxNameLen]byte
	if len(name) > len(buf) {
		return nil, false
	}
	k := links.AppendKey(buf[:0], name)
	if len(k) == 0 {
		return nil, false
	}
	// The key only lives for the lookup, which neither keeps nor changes
	// it: no copy needed.
	e := ix.cur.Load().get(unsafe.String(&k[0], len(k)))
	return e, e != nil
}

// Len is the number of links in the current snapshot.
func (ix *Index) Len() int { return ix.cur.Load().Len() }

// Loaded reports whether a full load has completed.
func (ix *Index) Loaded() bool { return ix.loaded.Load() }

// Click counts one redirect through e.
func (ix *Index) Click(e *Entry) {
	c := e.clicks
	ix.pending.Add(1) // first, so that the total never reads below the counters
	if c.n.Add(1) == 1 {
		ix.markDirty(e)
	}
	now := ix.clock.Load()
	if now == 0 {
		now = time.Now().UnixMicro()
	}
	c.last.Store(now)
}

// markDirty lists e, whose count just left zero, for the next flush.
func (ix *Index) markDirty(e *Entry) {
	ix.dirtyMu.Lock()
	ix.dirty = append(ix.dirty, e)
	ix.dirtyMu.Unlock()
}

// Tick sets the coarse clock that click times are read from (Flusher.Run
// ticks it every second), so that a redirect reads no clock.
func (ix *Index) Tick(now time.Time) { ix.clock.Store(now.UnixMicro()) }

// Pending returns the clicks counted for key that are not yet in the store.
func (ix *Index) Pending(key string) int64 {
	if e, ok := ix.Lookup(key); ok {
		return e.clicks.n.Load()
	}
	return 0
}

// PendingClicks is the number of clicks counted and not yet written to the
// store, over all links: it grows while the database is unreachable. It is
// a running total, read in O(1).
func (ix *Index) PendingClicks() int64 { return ix.pending.Load() }

// WithPending returns l with the clicks not yet in the store added, so
// that what users see is current.
func (ix *Index) WithPending(l links.Link) links.Link {
	e, ok := ix.Lookup(l.Key)
	if !ok {
		return l
	}
	if n := e.clicks.n.Load(); n > 0 {
		l.Clicks += n
		if last := time.UnixMicro(e.clicks.last.Load()).UTC(); last.After(l.LastClickedAt) {
			l.LastClickedAt = last
		}
	}
	return l
}

// Load replaces the whole snapshot with the store's links (start-up and
// resync), in one pass over them. Links whose stored target no longer
// parses are logged and left out. Refreshes wait while it reads, and then
// publish over it.
func (ix *Index) Load(ctx context.Context, s links.Store) error {
	ix.publish.Lock()
	defer ix.publish.Unlock()
	// The version first: the links read next are at least that new.
	v, err := s.Version(ctx)
	if err != nil {
		return err
	}
	old := ix.cur.Load()
	// Sized up front: a table grown from empty to a million keys spends a
	// fifth of a load rehashing. A reload expects about as many links as
	// before; the first load asks (a count costs milliseconds where the
	// growth cost hundreds of them).
	size := old.len
	if !ix.loaded.Load() {
		if n, err := s.Count(ctx, links.ListOptions{}); err == nil {
			size = n
		}
	}
	base := newTable(old.over.seed, size)
	// Two stages on two cores: this goroutine reads rows, another parses
	// targets and fills the map (each is about half of a load's CPU).
	batches := make(chan []row, 4)
	built := make(chan struct{})
	go func() {
		defer close(built)
		for b := range batches {
			for _, r := range b {
				// An unchanged link keeps its entry (immutable, so any
				// snapshot may hold it): a reload allocates and parses only
				// what changed, and the rows' strings are garbage at once.
				if prev := old.get(r.key); prev != nil && prev.Target.String() == r.url {
					base.set(prev)
					continue
				}
				t, err := links.ParseTarget(r.url)
				if err != nil {
					ix.log.Warn("link not served: stored target is invalid", "key", r.key, "err", err)
					continue
				}
				base.set(ix.entry(old, r.key, t))
			}
		}
	}()
	batch := make([]row, 0, loadBatch)
	err = s.Targets(ctx, func(key, url string) error {
		batch = append(batch, row{key, url})
		if len(batch) == loadBatch {
			batches <- batch
			batch = make([]row, 0, loadBatch)
		}
		return nil
	})
	if err == nil && len(batch) > 0 {
		batches <- batch
	}
	close(batches)
	<-built
	if err != nil {
		return err
	}
	ix.cur.Store(newSnapshot(base, old.over.seed, old.gen+1))
	ix.versions.loaded(v)
	ix.loaded.Store(true)
	return nil
}

// loadBatch is how many rows Load hands from the reader to the parser at
// a time.
const loadBatch = 1024

type row struct{ key, url string }

// entry builds the entry for key, keeping the counter of the entry it
// replaces in old so that pending clicks survive.
func (ix *Index) entry(old *Snapshot, key string, t *links.Target) *Entry {
	var c *counter
	if old.len > 0 {
		if prev := old.get(key); prev != nil {
			c = prev.clicks
		}
	}
	if c == nil {
		c = &counter{}
	}
	return &Entry{key: key, Target: *t, clicks: c}
}

// Refresh re-reads each key from the store and publishes what it finds: the
// link, or its absence. Writers call it once their change committed, and
// replicas for every change another one announces. A link's aliases are
// re-read with it (an alias is served with its target's URL), so that
// they follow a change of their target at once.
func (ix *Index) Refresh(ctx context.Context, s links.Store, keys ...string) error {
	ix.publish.Lock()
	defer ix.publish.Unlock()
	for _, key := range keys {
		l, err := ix.refresh(ctx, s, key)
		if err != nil {
			return err
		}
		for _, a := range l.Aliases { // none: aliases have no aliases
			if _, err := ix.refresh(ctx, s, links.Normalize(a)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (ix *Index) refresh(ctx context.Context, s links.Store, key string) (links.Link, error) {
	l, err := s.Get(ctx, key)
	switch links.ErrorCode(err) {
	case "":
		return l, ix.put(l)
	case links.NotFound:
		ix.remove(key)
		return links.Link{}, nil
	}
	return links.Link{}, err
}

// Put publishes l as it is, without reading the store: the fallback for a
// writer whose Refresh failed after its change committed.
func (ix *Index) Put(l links.Link) error {
	ix.publish.Lock()
	defer ix.publish.Unlock()
	return ix.put(l)
}

// Remove publishes a snapshot without key, without reading the store.
func (ix *Index) Remove(key string) {
	ix.publish.Lock()
	defer ix.publish.Unlock()
	ix.remove(key)
}

// put and remove run under publish, the only writers of cur.
func (ix *Index) put(l links.Link) error {
	t, err := links.ParseTarget(l.Served())
	if err != nil {
		return err
	}
	cur := ix.cur.Load()
	ix.swap(cur.with(ix.entry(cur, l.Key, t)))
	return nil
}

func (ix *Index) remove(key string) {
	// A removed link's counter stays listed if it has clicks: they are
	// flushed (and ignored by a store that no longer has the key).
	if cur := ix.cur.Load(); cur.get(key) != nil {
		ix.swap(cur.without(key))
	}
}

// swap publishes next, a change of the current snapshot, and schedules
// the fold of its overlay. It runs under publish.
func (ix *Index) swap(next *Snapshot) {
	ix.cur.Store(next)
	switch {
	case next.over.len >= foldNow:
		ix.foldDue = true
		go ix.fold()
	case !ix.foldDue:
		ix.foldDue = true
		time.AfterFunc(foldDelay(next.len), ix.fold)
	}
}

// fold publishes the current snapshot's overlay merged into a new base
// table. The copy of the table runs without the publish lock; changes
// published meanwhile are in the overlay it applies under the lock.
func (ix *Index) fold() {
	ix.folding.Lock()
	defer ix.folding.Unlock()
	s0 := ix.cur.Load()
	var base *table
	if s0.over.len > 0 {
		base = s0.cloneBase()
	}
	ix.publish.Lock()
	defer ix.publish.Unlock()
	ix.foldDue = false
	s1 := ix.cur.Load()
	if s1.over.len == 0 || s1.gen != s0.gen || base == nil {
		// Nothing to fold, or a Load replaced the base meanwhile (an
		// overlay on the new base schedules its own fold).
		if s1.over.len > 0 {
			ix.foldDue = true
			time.AfterFunc(foldDelay(s1.len), ix.fold)
		}
		return
	}
	ix.cur.Store(s1.folded(base))
}

// Published tells the index that the store change committed at version
// (the link-set version a write returned) is in the index: the writer
// re-read and published it. The Syncer then knows that its own replica's
// writes need no reload.
func (ix *Index) Published(version int64) { ix.versions.published(version) }

// Writing marks a write in flight, from before its commit until its
// publish; done ends it. A commit moves the store's version before its
// publish moves the index's, so a resync in between would reload for the
// replica's own write: Syncer.Sync waits for the writes in flight first.
func (ix *Index) Writing() (done func()) {
	ix.writing.Add(1)
	return func() { ix.writing.Add(-1) }
}

// caughtUp waits (at most wait, polling) until no write is in flight, and
// reports whether the index then holds version v.
func (ix *Index) caughtUp(ctx context.Context, v int64, wait time.Duration) bool {
	deadline := time.Now().Add(wait)
	for ix.writing.Load() > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	return v <= ix.Version()
}

// Version is the store's link-set version that the index is known to
// reflect: that of the last Load, moved on by every Published version that
// follows it without a gap.
func (ix *Index) Version() int64 { return ix.versions.current() }

// versions tracks which link-set versions the index holds.
type versions struct {
	mu   sync.Mutex
	seen int64
	// ahead are versions published while an earlier one was not yet:
	// two writes that committed as v and v+1 may publish in either order.
	ahead map[int64]bool
}

// maxAhead bounds the versions kept out of order. More means a write's
// publish failed (or another writer got in between): only a reload can
// tell what the index lacks, so they are dropped.
const maxAhead = 1024

func (v *versions) loaded(at int64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	// A Load reads the version before the links, after every commit whose
	// publish came before it: what it read is at least as new as seen.
	v.seen = max(v.seen, at)
	for k := range v.ahead {
		if k <= v.seen {
			delete(v.ahead, k)
		}
	}
	v.advance()
}

func (v *versions) published(at int64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if at <= v.seen {
		return
	}
	if v.ahead == nil {
		v.ahead = map[int64]bool{}
	}
	if len(v.ahead) >= maxAhead {
		clear(v.ahead)
	}
	v.ahead[at] = true
	v.advance()
}

func (v *versions) advance() {
	for v.ahead[v.seen+1] {
		delete(v.ahead, v.seen+1)
		v.seen++
	}
}

func (v *versions) current() int64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.seen
}

// taken is one link's clicks, taken for a flush.
type taken struct {
	e    *Entry
	n    int64
	last int64
}

// takeClicks takes every pending count off its counter, visiting only the
// counters clicked since the last take.
func (ix *Index) takeClicks() []taken {
	ix.dirtyMu.Lock()
	es := ix.dirty
	ix.dirty = nil
	ix.dirtyMu.Unlock()
	// A click after the list was taken either finds its count above zero
	// (and is taken below) or moves it from zero and lists it anew.
	out := make([]taken, 0, len(es))
	for _, e := range es {
		if n := e.clicks.n.Swap(0); n > 0 {
			ix.pending.Add(-n)
			out = append(out, taken{e: e, n: n, last: e.clicks.last.Load()})
		}
	}
	return out
}

// returnClicks puts back counts that could not be written. Memory stays
// bounded by the number of links: counts add up per link, they never queue.
func (ix *Index) returnClicks(ts []taken) {
	for _, t := range ts {
		c := t.e.clicks
		ix.pending.Add(t.n)
		if c.n.Add(t.n) == t.n {
			ix.markDirty(t.e)
		}
		for {
			cur := c.last.Load()
			if cur >= t.last || c.last.CompareAndSwap(cur, t.last) {
				break
			}
		}
	}
}
