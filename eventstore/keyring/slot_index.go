package keyring

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"hash/maphash"
	"unsafe"
)

// The in-memory index of a FileRing's slots keeps one fixed-size record per
// slot in one byte slice, the subject ids back to back in another, and an
// open-addressing hash table of record numbers: no pointers for the garbage
// collector to follow and no allocation per slot. A record is the slot's
// fixed fields exactly as the file holds them (offState up to offSubject),
// then the offset of its subject id in names and the slot's index in the
// file.
const (
	recName  = offSubject   // uint32: where the subject id starts in names
	recIndex = recName + 4  // uint32: the slot's index in the file
	recSize  = recIndex + 4 // 110 bytes
)

// slotIndex maps subject ids to the records of their slots. Callers
// serialize it (FileRing.imu).
type slotIndex struct {
	seed maphash.Seed
	// mask is applied to every hash: all ones, except in tests that
	// narrow it to make subjects collide. Set it only while the index is
	// empty.
	mask  uint64
	table []uint64 // high 32 bits of the subject's hash << 32 | record number + 1; 0 is free
	recs  []byte
	names []byte
	n     int
}

func newSlotIndex(capacity int) *slotIndex {
	x := &slotIndex{
		seed:  maphash.MakeSeed(),
		mask:  ^uint64(0),
		recs:  make([]byte, 0, capacity*recSize),
		names: make([]byte, 0, capacity*36),
	}
	x.table = make([]uint64, tableSize(capacity))
	return x
}

// tableSize is a power of two at least twice n, so that the table stays at
// most half full.
func tableSize(n int) int {
	size := 64
	for size < 2*n {
		size *= 2
	}
	return size
}

// rec returns record i; it changes with the index.
func (x *slotIndex) rec(i int) []byte { return x.recs[i*recSize : (i+1)*recSize] }

// name returns the subject id of record i.
func (x *slotIndex) name(i int) []byte {
	r := x.rec(i)
	off := binary.LittleEndian.Uint32(r[recName:])
	return x.names[off : off+uint32(r[offSubjLen])]
}

// fileIndex returns the index in the file of record i's slot.
func (x *slotIndex) fileIndex(i int) int { return int(binary.LittleEndian.Uint32(x.rec(i)[recIndex:])) }

// state returns the state of record i's slot.
func (x *slotIndex) state(i int) byte { return x.recs[i*recSize+offState] }

// lookup returns the record number of subject, -1 when it has no slot.
func (x *slotIndex) lookup(subject string) int {
	return x.lookupBytes(unsafe.Slice(unsafe.StringData(subject), len(subject)))
}

// lookupBytes is lookup for a subject id in bytes, which it does not keep.
func (x *slotIndex) lookupBytes(subject []byte) int {
	h := maphash.Bytes(x.seed, subject) & x.mask
	mask := uint64(len(x.table) - 1)
	for p := h & mask; ; p = (p + 1) & mask {
		e := x.table[p]
		if e == 0 {
			return -1
		}
		if i := int(uint32(e)) - 1; e>>32 == h>>32 && bytes.Equal(x.name(i), subject) {
			return i
		}
	}
}

// add records the slot image p (a valid slot, whose subject has no record
// yet), kept at index in the file, and returns its record number.
func (x *slotIndex) add(p []byte, index int) int {
	if len(x.recs)+recSize > cap(x.recs) {
		// Grow by hand, so that the old records, wrapped keys among them,
		// are wiped rather than left to the garbage collector.
		recs := make([]byte, len(x.recs), 2*cap(x.recs)+16*recSize)
		copy(recs, x.recs)
		clear(x.recs[:cap(x.recs)])
		x.recs = recs
	}
	i := x.n
	x.recs = x.recs[:len(x.recs)+recSize]
	r := x.rec(i)
	copy(r, p[:offSubject])
	binary.LittleEndian.PutUint32(r[recName:], uint32(len(x.names)))
	binary.LittleEndian.PutUint32(r[recIndex:], uint32(index))
	x.names = append(x.names, p[offSubject:offSubject+int(p[offSubjLen])]...)
	x.n++
	if 2*x.n > len(x.table) {
		x.table = make([]uint64, 2*len(x.table))
		for j := range x.n {
			x.insert(j)
		}
	} else {
		x.insert(i)
	}
	return i
}

// insert puts record i into the table.
func (x *slotIndex) insert(i int) {
	h := maphash.Bytes(x.seed, x.name(i)) & x.mask
	mask := uint64(len(x.table) - 1)
	p := h & mask
	for x.table[p] != 0 {
		p = (p + 1) & mask
	}
	x.table[p] = h>>32<<32 | uint64(i+1)
}

// update replaces record i's fixed fields by those of the slot image p,
// which overwrites its wrapped key in memory as p does in the file.
func (x *slotIndex) update(i int, p []byte) { copy(x.rec(i)[:offSubject], p[:offSubject]) }

// image writes record i's slot as the file holds it into p, without the
// checksum.
func (x *slotIndex) image(p []byte, i int) {
	clear(p)
	copy(p, x.rec(i)[:offSubject])
	copy(p[offSubject:], x.name(i))
}

// keyID returns record i's key id and fingerprint in hex, both empty for a
// tombstone of a subject forgotten before it ever had a key.
func (x *slotIndex) keyID(i int) (keyID, fp string) {
	r := x.rec(i)
	if r[offState] != slotLive && binary.LittleEndian.Uint64(r[offCreated:]) == 0 {
		return "", ""
	}
	return hex.EncodeToString(r[offKeyID : offKeyID+keyIDBytes]), hex.EncodeToString(r[offFP : offFP+fpBytes])
}
