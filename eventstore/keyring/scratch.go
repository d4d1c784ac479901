package keyring

import (
	"crypto/sha256"
	"hash"
)

// The buffers that core pools for unwrapping keys and computing bindings
// hold subject ids and wrapped keys, and a pool keeps what it holds until
// a garbage collection, which may be long after the subject's Forget: each
// is wiped before it goes back to its pool.

// macState is one pooled MAC computation. Its buffer held subject ids, and
// its hash the tail of what it read, so wipe runs before every Put.
type macState struct {
	h   hash.Hash
	buf []byte
	sum [sha256.Size]byte
}

// wipe clears the buffer and resets the hash, which leaves it as fresh as
// a new one (its state after the key alone).
func (m *macState) wipe() {
	clear(m.buf[:cap(m.buf)])
	m.buf = m.buf[:0]
	m.h.Reset()
}

// unwrapScratch holds the buffers of one unwrapKey, reused through
// core.scratch. Every buffer is wiped before it goes back: the additional
// data names the subject, and the wrapped key must not outlive a Forget.
type unwrapScratch struct {
	aad, wrapped, key []byte
}

// wipe clears every byte the buffers of s can hold and empties them.
func (s *unwrapScratch) wipe() {
	clear(s.aad[:cap(s.aad)])
	clear(s.wrapped[:cap(s.wrapped)])
	clear(s.key[:cap(s.key)])
	s.aad, s.wrapped, s.key = s.aad[:0], s.wrapped[:0], s.key[:0]
}

// putScratch wipes s and returns it to the pool.
func (c *core) putScratch(s *unwrapScratch) {
	s.wipe()
	c.scratch.Put(s)
}
