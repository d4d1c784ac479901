// Package embedded is the default event store: one append-only log file in a
// data directory, written by a single committer that groups every append
// pending at that moment into one write and one fdatasync (group commit).
// An append is acknowledged, and becomes visible to readers and
// subscribers, only after its commit is durable. Global positions are dense:
// 1, 2, 3, ...
//
// The index (the file offset of every global position and the versions of
// every stream) lives in memory and is rebuilt by scanning the log at Open,
// which also discards a torn commit at the end of the log, left by a crash
// before it was acknowledged. Damage anywhere before the last commit makes
// Open fail with an error that names the file and the offset.
//
// Every write, sync, preallocation, truncation and lock goes through a
// small file-system interface (fs.go): the OS in use, and in the power-loss
// test a strict in-memory file system that knows on its own what is durable.
package embedded

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/aseptsoft/subledger/eventstore"
)

// LogFile is the name of the log inside the data directory.
const LogFile = "events.log"

const (
	lockFile      = "events.lock"
	preallocChunk = 64 << 20
	// maxBatchBytes bounds one commit; appends beyond it wait for the next.
	maxBatchBytes = 8 << 20
	// maxEventBytes bounds one event's data and metadata together.
	maxEventBytes = 16 << 20
	readChunk     = 8192
)

// Config tunes the store. The zero value is ready to use.
type Config struct {
	// Now is the clock that stamps recorded times; time.Now by default.
	Now func() time.Time
	// Logger receives warnings (a discarded torn tail); slog.Default by default.
	Logger *slog.Logger
	// NoPrealloc turns off preallocation of the log file (for measuring).
	NoPrealloc bool

	// fs, in tests, replaces the OS file system (osFS).
	fs fileSystem
	// prealloc, in tests, replaces the preallocation step preallocChunk.
	prealloc int64
}

type streamIndex struct {
	name       string // interned, shared by every event read of the stream
	positions  []uint64
	tombstoned bool
}

// Store is the embedded event store. It is safe for concurrent use.
type Store struct {
	cfg  Config
	path string
	file file
	lock file

	mu        sync.RWMutex
	offsets   []int64  // offsets[p-1]: where the record of position p starts
	lengths   []uint32 // lengths[p-1]: its size
	streams   map[string]*streamIndex
	committed uint64        // last durable position
	notify    chan struct{} // closed and replaced on every commit
	failed    error         // set when a write or sync failed: no more appends

	queue    chan *appendReq
	closing  chan struct{}
	done     chan struct{}
	closeMu  sync.Once
	end      int64 // committer only: where the next commit goes
	alloc    int64 // committer only: bytes preallocated
	batchBuf []byte

	scratch sync.Pool // *readScratch, for readLocs
}

type appendReq struct {
	stream    string
	expected  eventstore.ExpectedVersion
	events    []eventstore.EventData
	ids       []uuid.UUID
	tombstone bool
	res       eventstore.AppendResult
	err       error
	done      chan struct{}
}

// Open opens (creating when needed) the store in dir.
func Open(dir string, cfg Config) (*Store, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.fs == nil {
		cfg.fs = osFS{}
	}
	if cfg.prealloc <= 0 {
		cfg.prealloc = preallocChunk
	}
	created, err := cfg.fs.MkdirAll(dir)
	if err != nil {
		return nil, fmt.Errorf("embedded store: %w", err)
	}
	// A directory made here exists after a crash only once its parent is
	// synced.
	for _, d := range created {
		if err := cfg.fs.SyncDir(filepath.Dir(d)); err != nil {
			return nil, fmt.Errorf("embedded store: %w", err)
		}
	}
	lock, err := cfg.fs.OpenFile(filepath.Join(dir, lockFile), true)
	if err != nil {
		return nil, fmt.Errorf("embedded store: %w", err)
	}
	if err := lock.Lock(); err != nil {
		lock.Close()
		return nil, fmt.Errorf("embedded store: %s is in use by another process (is another subledger serve running on this data directory?): %w", dir, err)
	}
	path := filepath.Join(dir, LogFile)
	f, err := cfg.fs.OpenFile(path, true)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("embedded store: %w", err)
	}
	s := &Store{
		cfg:     cfg,
		path:    path,
		file:    f,
		lock:    lock,
		streams: map[string]*streamIndex{},
		notify:  make(chan struct{}),
		queue:   make(chan *appendReq, 1024),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
	if err := s.recover(); err != nil {
		f.Close()
		lock.Close()
		return nil, err
	}
	// The log's name is durable before any commit is acknowledged.
	if err := cfg.fs.SyncDir(dir); err != nil {
		f.Close()
		lock.Close()
		return nil, fmt.Errorf("embedded store: %w", err)
	}
	go s.commitLoop()
	return s, nil
}

// recover scans the log, builds the index and cuts a torn tail.
func (s *Store) recover() error {
	size, err := s.file.Size()
	if err != nil {
		return fmt.Errorf("embedded store: %w", err)
	}
	r := io.NewSectionReader(s.file, 0, size)
	var (
		off int64
		hdr = make([]byte, headerSize)
		buf []byte
	)
	for off < size {
		if _, err := r.ReadAt(hdr, off); err != nil && !(errors.Is(err, io.EOF) && size-off < headerSize) {
			return fmt.Errorf("embedded store: read %s: %w", s.path, err)
		}
		h, zero, herr := parseHeader(hdr[:min(int64(headerSize), size-off)])
		if zero {
			// The preallocated end of the log, unless a commit follows:
			// then zeros replaced acknowledged data.
			if next, ok := s.findValidCommit(off, size); ok {
				return &corruptError{s.path, off, fmt.Sprintf("zeros where a commit belongs, and a valid commit follows at byte %d", next)}
			}
			break
		}
		if herr == nil && off+headerSize+int64(h.payloadLen) <= size {
			if cap(buf) < int(h.payloadLen) {
				buf = make([]byte, h.payloadLen)
			}
			buf = buf[:h.payloadLen]
			if _, err := r.ReadAt(buf, off+headerSize); err != nil {
				return fmt.Errorf("embedded store: read %s: %w", s.path, err)
			}
			if herr = checkBatch(h, hdr, buf); herr == nil {
				if h.firstPos != s.committed+1 && h.count > 0 {
					// A commit whose positions do not follow: not a torn tail.
					return &corruptError{s.path, off, fmt.Sprintf("commit starts at position %d, want %d", h.firstPos, s.committed+1)}
				}
				if err := s.indexBatch(off, buf, h.count); err != nil {
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
	return nil
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
	for i := uint32(0); i < count; i++ {
		r, err := parseRecord(p)
		if err != nil {
			return fmt.Errorf("record %d of the commit is malformed", i)
		}
		switch r.kind {
		case recordEvent:
			st := s.streams[string(r.stream)]
			if st == nil {
				st = &streamIndex{name: string(r.stream)}
				s.streams[st.name] = st
			}
			if r.version != int64(len(st.positions)) {
				return fmt.Errorf("stream event version %d follows %d", r.version, len(st.positions)-1)
			}
			s.committed++
			st.positions = append(st.positions, s.committed)
			s.offsets = append(s.offsets, at)
			s.lengths = append(s.lengths, uint32(r.size))
		case recordTombstone:
			st := s.streams[string(r.stream)]
			if st == nil {
				st = &streamIndex{name: string(r.stream)}
				s.streams[st.name] = st
			}
			st.tombstoned = true
			st.positions = nil
		}
		at += int64(r.size)
		p = p[r.size:]
	}
	if len(p) != 0 {
		return errors.New("bytes after the last record of the commit")
	}
	return nil
}

// Append implements eventstore.Store.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	if err := eventstore.ValidateAppend(stream, events); err != nil {
		return eventstore.AppendResult{}, err
	}
	ids := make([]uuid.UUID, len(events))
	size := 0
	for i, e := range events {
		ids[i] = uuid.MustParse(e.ID) // validated above
		if len(e.Data)+len(e.Metadata) > maxEventBytes {
			return eventstore.AppendResult{}, fmt.Errorf("%w: event %d is larger than %d bytes", eventstore.ErrInvalid, i, maxEventBytes)
		}
		size += len(e.Data) + len(e.Metadata) + len(e.Type) + len(stream) + 64
	}
	if size > maxBatchBytes {
		return eventstore.AppendResult{}, fmt.Errorf("%w: append of %d bytes is larger than one commit (%d)", eventstore.ErrInvalid, size, maxBatchBytes)
	}
	req := &appendReq{stream: stream, expected: expected, events: events, ids: ids, done: make(chan struct{})}
	return req.res, s.submit(ctx, req)
}

// Tombstone implements eventstore.Store.
func (s *Store) Tombstone(ctx context.Context, stream string, expected eventstore.ExpectedVersion) error {
	if stream == "" {
		return fmt.Errorf("%w: empty stream name", eventstore.ErrInvalid)
	}
	return s.submit(ctx, &appendReq{stream: stream, expected: expected, tombstone: true, done: make(chan struct{})})
}

func (s *Store) submit(ctx context.Context, req *appendReq) error {
	select {
	case <-s.closing:
		return eventstore.ErrClosed
	default:
	}
	select {
	case s.queue <- req:
	case <-s.closing:
		return eventstore.ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued, the request is decided and answered by the committer; a
	// caller that stops waiting does not know the outcome, as with any store.
	select {
	case <-req.done:
		return req.err
	case <-s.done:
		// The committer stopped; a request queued after its last look at
		// the queue is never answered by it.
		select {
		case <-req.done:
			return req.err
		default:
			return eventstore.ErrClosed
		}
	case <-ctx.Done():
		return ctx.Err()
	}
}

// commitLoop is the single committer: it takes every request pending, decides
// each against the stream versions, writes them as one commit, syncs, then
// publishes and answers.
func (s *Store) commitLoop() {
	defer close(s.done)
	var batch []*appendReq
	for {
		batch = batch[:0]
		select {
		case req := <-s.queue:
			batch = append(batch, req)
		case <-s.closing:
			s.drainClosed()
			return
		}
		size := 0
	drain:
		for size < maxBatchBytes {
			select {
			case req := <-s.queue:
				batch = append(batch, req)
				for _, e := range req.events {
					size += len(e.Data) + len(e.Metadata) + 64
				}
			default:
				break drain
			}
		}
		s.commit(batch)
	}
}

func (s *Store) drainClosed() {
	for {
		select {
		case req := <-s.queue:
			req.err = eventstore.ErrClosed
			close(req.done)
		default:
			return
		}
	}
}

// pendingStream is a stream's state as seen by the batch being built.
type pendingStream struct {
	version    int64
	tombstoned bool
	added      []uint64
}

func (s *Store) commit(batch []*appendReq) {
	if s.failed != nil {
		for _, req := range batch {
			req.err = s.failed
			close(req.done)
		}
		return
	}
	now := s.cfg.Now()
	buf := append(s.batchBuf[:0], make([]byte, headerSize)...)
	firstPos := s.committed + 1
	pos := s.committed
	var count uint32
	pending := map[string]*pendingStream{}
	type placed struct{ off, length int }
	var places []placed
	var accepted []*appendReq
	for _, req := range batch {
		ps := pending[req.stream]
		if ps == nil {
			ps = &pendingStream{version: eventstore.NoStreamVersion}
			if st := s.streams[req.stream]; st != nil {
				ps.version = int64(len(st.positions)) - 1
				ps.tombstoned = st.tombstoned
			}
			pending[req.stream] = ps
		}
		switch {
		case ps.tombstoned:
			req.err = fmt.Errorf("%w: %q", eventstore.ErrStreamDeleted, req.stream)
			continue
		case !req.expected.Check(ps.version):
			req.err = fmt.Errorf("%w: %q is at version %d, expected %v", eventstore.ErrConflict, req.stream, ps.version, req.expected)
			continue
		}
		if req.tombstone {
			buf = appendTombstoneRecord(buf, req.stream)
			count++
			ps.tombstoned = true
			accepted = append(accepted, req)
			continue
		}
		for i := range req.events {
			ps.version++
			pos++
			start := len(buf)
			buf = appendEventRecord(buf, req.stream, ps.version, now, &req.events[i], req.ids[i])
			places = append(places, placed{start, len(buf) - start})
			ps.added = append(ps.added, pos)
			count++
		}
		req.res = eventstore.AppendResult{Version: ps.version, Position: pos}
		accepted = append(accepted, req)
	}
	if count > 0 {
		sealBatch(buf, count, firstPos)
		if err := s.write(buf); err != nil {
			s.failed = fmt.Errorf("embedded store: write to %s failed, no more appends until restart: %w", s.path, err)
			s.cfg.Logger.Error("embedded store: commit failed", "file", s.path, "err", err)
			for _, req := range accepted {
				req.err = s.failed
			}
			accepted = nil
		}
	}
	s.batchBuf = buf
	if len(accepted) > 0 {
		base := s.end - int64(len(buf))
		s.mu.Lock()
		for _, p := range places {
			s.offsets = append(s.offsets, base+int64(p.off))
			s.lengths = append(s.lengths, uint32(p.length))
		}
		for name, ps := range pending {
			if len(ps.added) == 0 && !ps.tombstoned {
				continue
			}
			st := s.streams[name]
			if st == nil {
				st = &streamIndex{name: name}
				s.streams[name] = st
			}
			if ps.tombstoned {
				st.tombstoned = true
				st.positions = nil
				continue
			}
			st.positions = append(st.positions, ps.added...)
		}
		s.committed = pos
		close(s.notify)
		s.notify = make(chan struct{})
		s.mu.Unlock()
	}
	for _, req := range batch {
		close(req.done)
	}
}

// write appends buf at the end of the log and makes it durable.
func (s *Store) write(buf []byte) error {
	need := s.end + int64(len(buf))
	if !s.cfg.NoPrealloc && need > s.alloc {
		grow := max(s.cfg.prealloc, need-s.alloc)
		if err := s.file.Fallocate(s.alloc, grow); err == nil {
			s.alloc += grow
		}
	}
	if _, err := s.file.WriteAt(buf, s.end); err != nil {
		return err
	}
	if err := s.file.Fdatasync(); err != nil {
		return err
	}
	s.end = need
	s.alloc = max(s.alloc, need)
	return nil
}

// ReadStream implements eventstore.Store.
func (s *Store) ReadStream(ctx context.Context, stream string, from int64, max int) ([]eventstore.Event, error) {
	if err := s.readable(ctx); err != nil {
		return nil, err
	}
	if from < 0 || max <= 0 {
		return nil, fmt.Errorf("%w: read of %q from version %d, max %d", eventstore.ErrInvalid, stream, from, max)
	}
	s.mu.RLock()
	st := s.streams[stream]
	if st == nil || from >= int64(len(st.positions)) {
		tomb := st != nil && st.tombstoned
		s.mu.RUnlock()
		if tomb {
			return nil, fmt.Errorf("%w: %q", eventstore.ErrStreamDeleted, stream)
		}
		return nil, nil
	}
	end := min(int64(len(st.positions)), from+int64(max))
	positions := st.positions[from:end:end]
	locs := make([]loc, len(positions))
	for i, p := range positions {
		locs[i] = loc{s.offsets[p-1], s.lengths[p-1], p}
	}
	name := st.name
	s.mu.RUnlock()
	return s.readLocs(locs, name, nil)
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
}

// maxReadGap is the most bytes between two records that readLocs reads
// through (and drops) to read both at once: the headers of the commits
// between them, and tombstones.
const maxReadGap = 4096

// readLocs reads the given records, coalescing records near each other in
// the file (neighbours, or records of consecutive commits) into one read.
// The events of one read share its buffer (their data and metadata) and
// one string holding their ids and, for the global order, their stream
// names: two allocations per read rather than two per event, and keeping
// any part of one event keeps that memory.
func (s *Store) readLocs(locs []loc, stream string, mem *readMem) ([]eventstore.Event, error) {
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
			if err != nil || r.kind != recordEvent {
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
			if stream == "" {
				e.Stream, all = all[:lens[k]], all[lens[k]:]
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
	clear(m.evs[:cap(m.evs)])
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
	b = hex.AppendEncode(b, id[0:4])
	b = append(b, '-')
	b = hex.AppendEncode(b, id[4:6])
	b = append(b, '-')
	b = hex.AppendEncode(b, id[6:8])
	b = append(b, '-')
	b = hex.AppendEncode(b, id[8:10])
	b = append(b, '-')
	return hex.AppendEncode(b, id[10:])
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
	locs := make([]loc, 0, last-after)
	for p := after + 1; p <= last; p++ {
		locs = append(locs, loc{s.offsets[p-1], s.lengths[p-1], p})
	}
	s.mu.RUnlock()
	return s.readLocs(locs, "", mem)
}

// SubscribeAll implements eventstore.Store.
func (s *Store) SubscribeAll(ctx context.Context, after uint64) (eventstore.Subscription, error) {
	select {
	case <-s.closing:
		return nil, eventstore.ErrClosed
	default:
	}
	return &subscription{s: s, after: after, closed: make(chan struct{})}, nil
}

type subscription struct {
	s      *Store
	after  uint64
	once   sync.Once
	closed chan struct{}

	last  *readMem // the memory of the events Next returned last
	spare *readMem // last, once released: the next Next reads into it
}

// Next implements eventstore.Subscription.
func (sub *subscription) Next(ctx context.Context) ([]eventstore.Event, error) {
	for {
		select {
		case <-sub.closed:
			return nil, eventstore.ErrClosed
		case <-sub.s.closing:
			return nil, eventstore.ErrClosed
		default:
		}
		sub.s.mu.RLock()
		committed, notify := sub.s.committed, sub.s.notify
		sub.s.mu.RUnlock()
		if committed > sub.after {
			mem := sub.spare
			if mem == nil {
				mem = new(readMem)
			}
			mem.used = 0
			sub.spare, sub.last = nil, mem
			evs, err := sub.s.readAll(ctx, sub.after, readChunk, mem)
			if err != nil {
				return nil, err
			}
			sub.after = evs[len(evs)-1].Position
			return evs, nil
		}
		select {
		case <-notify:
		case <-sub.closed:
			return nil, eventstore.ErrClosed
		case <-sub.s.closing:
			return nil, eventstore.ErrClosed
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Release tells the subscription that the events its last Next returned
// are no longer used, not even their strings or byte slices: the next Next
// reads into their memory rather than allocating anew. A subscriber that
// keeps any part of an event must not call it.
func (sub *subscription) Release() {
	sub.spare, sub.last = sub.last, nil
}

// Close implements eventstore.Subscription.
func (sub *subscription) Close() error {
	sub.once.Do(func() { close(sub.closed) })
	return nil
}

// Position returns the last durable global position.
func (s *Store) Position() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.committed
}

// Close stops the committer after the commit in progress, answers queued
// appends with ErrClosed, and releases the files.
func (s *Store) Close() error {
	var err error
	s.closeMu.Do(func() {
		close(s.closing)
		<-s.done
		err = errors.Join(s.file.Close(), s.lock.Close())
	})
	return err
}
