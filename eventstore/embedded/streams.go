package embedded

import (
	"encoding/binary"
	"hash/maphash"
	"math"
	"unsafe"
)

// streamTable is the index of the streams: each stream's name, the global
// positions of its events and whether it is tombstoned. It keeps no
// pointer per stream (a store holds hundreds of thousands of streams, and
// the garbage collector would visit every one of them in every cycle):
// streams are numbered, found by a hash of their name, their names live
// in a few large chunks and their positions inline or in one shared pool.
//
// Reads may run concurrently with each other; a write excludes both.
type streamTable struct {
	seed maphash.Seed
	// mask is applied to every hash: all ones, except in tests that
	// narrow it to make names collide.
	mask uint32
	// byHash finds a stream by a 32-bit hash of its name (a map of half
	// the size of one with 64-bit keys and values); clash holds the
	// streams whose name hashes like an earlier stream's (some dozens in
	// a million) and those numbered from hashedStreams on.
	byHash        map[uint32]uint32
	clash         map[string]int
	hashedStreams int
	// tombs holds the tombstoned streams.
	tombs   map[int]struct{}
	entries []streamEntry
	// names holds the names, each as a uvarint length and its bytes.
	// Bytes once written are never changed, so strings can alias them.
	names [][]byte
	// pool holds the positions of the streams with more than inlinePositions.
	pool []uint64
}

// noStreamNumber stands for a stream number too large for Store.streamOf,
// which then does not name the stream (readers take it from the record).
const noStreamNumber = math.MaxUint32

// number32 returns id as Store.streamOf holds it.
func number32(id int) uint32 {
	if id >= noStreamNumber {
		return noStreamNumber
	}
	return uint32(id)
}

// inlinePositions is how many positions a stream keeps in its entry.
const inlinePositions = 2

// Name chunks grow with the table, from minNameChunk to maxNameChunk bytes
// (a longer name has a chunk of its own).
const (
	minNameChunk = 4 << 10
	maxNameChunk = 1 << 20
)

// streamEntry is one stream. When n <= inlinePositions, pos holds its
// positions; else pos[0] is where they start in the pool, and pos[1] how
// many fit there.
type streamEntry struct {
	chunk, off uint32 // where the name is: names[chunk][off:]
	n          uint64 // events in the stream
	pos        [inlinePositions]uint64
}

func newStreamTable() *streamTable {
	return &streamTable{
		seed:          maphash.MakeSeed(),
		mask:          ^uint32(0),
		byHash:        map[uint32]uint32{},
		hashedStreams: math.MaxUint32,
		clash:         map[string]int{},
		tombs:         map[int]struct{}{},
	}
}

// find returns the number of the stream named name, or false.
func (t *streamTable) find(name []byte) (int, bool) {
	id, ok := t.byHash[t.hash(name)]
	if ok && t.nameIs(int(id), name) {
		return int(id), true
	}
	if len(t.clash) == 0 {
		return 0, false
	}
	n, ok := t.clash[string(name)]
	return n, ok
}

func (t *streamTable) hash(name []byte) uint32 {
	return uint32(maphash.Bytes(t.seed, name)) & t.mask
}

// findString is find for a name given as a string.
func (t *streamTable) findString(name string) (int, bool) {
	return t.find(unsafe.Slice(unsafe.StringData(name), len(name)))
}

// add adds a stream named name, with no events, and returns its number; it
// must not be in the table.
func (t *streamTable) add(name []byte) int {
	id := len(t.entries)
	need := binary.MaxVarintLen64 + len(name)
	last := len(t.names) - 1
	if last < 0 || cap(t.names[last])-len(t.names[last]) < need {
		size := minNameChunk
		if last >= 0 {
			size = min(maxNameChunk, 2*cap(t.names[last]))
		}
		t.names = append(t.names, make([]byte, 0, max(size, need)))
		last++
	}
	chunk := t.names[last]
	off := len(chunk)
	chunk = binary.AppendUvarint(chunk, uint64(len(name)))
	t.names[last] = append(chunk, name...)
	t.entries = append(t.entries, streamEntry{chunk: uint32(last), off: uint32(off)})
	h := t.hash(name)
	if _, taken := t.byHash[h]; taken || id >= t.hashedStreams {
		t.clash[t.name(id)] = id
	} else {
		t.byHash[h] = uint32(id)
	}
	return id
}

// name returns the name of stream id. The string shares the table's
// memory, which is never changed.
func (t *streamTable) name(id int) string {
	b := t.nameBytes(id)
	return unsafe.String(unsafe.SliceData(b), len(b))
}

func (t *streamTable) nameBytes(id int) []byte {
	e := &t.entries[id]
	b := t.names[e.chunk][e.off:]
	n, k := binary.Uvarint(b)
	return b[k : k+int(n) : k+int(n)]
}

func (t *streamTable) nameIs(id int, name []byte) bool {
	return string(t.nameBytes(id)) == string(name)
}

// count returns how many events stream id has.
func (t *streamTable) count(id int) int64 {
	return int64(t.entries[id].n)
}

// tombstoned reports whether stream id is tombstoned.
func (t *streamTable) tombstoned(id int) bool {
	if len(t.tombs) == 0 {
		return false
	}
	_, ok := t.tombs[id]
	return ok
}

// positions returns the positions of the events of stream id. The slice
// shares the table's memory: it is valid until the next write.
func (t *streamTable) positions(id int) []uint64 {
	e := &t.entries[id]
	if e.n <= inlinePositions {
		return e.pos[:e.n:e.n]
	}
	start := e.pos[0]
	return t.pool[start : start+e.n : start+e.n]
}

// push appends position p to stream id.
func (t *streamTable) push(id int, p uint64) {
	e := &t.entries[id]
	switch {
	case e.n < inlinePositions:
		e.pos[e.n] = p
	case e.n == inlinePositions:
		start := uint64(len(t.pool))
		t.pool = append(t.pool, e.pos[0], e.pos[1], p, 0)
		e.pos = [inlinePositions]uint64{start, 4}
	default:
		start, room := e.pos[0], e.pos[1]
		if e.n == room {
			if start+room == uint64(len(t.pool)) {
				// The last in the pool: it grows in place.
				t.pool = append(t.pool, make([]uint64, room)...)
			} else {
				moved := uint64(len(t.pool))
				t.pool = append(t.pool, t.pool[start:start+room]...)
				t.pool = append(t.pool, make([]uint64, room)...)
				start = moved
			}
			e.pos = [inlinePositions]uint64{start, 2 * room}
		}
		t.pool[start+e.n] = p
	}
	e.n++
}

// compact rewrites the pool without the room that moved or tombstoned
// streams left behind and without room to grow: each stream's positions
// fill their place exactly (the next push moves them to the end).
func (t *streamTable) compact() {
	used := uint64(0)
	for i := range t.entries {
		if n := t.entries[i].n; n > inlinePositions {
			used += n
		}
	}
	pool := make([]uint64, 0, used)
	for i := range t.entries {
		e := &t.entries[i]
		if e.n > inlinePositions {
			start := uint64(len(pool))
			pool = append(pool, t.positions(i)...)
			e.pos = [inlinePositions]uint64{start, e.n}
		}
	}
	t.pool = pool
}

// tombstone marks stream id tombstoned and forgets its positions.
func (t *streamTable) tombstone(id int) {
	t.entries[id].n = 0
	t.entries[id].pos = [inlinePositions]uint64{}
	t.tombs[id] = struct{}{}
}

// len returns how many streams the table holds.
func (t *streamTable) len() int {
	return len(t.entries)
}
