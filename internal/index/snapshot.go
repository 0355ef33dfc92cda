package index

import (
	"hash/maphash"
	"time"
)

// Snapshot is an immutable view of every link: a base hash table (see
// table) that is never changed once published, and an overlay of the
// changes since, in a persistent trie. Publishing a change adds it to the overlay, which
// copies O(log k) trie nodes for an overlay of k changes, instead of
// copying the whole map (O(links), what every write cost before); the
// index folds the overlay into a new base table in the background, at
// most once per foldDelay (a copy of the table, O(links), off the write
// path).
//
// Why not only a trie: a lookup in a flat hash table (a Go map measured
// the same) is 2× faster at 10k links and 5–7× faster at 1M than in the
// trie (fewer dependent memory loads), and lookups are the hot path. An empty overlay costs a
// lookup one comparison; a non-empty one a lookup in a small, cache-warm
// trie (docs/benchmarks.md).
type Snapshot struct {
	base *table
	over trie // removed keys are tombstones: entries without a counter
	len  int
	gen  uint64 // which base: moves on with every fold and Load
}

func newSnapshot(base *table, seed maphash.Seed, gen uint64) *Snapshot {
	return &Snapshot{base: base, over: *newTrie(seed), len: base.n, gen: gen}
}

// Len is the number of links.
func (s *Snapshot) Len() int { return s.len }

func (s *Snapshot) get(key string) *Entry {
	if s.over.len > 0 {
		if e := s.over.get(key); e != nil {
			if e.clicks == nil {
				return nil // removed
			}
			return e
		}
	}
	return s.base.get(key)
}

// with returns a snapshot that maps e.key to e.
func (s *Snapshot) with(e *Entry) *Snapshot {
	n := s.len
	if s.get(e.key) == nil {
		n++
	}
	over, _ := s.over.with(e)
	return &Snapshot{base: s.base, over: *over, len: n, gen: s.gen}
}

// without returns a snapshot without key (s itself when it has no key).
func (s *Snapshot) without(key string) *Snapshot {
	if s.get(key) == nil {
		return s
	}
	var over *trie
	if s.base.get(key) != nil {
		over, _ = s.over.with(&Entry{key: key}) // a tombstone hides the base's entry
	} else {
		over, _ = s.over.without(key)
	}
	return &Snapshot{base: s.base, over: *over, len: s.len - 1, gen: s.gen}
}

// folded returns base (a copy of s.base the caller owns) with s's overlay
// applied, as a snapshot with an empty overlay.
func (s *Snapshot) folded(base *table) *Snapshot {
	s.over.root.each(func(e *Entry) {
		if e.clicks == nil {
			base.del(e.key)
		} else {
			base.set(e)
		}
	})
	return newSnapshot(base, s.over.seed, s.gen+1)
}

// cloneBase copies the base table, with room for the overlay (and for
// what is published while the copy runs): the part of a fold that runs
// without the publish lock.
func (s *Snapshot) cloneBase() *table { return s.base.clone(2 * s.over.len) }

// foldDelay is how long changes wait in the overlay before they are folded
// into the base map: a second for small sets, up to 10 s at a million
// links, so that a fold (a copy of the table: ~18 MB of garbage at 1M)
// runs at most that often however fast writes come.
func foldDelay(links int) time.Duration {
	return min(max(time.Duration(links/100_000)*time.Second, time.Second), 10*time.Second)
}

// foldNow is the overlay size that is folded at once: it bounds what a
// lookup may pay for the overlay.
const foldNow = 4096
