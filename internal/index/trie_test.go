package index

import (
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"testing"
)

// The trie against a plain map, under random puts and removes, with the
// hash cut down so that keys share long prefixes and collide outright;
// every older snapshot must keep its contents.
func TestTrieMatchesMap(t *testing.T) {
	for _, tc := range []struct {
		name string
		mask uint64
		keys int
	}{
		{"full hash", ^uint64(0), 5000},
		{"12-bit hash", 0xfff, 3000},
		{"2-bit hash: collision nodes", 0x3, 200},
		{"no hash: one collision node", 0, 50},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			s := &trie{root: &node{}, seed: maphash.MakeSeed(), mask: tc.mask}
			want := map[string]*Entry{}
			type saved struct {
				s    *trie
				want map[string]*Entry
			}
			var history []saved
			for op := 0; op < 4*tc.keys; op++ {
				key := fmt.Sprintf("k%d", rng.IntN(tc.keys))
				if rng.IntN(3) == 0 {
					next, old := s.without(key)
					if (old != nil) != (want[key] != nil) || (old != nil && old != want[key]) {
						t.Fatalf("without(%s) removed %v, want %v", key, old, want[key])
					}
					if old == nil && next != s {
						t.Fatalf("without(%s) of an absent key copied the snapshot", key)
					}
					delete(want, key)
					s = next
				} else {
					e := &Entry{key: key}
					next, old := s.with(e)
					if old != want[key] {
						t.Fatalf("with(%s) replaced %v, want %v", key, old, want[key])
					}
					want[key] = e
					s = next
				}
				if op%(tc.keys/2) == 0 {
					history = append(history, saved{s, clone(want)})
				}
			}
			history = append(history, saved{s, want})
			for i, h := range history {
				check(t, fmt.Sprint("snapshot ", i), h.s, h.want, tc.keys)
			}
			// In-place building (Load) ends at the same contents.
			b := s.empty()
			for _, e := range want {
				b.set(e)
			}
			b.root.compact()
			check(t, "built", b, want, tc.keys)
			// Removing everything leaves an empty, shallow root.
			for k := range want {
				s, _ = s.without(k)
			}
			if s.len != 0 || len(s.root.entries) != 0 || len(s.root.nodes) != 0 {
				t.Fatalf("after removing every key: len %d, root %d entries %d nodes", s.len, len(s.root.entries), len(s.root.nodes))
			}
		})
	}
}

func clone(m map[string]*Entry) map[string]*Entry {
	c := make(map[string]*Entry, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func check(t *testing.T, what string, s *trie, want map[string]*Entry, keys int) {
	t.Helper()
	if s.len != len(want) {
		t.Fatalf("%s: Len %d, want %d", what, s.len, len(want))
	}
	n := 0
	s.root.each(func(e *Entry) {
		n++
		if want[e.key] != e {
			t.Fatalf("%s: holds %s, which it should not", what, e.key)
		}
	})
	if n != len(want) {
		t.Fatalf("%s: %d entries, want %d", what, n, len(want))
	}
	for i := 0; i < keys; i++ {
		k := fmt.Sprintf("k%d", i)
		if got := s.get(k); got != want[k] {
			t.Fatalf("%s: get(%s) = %v, want %v", what, k, got, want[k])
		}
	}
}
