package index

import (
	"hash/maphash"
	"math/bits"
)

// table is the base of a Snapshot: an open-addressing hash table of
// entries (linear probing), with one tag byte per slot (0: empty, else
// some bits of the key's hash) so that a probe rarely reads an entry that
// is not the one sought. It holds a pointer per slot where a Go map holds
// the key's string header and the pointer in groups kept at most 7/8 full
// and sized to a power of two: at a million links ~18 MB instead of ~52
// MB, and a fold copies that much less (docs/benchmarks.md).
//
// A published table is never changed: set and del are for one that is
// being built (a load, a fold's copy), which only its builder sees.
type table struct {
	seed  maphash.Seed
	tags  []uint8
	slots []*Entry
	n     int
}

// maxLoad is the share of slots a table fills at most. At 1/2 a probe
// reads 1.5 tags on average; 4/5 measured 20% slower lookups for 7 MB
// less at a million links.
const maxLoadNum, maxLoadDen = 1, 2

// newTable returns an empty table with room for capacity entries.
func newTable(seed maphash.Seed, capacity int) *table {
	size := max(8, capacity*maxLoadDen/maxLoadNum+1)
	return &table{seed: seed, tags: make([]uint8, size), slots: make([]*Entry, size)}
}

func (t *table) hash(key string) uint64 { return maphash.String(t.seed, key) }

// home is the slot a hash starts probing at (the high bits pick it) and
// tag the byte kept for it (from the low bits, never 0).
func (t *table) home(h uint64) int {
	hi, _ := bits.Mul64(h, uint64(len(t.slots)))
	return int(hi)
}

func tag(h uint64) uint8 { return uint8(h) | 0x80 }

func (t *table) get(key string) *Entry {
	if t.n == 0 {
		return nil
	}
	h := t.hash(key)
	tg := tag(h)
	for i := t.home(h); ; {
		switch t.tags[i] {
		case 0:
			return nil
		case tg:
			if e := t.slots[i]; e.key == key {
				return e
			}
		}
		if i++; i == len(t.slots) {
			i = 0
		}
	}
}

// set adds or replaces e (a table being built only). It grows the table
// when it would pass maxLoad, so that a probe always ends at an empty slot.
func (t *table) set(e *Entry) {
	if (t.n+1)*maxLoadDen > len(t.slots)*maxLoadNum {
		t.grow(2 * t.n)
	}
	h := t.hash(e.key)
	tg := tag(h)
	for i := t.home(h); ; {
		switch t.tags[i] {
		case 0:
			t.tags[i], t.slots[i] = tg, e
			t.n++
			return
		case tg:
			if t.slots[i].key == e.key {
				t.slots[i] = e
				return
			}
		}
		if i++; i == len(t.slots) {
			i = 0
		}
	}
}

// del removes key (a table being built only), moving back the entries
// after it that probed past its slot: no tombstones.
func (t *table) del(key string) {
	if t.n == 0 {
		return
	}
	h := t.hash(key)
	tg := tag(h)
	i := t.home(h)
	for ; ; i = t.next(i) {
		if t.tags[i] == 0 {
			return
		}
		if t.tags[i] == tg && t.slots[i].key == key {
			break
		}
	}
	t.n--
	// i is the hole. An entry further on may fill it if its home does not
	// lie cyclically after the hole and at or before the entry.
	for j := t.next(i); t.tags[j] != 0; j = t.next(j) {
		k := t.home(t.hash(t.slots[j].key))
		if (i <= j && (k <= i || k > j)) || (i > j && k <= i && k > j) {
			t.tags[i], t.slots[i] = t.tags[j], t.slots[j]
			i = j
		}
	}
	t.tags[i], t.slots[i] = 0, nil
}

func (t *table) next(i int) int {
	if i++; i == len(t.slots) {
		return 0
	}
	return i
}

// grow rebuilds t with room for capacity entries.
func (t *table) grow(capacity int) {
	g := newTable(t.seed, capacity)
	t.each(g.set)
	*t = *g
}

// clone returns a copy of t that the caller may change, with room for
// extra more entries.
func (t *table) clone(extra int) *table {
	if (t.n+extra)*maxLoadDen > len(t.slots)*maxLoadNum {
		c := newTable(t.seed, t.n+extra)
		t.each(c.set)
		return c
	}
	return &table{seed: t.seed, tags: append([]uint8(nil), t.tags...), slots: append([]*Entry(nil), t.slots...), n: t.n}
}

// each calls fn for every entry, in no particular order.
func (t *table) each(fn func(*Entry)) {
	for i, tg := range t.tags {
		if tg != 0 {
			fn(t.slots[i])
		}
	}
}
