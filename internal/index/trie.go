package index

import (
	"hash/maphash"
	"math/bits"
)

// trie is a persistent hash trie (CHAMP: a hash array mapped trie whose
// nodes keep entries and sub-nodes in two compressed arrays): the overlay
// of a Snapshot. Changing one key copies only the nodes on its path
// (about log64(n)), and every older trie stays valid for the readers that
// hold it. A lookup hashes the key once and follows at most that many
// nodes, without a lock and without allocating.
//
// Nodes are never changed once a trie that contains them is published;
// only set, on a trie not yet published, changes them in place.
type trie struct {
	root *node
	len  int
	seed maphash.Seed
	mask uint64 // all ones; tests clear bits to force shared prefixes and collisions
}

const (
	fanBits  = 6
	fanout   = 1 << fanBits
	fanMask  = fanout - 1
	maxShift = 64 // past the hash's 64 bits: a collision node
)

type node struct {
	dataMap, nodeMap uint64   // which of the 64 slots hold an entry, which a sub-node
	entries          []*Entry // in slot order; in a collision node, all of them
	nodes            []*node  // in slot order
}

func newTrie(seed maphash.Seed) *trie {
	return &trie{root: &node{}, seed: seed, mask: ^uint64(0)}
}

// empty returns an empty trie with t's hashing.
func (t *trie) empty() *trie { return &trie{root: &node{}, seed: t.seed, mask: t.mask} }

func (t *trie) hash(key string) uint64 { return maphash.String(t.seed, key) & t.mask }

// index is the position of slot bit among the set bits of m.
func index(m, bit uint64) int { return bits.OnesCount64(m & (bit - 1)) }

func (t *trie) get(key string) *Entry {
	h := t.hash(key)
	n := t.root
	for shift := uint(0); shift < maxShift; shift += fanBits {
		bit := uint64(1) << ((h >> shift) & fanMask)
		if n.dataMap&bit != 0 {
			if e := n.entries[index(n.dataMap, bit)]; e.key == key {
				return e
			}
			return nil
		}
		if n.nodeMap&bit == 0 {
			return nil
		}
		n = n.nodes[index(n.nodeMap, bit)]
	}
	for _, e := range n.entries { // collision node
		if e.key == key {
			return e
		}
	}
	return nil
}

// with returns a trie that maps e.key to e, and the entry it replaced.
func (t *trie) with(e *Entry) (*trie, *Entry) {
	root, old := t.root.with(e, t.hash(e.key), 0, t.hash, false)
	n := t.len
	if old == nil {
		n++
	}
	return &trie{root: root, len: n, seed: t.seed, mask: t.mask}, old
}

// without returns a trie without key, and the entry it removed (nil, and t
// itself, when there was none).
func (t *trie) without(key string) (*trie, *Entry) {
	root, old := t.root.without(key, t.hash(key), 0)
	if old == nil {
		return t, nil
	}
	return &trie{root: root, len: t.len - 1, seed: t.seed, mask: t.mask}, old
}

// set adds or replaces e in place: only for a trie not yet published.
func (t *trie) set(e *Entry) *Entry {
	root, old := t.root.with(e, t.hash(e.key), 0, t.hash, true)
	t.root = root
	if old == nil {
		t.len++
	}
	return old
}

// with returns n with e added at the slot its hash selects at shift. In
// place (a trie under construction) it changes n instead of copying it.
func (n *node) with(e *Entry, h uint64, shift uint, hash func(string) uint64, inPlace bool) (*node, *Entry) {
	c := n
	if !inPlace {
		c = n.clone()
	}
	if shift >= maxShift {
		for i, x := range c.entries {
			if x.key == e.key {
				c.entries[i] = e
				return c, x
			}
		}
		c.entries = append(c.entries, e)
		return c, nil
	}
	bit := uint64(1) << ((h >> shift) & fanMask)
	switch {
	case c.dataMap&bit != 0:
		i := index(c.dataMap, bit)
		x := c.entries[i]
		if x.key == e.key {
			c.entries[i] = e
			return c, x
		}
		// Two keys share this slot: both move into a new sub-node.
		sub := &node{}
		sub, _ = sub.with(x, hash(x.key), shift+fanBits, hash, true)
		sub, _ = sub.with(e, h, shift+fanBits, hash, true)
		c.entries = remove(c.entries, i)
		c.dataMap &^= bit
		c.nodeMap |= bit
		c.nodes = insert(c.nodes, index(c.nodeMap, bit), sub)
		return c, nil
	case c.nodeMap&bit != 0:
		i := index(c.nodeMap, bit)
		sub, old := c.nodes[i].with(e, h, shift+fanBits, hash, inPlace)
		c.nodes[i] = sub
		return c, old
	default:
		c.dataMap |= bit
		c.entries = insert(c.entries, index(c.dataMap, bit), e)
		return c, nil
	}
}

// without returns n without key (n itself and nil when key is absent). A
// sub-node left with one entry and no sub-nodes is folded into its
// parent, so that the trie stays as shallow as its keys need.
func (n *node) without(key string, h uint64, shift uint) (*node, *Entry) {
	if shift >= maxShift {
		for i, x := range n.entries {
			if x.key == key {
				c := n.clone()
				c.entries = remove(c.entries, i)
				return c, x
			}
		}
		return n, nil
	}
	bit := uint64(1) << ((h >> shift) & fanMask)
	switch {
	case n.dataMap&bit != 0:
		i := index(n.dataMap, bit)
		x := n.entries[i]
		if x.key != key {
			return n, nil
		}
		c := n.clone()
		c.entries = remove(c.entries, i)
		c.dataMap &^= bit
		return c, x
	case n.nodeMap&bit != 0:
		i := index(n.nodeMap, bit)
		sub, old := n.nodes[i].without(key, h, shift+fanBits)
		if old == nil {
			return n, nil
		}
		c := n.clone()
		if sub.nodeMap == 0 && len(sub.entries) == 1 && shift+fanBits < maxShift {
			// Pull the lone entry up into this slot.
			c.nodes = remove(c.nodes, i)
			c.nodeMap &^= bit
			c.dataMap |= bit
			c.entries = insert(c.entries, index(c.dataMap, bit), sub.entries[0])
		} else if sub.nodeMap == 0 && len(sub.entries) == 0 {
			c.nodes = remove(c.nodes, i)
			c.nodeMap &^= bit
		} else {
			c.nodes[i] = sub
		}
		return c, old
	}
	return n, nil
}

func (n *node) clone() *node {
	return &node{dataMap: n.dataMap, nodeMap: n.nodeMap,
		entries: append([]*Entry(nil), n.entries...), nodes: append([]*node(nil), n.nodes...)}
}

// compact trims every node's arrays to their length: the builder appends,
// which leaves spare capacity that a published trie would carry forever.
func (n *node) compact() {
	if cap(n.entries) > len(n.entries) {
		n.entries = append([]*Entry(nil), n.entries...)
	}
	if cap(n.nodes) > len(n.nodes) {
		n.nodes = append([]*node(nil), n.nodes...)
	}
	for _, c := range n.nodes {
		c.compact()
	}
}

// each calls fn for every entry, in no particular order.
func (n *node) each(fn func(*Entry)) {
	for _, e := range n.entries {
		fn(e)
	}
	for _, c := range n.nodes {
		c.each(fn)
	}
}

// insert returns s with v at i, in a new array when s has no room.
func insert[T any](s []T, i int, v T) []T {
	var zero T
	s = append(s, zero)
	copy(s[i+1:], s[i:])
	s[i] = v
	return s
}

func remove[T any](s []T, i int) []T {
	copy(s[i:], s[i+1:])
	var zero T
	s[len(s)-1] = zero
	return s[:len(s)-1]
}
