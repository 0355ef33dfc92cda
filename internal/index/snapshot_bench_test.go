package index

import (
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"testing"
)

// BenchmarkGet compares the trie's lookup with a plain Go map of the same
// entries (the structure the index used before: every write copied it).
//
//	go test -run XXX -bench 'Get$' -benchmem ./internal/index/
func BenchmarkGet(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		keys := make([]string, n)
		m := make(map[string]*Entry, n)
		s := &trie{root: &node{}, seed: maphash.MakeSeed(), mask: ^uint64(0)}
		for i := range keys {
			keys[i] = fmt.Sprintf("link%07d", i)
			e := &Entry{key: keys[i]}
			m[keys[i]] = e
			s.set(e)
		}
		s.root.compact()
		probe := make([]string, 4096)
		for i := range probe {
			probe[i] = keys[rand.IntN(n)]
		}
		b.Run(fmt.Sprintf("map/%d", n), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if m[probe[i%len(probe)]] == nil {
					b.Fatal("missing")
				}
			}
		})
		b.Run(fmt.Sprintf("trie/%d", n), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if s.get(probe[i%len(probe)]) == nil {
					b.Fatal("missing")
				}
			}
		})
	}
}
