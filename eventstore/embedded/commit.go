package embedded

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/aseptsoft/subledger/eventstore"
)

// appendReq is one append (or tombstone) waiting for its commit.
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
	id         int  // its number in the index,
	indexed    bool // when it is there
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
			if id, ok := s.streams.findString(req.stream); ok {
				ps.id, ps.indexed = id, true
				ps.version = s.streams.count(id) - 1
				ps.tombstoned = s.streams.tombstoned(id)
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
		s.streamOf = append(s.streamOf, make([]uint32, len(places))...)
		for name, ps := range pending {
			if len(ps.added) == 0 && !ps.tombstoned {
				continue
			}
			id := ps.id
			if !ps.indexed {
				id = s.streams.add([]byte(name))
			}
			for _, p := range ps.added {
				s.streamOf[p-1] = number32(id)
			}
			if ps.tombstoned {
				s.streams.tombstone(id)
				continue
			}
			for _, p := range ps.added {
				s.streams.push(id, p)
			}
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
