package keyring

import (
	"hash/maphash"
	"sync/atomic"
)

// cacheWays is the number of keys a set of the cache holds.
const cacheWays = 8

// keyCache holds at most max unwrapped keys, by subject. It is set
// associative: a subject's hash picks one set of cacheWays places, and the
// key can live only there. Within a set it evicts with the CLOCK algorithm:
// a hit sets the entry's reference bit, and a put into a full set moves
// the set's hand over its places, clearing set bits, until it finds one
// without. Nothing ever walks or rehashes an index, so a put costs the
// same in a full cache as in an empty one. The caller (core) serializes
// put, remove and reset under its write lock; get needs only the read
// lock, as it changes nothing but a reference bit.
type keyCache struct {
	seed maphash.Seed
	// mask is applied to every hash: all ones, except in tests that
	// narrow it to make subjects collide. Set it only while the cache is
	// empty.
	mask  uint64
	ways  int
	sets  uint64
	ents  []cacheEntry // set s is ents[s*ways : (s+1)*ways]
	hands []uint8      // the CLOCK hand of each set
	n     int
}

// cacheEntry is one place of the cache; k is nil when the place is free.
type cacheEntry struct {
	hash uint64
	k    *DataKey
	ref  atomic.Bool
}

func newKeyCache(max int) *keyCache {
	ways := min(cacheWays, max)
	sets := max / ways
	return &keyCache{
		seed:  maphash.MakeSeed(),
		mask:  ^uint64(0),
		ways:  ways,
		sets:  uint64(sets),
		ents:  make([]cacheEntry, sets*ways),
		hands: make([]uint8, sets),
	}
}

// set returns subject's hash and the index of its set.
func (c *keyCache) set(subject string) (uint64, int) {
	h := maphash.String(c.seed, subject) & c.mask
	return h, int(h % c.sets)
}

// find returns subject's entry in set s, nil when it is not cached.
func (c *keyCache) find(h uint64, s int, subject string) *cacheEntry {
	set := c.ents[s*c.ways : (s+1)*c.ways]
	for i := range set {
		if e := &set[i]; e.hash == h && e.k != nil && e.k.subject == subject {
			return e
		}
	}
	return nil
}

// get returns subject's cached key, nil when it is not cached.
func (c *keyCache) get(subject string) *DataKey {
	h, s := c.set(subject)
	e := c.find(h, s, subject)
	if e == nil {
		return nil
	}
	if !e.ref.Load() {
		e.ref.Store(true)
	}
	return e.k
}

// put caches k, replacing a cached key of its subject, and evicts a key of
// the subject's set when the set is full.
func (c *keyCache) put(k *DataKey) {
	h, s := c.set(k.subject)
	if e := c.find(h, s, k.subject); e != nil {
		e.k = k
		return
	}
	set := c.ents[s*c.ways : (s+1)*c.ways]
	for i := range set {
		if e := &set[i]; e.k == nil {
			e.hash, e.k = h, k
			c.n++
			return
		}
	}
	// At most two turns: the first clears every bit it passes.
	hand := int(c.hands[s])
	for set[hand].ref.Load() {
		set[hand].ref.Store(false)
		hand = (hand + 1) % c.ways
	}
	e := &set[hand]
	e.hash, e.k = h, k
	c.hands[s] = uint8((hand + 1) % c.ways)
}

// remove drops subject's key; its place is free for the next put.
func (c *keyCache) remove(subject string) {
	h, s := c.set(subject)
	if e := c.find(h, s, subject); e != nil {
		e.hash, e.k = 0, nil
		e.ref.Store(false)
		c.n--
	}
}

// reset drops every key.
func (c *keyCache) reset() {
	for i := range c.ents {
		e := &c.ents[i]
		e.hash, e.k = 0, nil
		e.ref.Store(false)
	}
	clear(c.hands)
	c.n = 0
}

// len returns the number of cached keys.
func (c *keyCache) len() int { return c.n }
