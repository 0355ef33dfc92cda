package index

import (
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"testing"
)

// BenchmarkGet compares lookups in a plain Go map (what the index used
// before, copying it on every write), in the base table alone, in the
// persistent trie alone, and in a Snapshot (the table as its base) with an
// empty overlay and with 256 changes in its overlay: the evidence for the
// Snapshot's design. Each reads the entry it found, as a redirect does.
//
//	go test -run XXX -bench 'Get$' -benchmem ./internal/index/
func BenchmarkGet(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		keys := make([]string, n)
		m := make(map[string]*Entry, n)
		seed := maphash.MakeSeed()
		tb := newTable(seed, n)
		s := &trie{root: &node{}, seed: seed, mask: ^uint64(0)}
		for i := range keys {
			keys[i] = fmt.Sprintf("link%07d", i)
			e := &Entry{key: keys[i], clicks: &counter{}}
			m[keys[i]] = e
			tb.set(e)
			s.set(e)
		}
		s.root.compact()
		probe := make([]string, 4096)
		for i := range probe {
			probe[i] = keys[rand.IntN(n)]
		}
		b.Run(fmt.Sprintf("map/%d", n), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if e := m[probe[i%len(probe)]]; e == nil || e.clicks == nil {
					b.Fatal("missing")
				}
			}
		})
		b.Run(fmt.Sprintf("table/%d", n), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if e := tb.get(probe[i%len(probe)]); e == nil || e.clicks == nil {
					b.Fatal("missing")
				}
			}
		})
		b.Run(fmt.Sprintf("trie/%d", n), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if e := s.get(probe[i%len(probe)]); e == nil || e.clicks == nil {
					b.Fatal("missing")
				}
			}
		})
		snap := newSnapshot(tb, seed, 0)
		b.Run(fmt.Sprintf("snapshot/%d", n), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if e := snap.get(probe[i%len(probe)]); e == nil || e.clicks == nil {
					b.Fatal("missing")
				}
			}
		})
		changed := snap
		for i := 0; i < 256; i++ {
			changed = changed.with(&Entry{key: keys[rand.IntN(n)], clicks: &counter{}})
		}
		b.Run(fmt.Sprintf("snapshot+256/%d", n), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if e := changed.get(probe[i%len(probe)]); e == nil || e.clicks == nil {
					b.Fatal("missing")
				}
			}
		})
	}
}
