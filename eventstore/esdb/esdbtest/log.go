// The server's memory: the $all log of records, every stream's state, and
// the expected revisions an append or delete is checked against.

package esdbtest

import (
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
)

// record is one event of the log. Records never change once committed.
type record struct {
	id          uuid.UUID
	stream      string
	revision    uint64
	typ         string
	contentType string
	created     int64 // .NET ticks (100 ns) since the Unix epoch
	data        []byte
	meta        []byte
	pos         uint64 // commit and prepare position
}

// streamState is what the server knows about one stream.
type streamState struct {
	events     []*record // every event ever appended; revision = index
	truncated  uint64    // soft delete: revisions below are hidden
	tombstoned bool
}

// last is the stream's current revision, or false without events.
func (s *streamState) last() (uint64, bool) {
	if s == nil || len(s.events) == 0 {
		return 0, false
	}
	return uint64(len(s.events) - 1), true
}

// visible reports whether any event is readable (not soft-deleted).
func (s *streamState) visible() bool {
	return s != nil && uint64(len(s.events)) > s.truncated
}

// expectation is an expected revision from a request.
type expectation struct {
	kind     int // one of expectAny...
	revision uint64
}

const (
	expectAny = iota
	expectNoStream
	expectStreamExists
	expectRevision
)

// legacy is the expected version as the server's exceptions spell it.
func (e expectation) legacy() int64 {
	switch e.kind {
	case expectNoStream:
		return -1
	case expectStreamExists:
		return -4
	case expectRevision:
		return int64(e.revision)
	default:
		return -2
	}
}

// holds reports whether s satisfies e. A soft-deleted stream whose events
// are all hidden counts as having none, as on a real server.
func (e expectation) holds(s *streamState) bool {
	switch e.kind {
	case expectNoStream:
		return !s.visible()
	case expectStreamExists:
		return s.visible()
	case expectRevision:
		last, ok := s.last()
		return ok && last == e.revision
	default:
		return true
	}
}

// store is the Streams service over an in-memory log.
type store struct {
	streams.UnimplementedStreamsServer

	mu      sync.Mutex
	log     []*record // $all, in commit order
	next    uint64    // position of the next record
	streams map[string]*streamState
	wake    chan struct{} // closed and replaced on every commit
}

func newStore() *store {
	s := &store{next: 1 << 10, streams: map[string]*streamState{}, wake: make(chan struct{})}
	// A real $all starts with system events; clients must skip them.
	s.commitLocked([]*record{{
		id: uuid.New(), stream: "$settings", typ: "$update-default-acl",
		contentType: "application/json", data: []byte(`{"$userStreamAcl":{"$r":"$all"}}`),
	}})
	return s
}

// commitLocked gives recs positions and revisions in their streams, adds
// them to the log and wakes subscriptions. recs of a tombstone carry their
// own revision.
func (s *store) commitLocked(recs []*record) {
	now := time.Now().UnixNano() / 100
	for _, r := range recs {
		st := s.streams[r.stream]
		if st == nil {
			st = &streamState{}
			s.streams[r.stream] = st
		}
		if r.typ != "$streamDeleted" {
			r.revision = uint64(len(st.events))
			st.events = append(st.events, r)
		}
		r.created = now
		r.pos = s.next
		// A transaction-file record: header, names, bodies, length suffix.
		s.next += uint64(80 + len(r.stream) + len(r.typ) + len(r.data) + len(r.meta))
		s.log = append(s.log, r)
	}
	close(s.wake)
	s.wake = make(chan struct{})
}
