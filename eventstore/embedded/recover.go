package embedded

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
)

// recover scans the log, builds the index and cuts a torn tail.
func (s *Store) recover() error {
	size, err := s.file.Size()
	if err != nil {
		return fmt.Errorf("embedded store: %w", err)
	}
	w := window{r: s.file, size: size}
	var off int64
	for off < size {
		hdr, err := w.at(off, int(min(headerSize, size-off)))
		if err != nil {
			return fmt.Errorf("embedded store: read %s: %w", s.path, err)
		}
		h, zero, herr := parseHeader(hdr)
		if zero {
			// The preallocated end of the log, unless a commit follows:
			// then zeros replaced acknowledged data.
			if next, ok := s.findValidCommit(off, size); ok {
				return &corruptError{s.path, off, fmt.Sprintf("zeros where a commit belongs, and a valid commit follows at byte %d", next)}
			}
			break
		}
		if herr == nil && off+headerSize+int64(h.payloadLen) <= size {
			commit, err := w.at(off, headerSize+int(h.payloadLen))
			if err != nil {
				return fmt.Errorf("embedded store: read %s: %w", s.path, err)
			}
			hdr, payload := commit[:headerSize], commit[headerSize:]
			if herr = checkBatch(h, hdr, payload); herr == nil {
				if h.firstPos != s.committed+1 && h.count > 0 {
					// A commit whose positions do not follow: not a torn tail.
					return &corruptError{s.path, off, fmt.Sprintf("commit starts at position %d, want %d", h.firstPos, s.committed+1)}
				}
				if err := s.indexBatch(off, payload, h.count); err != nil {
					return &corruptError{s.path, off, err.Error()}
				}
				off += headerSize + int64(h.payloadLen)
				continue
			}
		}
		// The commit at off is torn or corrupt. After a crash this is the
		// last thing in the file; if a valid commit follows it, acknowledged
		// data is damaged and must not be cut.
		if next, ok := s.findValidCommit(off+1, size); ok {
			return &corruptError{s.path, off, fmt.Sprintf("a damaged commit is followed by a valid one at byte %d", next)}
		}
		s.cfg.Logger.Warn("embedded store: discarding a torn commit after the last acknowledged one",
			"file", s.path, "offset", off, "bytes", size-off)
		if err := s.cutTail(off); err != nil {
			return fmt.Errorf("embedded store: cut torn tail of %s: %w", s.path, err)
		}
		size = off
		break
	}
	s.end = off
	s.alloc = size
	s.offsets, s.lengths, s.streamOf = trimmed(s.offsets), trimmed(s.lengths), trimmed(s.streamOf)
	s.streams.entries = trimmed(s.streams.entries)
	s.streams.compact()
	return nil
}

// roomFor returns x with room for n more elements. While Open scans the
// log, the index slices double when full (append grows a large slice by a
// quarter, copying it about five times over before it is whole); trimmed
// takes the room left at the end.
func roomFor[T any](x []T, n int) []T {
	if cap(x)-len(x) >= n {
		return x
	}
	return slices.Grow(x, max(n, len(x)))
}

// trimmed returns x, copied without its spare room when that is more than
// an eighth of its length.
func trimmed[T any](x []T) []T {
	if cap(x)-len(x) <= len(x)/8 {
		return x
	}
	return append(make([]T, 0, len(x)), x...)
}

// scanWindow is the size of the reads recover scans the log with.
const scanWindow = 4 << 20

// window serves bytes of the first size bytes of a file from large
// sequential reads.
type window struct {
	r    io.ReaderAt
	size int64
	buf  []byte
	base int64 // where buf starts in the file
}

// at returns the n bytes at off, which must lie within size, reading them
// (and what follows, up to scanWindow) when they are not in the window.
// The bytes are valid until the next call.
func (w *window) at(off int64, n int) ([]byte, error) {
	if off >= w.base && off+int64(n) <= w.base+int64(len(w.buf)) {
		return w.buf[off-w.base:][:n:n], nil
	}
	want := int(min(int64(max(n, scanWindow)), w.size-off))
	if cap(w.buf) < want {
		w.buf = make([]byte, want)
	}
	w.buf = w.buf[:want]
	if _, err := w.r.ReadAt(w.buf, off); err != nil {
		w.buf = w.buf[:0]
		return nil, err
	}
	w.base = off
	return w.buf[:n:n], nil
}

// findValidCommit looks for a complete commit with a valid checksum that
// starts anywhere in [from, size).
func (s *Store) findValidCommit(from, size int64) (int64, bool) {
	const window = 1 << 20
	buf := make([]byte, window+headerSize)
	hdr := make([]byte, headerSize)
	for base := from; base < size; base += window {
		n, _ := s.file.ReadAt(buf, base)
		for i := 0; i+4 <= n; i++ {
			k := bytes.Index(buf[i:n], magicBytes)
			if k < 0 {
				break
			}
			i += k
			off := base + int64(i)
			if _, err := s.file.ReadAt(hdr, off); err != nil {
				continue
			}
			h, _, err := parseHeader(hdr)
			if err != nil || off+headerSize+int64(h.payloadLen) > size {
				continue
			}
			payload := make([]byte, h.payloadLen)
			if _, err := s.file.ReadAt(payload, off+headerSize); err != nil {
				continue
			}
			if checkBatch(h, hdr, payload) == nil {
				return off, true
			}
		}
	}
	return 0, false
}

// cutTail truncates the log at off and syncs, so that the torn bytes cannot
// be mistaken for a commit later. Preallocation extends the file again on
// the next commit.
func (s *Store) cutTail(off int64) error {
	if err := s.file.Truncate(off); err != nil {
		return err
	}
	return s.file.Fdatasync()
}

// indexBatch adds a durable commit at off, whose payload is p, to the index.
func (s *Store) indexBatch(off int64, p []byte, count uint32) error {
	at := off + headerSize
	s.offsets = roomFor(s.offsets, int(count))
	s.lengths = roomFor(s.lengths, int(count))
	s.streamOf = roomFor(s.streamOf, int(count))
	s.streams.entries = roomFor(s.streams.entries, int(count))
	for i := uint32(0); i < count; i++ {
		r, err := parseRecord(p)
		if err != nil {
			return fmt.Errorf("record %d of the commit is malformed", i)
		}
		id, ok := s.streams.find(r.stream)
		if !ok {
			id = s.streams.add(r.stream)
		}
		switch r.kind {
		case recordEvent:
			if n := s.streams.count(id); r.version != n {
				return fmt.Errorf("stream event version %d follows %d", r.version, n-1)
			}
			s.committed++
			s.streams.push(id, s.committed)
			s.offsets = append(s.offsets, at)
			s.lengths = append(s.lengths, uint32(r.size))
			s.streamOf = append(s.streamOf, number32(id))
		case recordTombstone:
			s.streams.tombstone(id)
		}
		at += int64(r.size)
		p = p[r.size:]
	}
	if len(p) != 0 {
		return errors.New("bytes after the last record of the commit")
	}
	return nil
}
