// Package index is the in-memory read model that serves redirects: an
// immutable snapshot of every link behind an atomic pointer (lookups take no
// lock and touch no database), swapped whole on every committed change, and
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
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signpost-go/signpost/internal/links"
)

// Entry is one link as the redirect path sees it. Entries are immutable
// once published, apart from their click counter.
type Entry struct {
	Link   links.Link
	Target *links.Target
	clicks *counter
}

type counter struct {
	n    atomic.Int64
	last atomic.Int64 // unix microseconds of the latest click
}

// Click counts one redirect through e.
func (e *Entry) Click(now time.Time) {
	e.clicks.n.Add(1)
	e.clicks.last.Store(now.UnixMicro())
}

// Snapshot is an immutable view of every link.
type Snapshot struct {
	byKey map[string]*Entry
}

// Len is the number of links.
func (s *Snapshot) Len() int { return len(s.byKey) }

// Index holds the current Snapshot. The zero value is not usable; call New.
type Index struct {
	log    *slog.Logger
	cur    atomic.Pointer[Snapshot]
	loaded atomic.Bool

	// publish serialises the steps that read the store and publish what
	// they read (Load, Refresh, Put, Remove), so that they publish in the
	// order they read. Redirects never take it.
	publish sync.Mutex
	mu      sync.Mutex // guards snapshot swaps and counters; held briefly
	// counters outlive snapshots so that a link's pending clicks survive
	// every swap; a counter whose link is gone is dropped after its
	// clicks were taken.
	counters map[string]*counter
}

// New returns an empty, not yet loaded index.
func New(log *slog.Logger) *Index {
	ix := &Index{log: log, counters: map[string]*counter{}}
	ix.cur.Store(&Snapshot{byKey: map[string]*Entry{}})
	return ix
}

// Lookup returns the entry for a normalised key.
func (ix *Index) Lookup(key string) (*Entry, bool) {
	e, ok := ix.cur.Load().byKey[key]
	return e, ok
}

// LookupName returns the entry for a name in any spelling (go/Foo-Bar finds
// foobar) without allocating: the redirect hot path.
func (ix *Index) LookupName(name string) (*Entry, bool) {
	var buf [links.MaxNameLen]byte
	if len(name) > len(buf) {
		return nil, false
	}
	e, ok := ix.cur.Load().byKey[string(links.AppendKey(buf[:0], name))]
	return e, ok
}

// Len is the number of links in the current snapshot.
func (ix *Index) Len() int { return ix.cur.Load().Len() }

// Loaded reports whether a full load has completed.
func (ix *Index) Loaded() bool { return ix.loaded.Load() }

// Pending returns the clicks counted for key that are not yet in the store.
func (ix *Index) Pending(key string) int64 {
	if e, ok := ix.Lookup(key); ok {
		return e.clicks.n.Load()
	}
	return 0
}

// PendingClicks is the number of clicks counted and not yet written to the
// store, over all links: it grows while the database is unreachable.
func (ix *Index) PendingClicks() int64 {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	var n int64
	for _, c := range ix.counters {
		n += c.n.Load()
	}
	return n
}

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
// resync). Links whose stored target no longer parses are logged and left
// out. Refreshes wait while it reads, and then publish over it.
func (ix *Index) Load(ctx context.Context, s links.Store) error {
	ix.publish.Lock()
	defer ix.publish.Unlock()
	m := map[string]*Entry{}
	err := s.Each(ctx, func(l links.Link) error {
		t, err := links.ParseTarget(l.URL)
		if err != nil {
			ix.log.Warn("link not served: stored target is invalid", "name", l.Name, "err", err)
			return nil
		}
		m[l.Key] = &Entry{Link: l, Target: t}
		return nil
	})
	if err != nil {
		return err
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for k, e := range m {
		e.clicks = ix.counterLocked(k)
	}
	ix.cur.Store(&Snapshot{byKey: m})
	ix.loaded.Store(true)
	return nil
}

func (ix *Index) counterLocked(key string) *counter {
	c, ok := ix.counters[key]
	if !ok {
		c = &counter{}
		ix.counters[key] = c
	}
	return c
}

// Refresh re-reads each key from the store and publishes what it finds: the
// link, or its absence. Writers call it once their change committed, and
// replicas for every change another one announces.
func (ix *Index) Refresh(ctx context.Context, s links.Store, keys ...string) error {
	ix.publish.Lock()
	defer ix.publish.Unlock()
	for _, key := range keys {
		l, err := s.Get(ctx, key)
		switch links.ErrorCode(err) {
		case "":
			if err := ix.put(l); err != nil {
				return err
			}
		case links.NotFound:
			ix.remove(key)
		default:
			return err
		}
	}
	return nil
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

func (ix *Index) put(l links.Link) error {
	t, err := links.ParseTarget(l.URL)
	if err != nil {
		return err
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	old := ix.cur.Load().byKey
	m := make(map[string]*Entry, len(old)+1)
	maps.Copy(m, old)
	m[l.Key] = &Entry{Link: l, Target: t, clicks: ix.counterLocked(l.Key)}
	ix.cur.Store(&Snapshot{byKey: m})
	return nil
}

func (ix *Index) remove(key string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	old := ix.cur.Load().byKey
	if _, ok := old[key]; !ok {
		return
	}
	m := maps.Clone(old)
	delete(m, key)
	ix.cur.Store(&Snapshot{byKey: m})
}

// TakeClicks returns every pending click count and resets the counters.
// Counters of links that are gone are dropped.
func (ix *Index) TakeClicks() []links.Click {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	cur := ix.cur.Load().byKey
	var out []links.Click
	for k, c := range ix.counters {
		if n := c.n.Swap(0); n > 0 {
			out = append(out, links.Click{Key: k, N: n, Last: time.UnixMicro(c.last.Load()).UTC()})
		}
		if _, ok := cur[k]; !ok {
			delete(ix.counters, k)
		}
	}
	return out
}

// ReturnClicks puts back counts that could not be written. Memory stays
// bounded by the number of links: counts add up per link, they never queue.
func (ix *Index) ReturnClicks(cs []links.Click) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for _, c := range cs {
		ctr := ix.counterLocked(c.Key)
		ctr.n.Add(c.N)
		if us := c.Last.UnixMicro(); us > ctr.last.Load() {
			ctr.last.Store(us)
		}
	}
}
