package repository

import (
	"container/list"
	"context"
	"sync"

	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/eventstore/keyring"
)

// The event cache keeps the decoded events of recently loaded streams, so
// that loading an aggregate reads and decodes only the events appended
// since (a command on a long-lived account no longer decodes its whole
// history). A load always reads the stream's tail from the store, so a
// cached stream is never stale, on one replica or several.
//
// Decoded events hold plaintext personal data, in memory only. An entry
// remembers the data keys its personal events were decrypted with; a load
// that finds any of them forgotten (erased here, or on another replica, as
// the ring learns from the ledger) drops the entry and decodes the stream
// anew, so that erased data never comes back from the cache.

// DefaultCacheEvents is the number of decoded events the cache holds when
// WithCache is given zero.
const DefaultCacheEvents = 100_000

type keyRef struct{ subject, keyID string }

type cacheEntry struct {
	stream  string
	events  []domain.Event
	version int64
	keys    map[keyRef]struct{}
	elem    *list.Element
}

type eventCache struct {
	ring keyring.Ring
	max  int

	mu      sync.Mutex
	n       int
	entries map[string]*cacheEntry
	lru     *list.List // front: most recently used
}

// WithCache returns r with a cache of up to maxEvents decoded events
// (DefaultCacheEvents when zero); ring is the key ring the codec decrypts
// with, asked at every hit whether the entry's keys still exist.
func (r *Repository) WithCache(ring keyring.Ring, maxEvents int) *Repository {
	if maxEvents <= 0 {
		maxEvents = DefaultCacheEvents
	}
	c := *r
	c.cache = &eventCache{ring: ring, max: maxEvents, entries: map[string]*cacheEntry{}, lru: list.New()}
	return &c
}

// get returns the cached events of stream (a slice not to be changed), its
// version and the keys its personal events need.
func (c *eventCache) get(stream string) ([]domain.Event, int64, []keyRef, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[stream]
	if e == nil {
		return nil, 0, nil, false
	}
	c.lru.MoveToFront(e.elem)
	keys := make([]keyRef, 0, len(e.keys))
	for k := range e.keys {
		keys = append(keys, k)
	}
	return e.events[:len(e.events):len(e.events)], e.version, keys, true
}

// alive reports whether every key is still held by the ring.
func (c *eventCache) alive(ctx context.Context, keys []keyRef) bool {
	for _, k := range keys {
		if _, err := c.ring.Key(ctx, k.subject, k.keyID); err != nil {
			return false
		}
	}
	return true
}

// put stores the events of stream up to version, unless the cache already
// holds a later version; it evicts the least recently used streams over
// the bound.
func (c *eventCache) put(stream string, events []domain.Event, version int64, keys map[keyRef]struct{}) {
	if len(events) > c.max/4 {
		return // one huge stream must not flush everything else
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[stream]; e != nil {
		if e.version > version {
			return
		}
		c.n -= len(e.events)
		c.lru.Remove(e.elem)
		delete(c.entries, stream)
	}
	e := &cacheEntry{stream: stream, events: events, version: version, keys: keys}
	e.elem = c.lru.PushFront(e)
	c.entries[stream] = e
	c.n += len(events)
	for c.n > c.max {
		old := c.lru.Back().Value.(*cacheEntry)
		c.lru.Remove(old.elem)
		delete(c.entries, old.stream)
		c.n -= len(old.events)
	}
}

// drop forgets stream.
func (c *eventCache) drop(stream string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[stream]; e != nil {
		c.lru.Remove(e.elem)
		delete(c.entries, stream)
		c.n -= len(e.events)
	}
}
