package embedded

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aseptsoft/subledger/eventstore"
)

// ReadStream implements eventstore.Store.
func (s *Store) ReadStream(ctx context.Context, stream string, from int64, max int) ([]eventstore.Event, error) {
	if err := s.readable(ctx); err != nil {
		return nil, err
	}
	if from < 0 || max <= 0 {
		return nil, fmt.Errorf("%w: read of %q from version %d, max %d", eventstore.ErrInvalid, stream, from, max)
	}
	s.mu.RLock()
	id, ok := s.streams.findString(stream)
	if !ok || from >= s.streams.count(id) {
		tomb := ok && s.streams.tombstoned(id)
		s.mu.RUnlock()
		if tomb {
			return nil, fmt.Errorf("%w: %q", eventstore.ErrStreamDeleted, stream)
		}
		return nil, nil
	}
	all := s.streams.positions(id)
	positions := all[from:min(int64(len(all)), from+int64(max))]
	locs := make([]loc, len(positions))
	name := s.streams.name(id)
	for i, p := range positions {
		locs[i] = loc{s.offsets[p-1], s.lengths[p-1], p, name}
	}
	s.mu.RUnlock()
	return s.readLocs(locs, nil)
}

// readable is ctx's error, or ErrClosed once Close has begun.
func (s *Store) readable(ctx context.Context) error {
	select {
	case <-s.closing:
		return eventstore.ErrClosed
	default:
		return ctx.Err()
	}
}

type loc struct {
	off    int64
	length uint32
	pos    uint64
	// stream is the name of the event's stream, shared with the index;
	// empty when the index has no number for it (see Store.streamOf),
	// then it is read from the record.
	stream string
}

// maxReadGap is the most bytes between two records that readLocs reads
// through (and drops) to read both at once: the headers of the commits
// between them, and tombstones.
const maxReadGap = 4096

// readLocs reads the given records, coalescing records near each other in
// the file (neighbours, or records of consecutive commits) into one read.
// The events of one read share its buffer (their data and metadata) and
// one string holding their ids (and any stream name not in locs): two
// allocations per read rather than two per event, and keeping any part of
// one event keeps that memory. A record whose stream is not the one locs
// names is unreadable.
func (s *Store) readLocs(locs []loc, mem *readMem) ([]eventstore.Event, error) {
	out := mem.events(len(locs))
	types := map[string]string{}
	sc, _ := s.scratch.Get().(*readScratch)
	if sc == nil {
		sc = new(readScratch)
	}
	defer s.scratch.Put(sc)
	for i := 0; i < len(locs); {
		j := i + 1
		for j < len(locs) {
			end := locs[j-1].off + int64(locs[j-1].length)
			if locs[j].off < end || locs[j].off-end > maxReadGap {
				break
			}
			j++
		}
		start, stop := locs[i].off, locs[j-1].off+int64(locs[j-1].length)
		buf := mem.bytes(stop - start)
		if _, err := s.file.ReadAt(buf, start); err != nil {
			if errors.Is(err, os.ErrClosed) {
				return nil, eventstore.ErrClosed
			}
			return nil, fmt.Errorf("embedded store: read %s: %w", s.path, err)
		}
		// Parse once; the ids and stream names are gathered in scratch
		// and become one string.
		first := len(out)
		text, lens := sc.text[:0], sc.lens[:0]
		for k := i; k < j; k++ {
			at := locs[k].off - start
			r, err := parseRecord(buf[at : at+int64(locs[k].length)])
			stream := locs[k].stream
			if err != nil || r.kind != recordEvent || stream != "" && stream != string(r.stream) {
				return nil, fmt.Errorf("embedded store: %s: record of position %d is unreadable", s.path, locs[k].pos)
			}
			text = appendUUID(text, r.id)
			if stream == "" {
				text = append(text, r.stream...)
				lens = append(lens, len(r.stream))
			}
			typ, ok := types[string(r.typ)]
			if !ok {
				typ = string(r.typ)
				types[typ] = typ
			}
			out = append(out, eventstore.Event{
				Type:     typ,
				Stream:   stream,
				Version:  r.version,
				Position: locs[k].pos,
				Recorded: time.Unix(0, r.recorded).UTC(),
				Data:     r.data,
				Metadata: r.meta,
			})
		}
		sc.text, sc.lens = text, lens
		all := string(text)
		for k := range out[first:] {
			e := &out[first+k]
			e.ID, all = all[:uuidLen], all[uuidLen:]
			if e.Stream == "" {
				e.Stream, all = all[:lens[0]], all[lens[0]:]
				lens = lens[1:]
			}
		}
		i = j
	}
	return out, nil
}

// readMem is memory for the events of reads, reused by a subscription
// once the subscriber releases them.
type readMem struct {
	evs  []eventstore.Event
	buf  []byte
	used int // bytes of buf taken
	loc  []loc
}

// locs returns an empty slice for n locations, m's when it is large
// enough. A nil m allocates.
func (m *readMem) locs(n int) []loc {
	if m == nil {
		return make([]loc, 0, n)
	}
	if cap(m.loc) < n {
		m.loc = make([]loc, 0, n)
	}
	return m.loc[:0]
}

// events returns an empty slice for n events: m's when it is large
// enough, else a new one (which m keeps). A nil m allocates.
func (m *readMem) events(n int) []eventstore.Event {
	if m == nil {
		return make([]eventstore.Event, 0, n)
	}
	if cap(m.evs) < n {
		m.evs = make([]eventstore.Event, 0, n)
	}
	// The n events read are written whole; what lies beyond them would
	// keep earlier reads' memory.
	clear(m.evs[n:cap(m.evs)])
	return m.evs[:0]
}

// bytes returns n bytes for a read: the rest of m's buffer when they fit,
// else a new buffer (which m keeps, with room for a somewhat larger read).
// A nil m allocates.
func (m *readMem) bytes(n int64) []byte {
	if m == nil {
		return make([]byte, n)
	}
	if int64(len(m.buf)-m.used) < n {
		m.buf, m.used = make([]byte, n+n/8), 0
	}
	b := m.buf[m.used : m.used+int(n) : m.used+int(n)]
	m.used += int(n)
	return b
}

// readScratch is readLocs's reusable memory.
type readScratch struct {
	text []byte // event ids and stream names
	lens []int  // stream name lengths
}

// uuidLen is the length of a UUID's text form.
const uuidLen = 36

// appendUUID appends id in its text form, as uuid.UUID.String has it.
func appendUUID(b []byte, id [16]byte) []byte {
	const digits = "0123456789abcdef"
	var t [uuidLen]byte
	j := 0
	for i, c := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			t[j] = '-'
			j++
		}
		t[j], t[j+1] = digits[c>>4], digits[c&0x0f]
		j += 2
	}
	return append(b, t[:]...)
}

// ReadAll implements eventstore.Store.
func (s *Store) ReadAll(ctx context.Context, after uint64, max int) ([]eventstore.Event, error) {
	return s.readAll(ctx, after, max, nil)
}

// readAll is ReadAll, reading into mem when it is not nil.
func (s *Store) readAll(ctx context.Context, after uint64, max int, mem *readMem) ([]eventstore.Event, error) {
	if err := s.readable(ctx); err != nil {
		return nil, err
	}
	if max <= 0 {
		return nil, fmt.Errorf("%w: read all with max %d", eventstore.ErrInvalid, max)
	}
	s.mu.RLock()
	committed := s.committed
	if after >= committed {
		s.mu.RUnlock()
		return nil, nil
	}
	last := min(committed, after+uint64(max))
	locs := mem.locs(int(last - after))
	for p := after + 1; p <= last; p++ {
		var name string
		if id := s.streamOf[p-1]; id != noStreamNumber {
			name = s.streams.name(int(id))
		}
		locs = append(locs, loc{s.offsets[p-1], s.lengths[p-1], p, name})
	}
	s.mu.RUnlock()
	return s.readLocs(locs, mem)
}
