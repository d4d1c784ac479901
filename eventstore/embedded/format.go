package embedded

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"

	"github.com/google/uuid"

	"github.com/aseptsoft/subledger/eventstore"
)

// The log is a sequence of commits. Each commit is one batch, written with
// one write and made durable with one fdatasync:
//
//	header (32 bytes):
//	  magic        uint32  "SLB1"
//	  payloadLen   uint32
//	  crc          uint32  CRC-32C of header[12:32] and the payload
//	  count        uint32  records in the payload
//	  firstPos     uint64  global position of the batch's first event
//	  reserved     uint64
//	payload: records, each
//	  kind         byte    recordEvent or recordTombstone
//	  bodyLen      uvarint
//	  body
//
// An event body is: version uvarint, recorded (UnixNano) 8 bytes, stream
// (uvarint length + bytes), id (16 bytes), type, data and metadata (each
// uvarint length + bytes). A tombstone body is the stream name. Events take
// consecutive global positions from firstPos; tombstones take none.
//
// Past the last commit the file holds zeros (space preallocated so that
// fdatasync need not update the file size) or, after a crash, a torn commit.
const (
	headerSize      = 32
	magic           = 0x53_4c_42_31 // "SLB1"
	recordEvent     = 1
	recordTombstone = 2
	// maxRecordBody bounds one event so that a corrupt length is caught
	// before a huge allocation.
	maxRecordBody = 64 << 20
)

// magicBytes is magic as it appears in the file.
var magicBytes = []byte{0x31, 0x42, 0x4c, 0x53}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errTorn means the bytes at an offset are not a complete, valid commit.
var errTorn = errors.New("torn or corrupt commit")

type header struct {
	payloadLen uint32
	crc        uint32
	count      uint32
	firstPos   uint64
}

func putHeader(b []byte, h header) {
	binary.LittleEndian.PutUint32(b[0:], magic)
	binary.LittleEndian.PutUint32(b[4:], h.payloadLen)
	binary.LittleEndian.PutUint32(b[12:], h.count)
	binary.LittleEndian.PutUint64(b[16:], h.firstPos)
	binary.LittleEndian.PutUint64(b[24:], 0)
}

// sealBatch fills in the header of a batch whose payload follows it in b.
func sealBatch(b []byte, count uint32, firstPos uint64) {
	putHeader(b, header{payloadLen: uint32(len(b) - headerSize), count: count, firstPos: firstPos})
	c := crc32.Update(0, castagnoli, b[12:])
	binary.LittleEndian.PutUint32(b[8:], c)
}

// parseHeader reads a header; zero reports an all-zero header (the
// preallocated end of the log).
func parseHeader(b []byte) (h header, zero bool, err error) {
	if len(b) < headerSize {
		return h, false, errTorn
	}
	m := binary.LittleEndian.Uint32(b[0:])
	if m == 0 {
		for _, c := range b[:headerSize] {
			if c != 0 {
				return h, false, errTorn
			}
		}
		return h, true, nil
	}
	if m != magic {
		return h, false, errTorn
	}
	h.payloadLen = binary.LittleEndian.Uint32(b[4:])
	h.crc = binary.LittleEndian.Uint32(b[8:])
	h.count = binary.LittleEndian.Uint32(b[12:])
	h.firstPos = binary.LittleEndian.Uint64(b[16:])
	return h, false, nil
}

func checkBatch(h header, hdr, payload []byte) error {
	c := crc32.Update(0, castagnoli, hdr[12:headerSize])
	c = crc32.Update(c, castagnoli, payload)
	if c != h.crc {
		return errTorn
	}
	return nil
}

func appendUvarintBytes(b []byte, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendUvarintString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendEventRecord encodes one event record onto b.
func appendEventRecord(b []byte, stream string, version int64, recorded time.Time, e *eventstore.EventData, id uuid.UUID) []byte {
	bodyLen := uvarintLen(uint64(version)) + 8 +
		uvarintLen(uint64(len(stream))) + len(stream) + 16 +
		uvarintLen(uint64(len(e.Type))) + len(e.Type) +
		uvarintLen(uint64(len(e.Data))) + len(e.Data) +
		uvarintLen(uint64(len(e.Metadata))) + len(e.Metadata)
	b = append(b, recordEvent)
	b = binary.AppendUvarint(b, uint64(bodyLen))
	b = binary.AppendUvarint(b, uint64(version))
	b = binary.LittleEndian.AppendUint64(b, uint64(recorded.UnixNano()))
	b = appendUvarintString(b, stream)
	b = append(b, id[:]...)
	b = appendUvarintString(b, e.Type)
	b = appendUvarintBytes(b, e.Data)
	return appendUvarintBytes(b, e.Metadata)
}

func appendTombstoneRecord(b []byte, stream string) []byte {
	b = append(b, recordTombstone)
	b = binary.AppendUvarint(b, uint64(uvarintLen(uint64(len(stream)))+len(stream)))
	return appendUvarintString(b, stream)
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// record is one parsed record; byte slices alias the buffer it came from.
type record struct {
	kind     byte
	version  int64
	recorded int64
	stream   []byte
	id       [16]byte
	typ      []byte
	data     []byte
	meta     []byte
	size     int // bytes of the whole record, kind and length included
}

// parseRecord parses the record at the start of b.
func parseRecord(b []byte) (record, error) {
	var r record
	if len(b) < 2 {
		return r, errTorn
	}
	r.kind = b[0]
	bodyLen, n := binary.Uvarint(b[1:])
	if n <= 0 || bodyLen > maxRecordBody || uint64(len(b)-1-n) < bodyLen {
		return r, errTorn
	}
	r.size = 1 + n + int(bodyLen)
	body := b[1+n : r.size]
	var err error
	switch r.kind {
	case recordTombstone:
		r.stream, _, err = takeBytes(body)
		return r, err
	case recordEvent:
	default:
		return r, errTorn
	}
	v, n := binary.Uvarint(body)
	if n <= 0 || len(body) < n+8 {
		return r, errTorn
	}
	r.version = int64(v)
	r.recorded = int64(binary.LittleEndian.Uint64(body[n:]))
	body = body[n+8:]
	if r.stream, body, err = takeBytes(body); err != nil {
		return r, err
	}
	if len(body) < 16 {
		return r, errTorn
	}
	copy(r.id[:], body)
	body = body[16:]
	if r.typ, body, err = takeBytes(body); err != nil {
		return r, err
	}
	if r.data, body, err = takeBytes(body); err != nil {
		return r, err
	}
	if r.meta, body, err = takeBytes(body); err != nil {
		return r, err
	}
	if len(body) != 0 {
		return r, errTorn
	}
	return r, nil
}

func takeBytes(b []byte) (v, rest []byte, err error) {
	l, n := binary.Uvarint(b)
	if n <= 0 || uint64(len(b)-n) < l {
		return nil, nil, errTorn
	}
	end := n + int(l)
	return b[n:end:end], b[end:], nil
}

// corruptError names the file and the damage found in it.
type corruptError struct {
	file   string
	offset int64
	what   string
}

func (e *corruptError) Error() string {
	return fmt.Sprintf("embedded store: %s is corrupt at byte %d: %s; acknowledged commits follow the damage, so the store refuses to open rather than cut them (restore the file from a backup)", e.file, e.offset, e.what)
}
