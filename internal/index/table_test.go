package index

import (
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"testing"
)

// The base table against a Go map: random sets, deletes, clones and
// growth on small tables (crowded probe chains that wrap around the end),
// checking every key after every step and the linear-probing invariant:
// no empty slot between an entry's home and the entry.
func TestTableAgainstAMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		tb := newTable(maphash.MakeSeed(), rng.IntN(12))
		model := map[string]*Entry{}
		keys := make([]string, 2+rng.IntN(40))
		for i := range keys {
			keys[i] = fmt.Sprintf("k%d-%d", round, i)
		}
		for step := range 300 {
			k := keys[rng.IntN(len(keys))]
			switch op := rng.IntN(10); {
			case op < 5:
				e := &Entry{key: k, clicks: &counter{}}
				tb.set(e)
				model[k] = e
			case op < 9:
				tb.del(k)
				delete(model, k)
			default:
				c := tb.clone(rng.IntN(4))
				c.set(&Entry{key: "only-in-the-clone", clicks: &counter{}})
				if tb.get("only-in-the-clone") != nil {
					t.Fatal("a clone's change reached the original")
				}
				c.del("only-in-the-clone")
				tb = c
			}
			if tb.n != len(model) {
				t.Fatalf("round %d step %d: n = %d, want %d", round, step, tb.n, len(model))
			}
			for _, k := range keys {
				if got := tb.get(k); got != model[k] {
					t.Fatalf("round %d step %d: get(%q) = %v, want %v", round, step, k, got, model[k])
				}
			}
			for i, tg := range tb.tags {
				if tg == 0 {
					continue
				}
				for j := tb.home(tb.hash(tb.slots[i].key)); j != i; j = tb.next(j) {
					if tb.tags[j] == 0 {
						t.Fatalf("round %d step %d: hole at %d before %q at %d", round, step, j, tb.slots[i].key, i)
					}
				}
			}
		}
		n := 0
		tb.each(func(*Entry) { n++ })
		if n != len(model) {
			t.Fatalf("each visited %d, want %d", n, len(model))
		}
	}
}
