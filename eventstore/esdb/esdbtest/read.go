// Read of a stream or of $all, and the catch-up subscriptions.

package esdbtest

import (
	"context"
	"encoding/binary"
	"fmt"
	"sort"
	"strconv"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Read serves stream and $all reads and subscriptions.
func (s *store) Read(req *streams.ReadReq, srv streams.Streams_ReadServer) error {
	o := req.GetOptions()
	if o == nil {
		return status.Error(codes.InvalidArgument, "read without options")
	}
	if _, ok := o.GetFilterOption().(*streams.ReadReq_Options_Filter); ok {
		return status.Error(codes.Unimplemented, "esdbtest: server-side filters are not implemented")
	}
	w := writer{srv: srv, asString: o.GetUuidOption().GetString_() != nil}
	backwards := o.GetReadDirection() == streams.ReadReq_Options_Backwards
	_, subscribe := o.GetCountOption().(*streams.ReadReq_Options_Subscription)
	if subscribe && backwards {
		return status.Error(codes.InvalidArgument, "a subscription reads forwards")
	}
	switch so := o.GetStreamOption().(type) {
	case *streams.ReadReq_Options_Stream:
		if subscribe {
			return s.subscribeStream(srv.Context(), so.Stream, w)
		}
		return s.readStream(so.Stream, backwards, o.GetCount(), w)
	case *streams.ReadReq_Options_All:
		if subscribe {
			return s.subscribeAll(srv.Context(), so.All, w)
		}
		return s.readAll(so.All, backwards, o.GetCount(), w)
	default:
		return status.Error(codes.InvalidArgument, "read without a stream or $all")
	}
}

func (s *store) readStream(o *streams.ReadReq_Options_StreamOptions, backwards bool, count uint64, w writer) error {
	name := string(o.GetStreamIdentifier().GetStreamName())
	s.mu.Lock()
	st := s.streams[name]
	if st != nil && st.tombstoned {
		s.mu.Unlock()
		w.srv.SetTrailer(streamDeletedTrailer(name))
		return streamDeletedError(name)
	}
	if !st.visible() {
		s.mu.Unlock()
		return w.srv.Send(&streams.ReadResp{Content: &streams.ReadResp_StreamNotFound_{
			StreamNotFound: &streams.ReadResp_StreamNotFound{StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(name)}},
		}})
	}
	lo, hi := st.truncated, uint64(len(st.events)) // visible revisions [lo, hi)
	var out []*record
	if backwards {
		from := hi - 1
		if r, ok := o.GetRevisionOption().(*streams.ReadReq_Options_StreamOptions_Revision); ok && r.Revision < from {
			from = r.Revision
		}
		if _, ok := o.GetRevisionOption().(*streams.ReadReq_Options_StreamOptions_Start); ok {
			from = lo
		}
		for rev := from; rev >= lo && rev < hi && uint64(len(out)) < count; rev-- {
			out = append(out, st.events[rev])
			if rev == 0 {
				break
			}
		}
	} else {
		from := lo
		switch r := o.GetRevisionOption().(type) {
		case *streams.ReadReq_Options_StreamOptions_Revision:
			from = max(r.Revision, lo)
		case *streams.ReadReq_Options_StreamOptions_End:
			from = hi
		}
		for rev := from; rev < hi && uint64(len(out)) < count; rev++ {
			out = append(out, st.events[rev])
		}
	}
	s.mu.Unlock()
	for _, r := range out {
		if err := w.event(r); err != nil {
			return err
		}
	}
	return nil
}

// seekLocked returns the index of the first record at or after (inclusive)
// or after (exclusive) the $all position commit/prepare.
func (s *store) seekLocked(commit, prepare uint64, inclusive bool) int {
	return sort.Search(len(s.log), func(i int) bool {
		p := s.log[i].pos
		if p != commit {
			return p > commit
		}
		if inclusive {
			return p >= prepare
		}
		return p > prepare
	})
}

func (s *store) readAll(o *streams.ReadReq_Options_AllOptions, backwards bool, count uint64, w writer) error {
	s.mu.Lock()
	var out []*record
	if backwards {
		end := len(s.log) // read indexes below end, newest first
		switch p := o.GetAllOption().(type) {
		case *streams.ReadReq_Options_AllOptions_Position:
			end = s.seekLocked(p.Position.GetCommitPosition(), p.Position.GetPreparePosition(), true)
		case *streams.ReadReq_Options_AllOptions_Start:
			end = 0
		}
		for i := end - 1; i >= 0 && uint64(len(out)) < count; i-- {
			out = append(out, s.log[i])
		}
	} else {
		start := 0
		switch p := o.GetAllOption().(type) {
		case *streams.ReadReq_Options_AllOptions_Position:
			start = s.seekLocked(p.Position.GetCommitPosition(), p.Position.GetPreparePosition(), true)
		case *streams.ReadReq_Options_AllOptions_End:
			start = len(s.log)
		}
		for i := start; i < len(s.log) && uint64(len(out)) < count; i++ {
			out = append(out, s.log[i])
		}
	}
	s.mu.Unlock()
	for _, r := range out {
		if err := w.event(r); err != nil {
			return err
		}
	}
	return nil
}

// subscribeAll delivers $all after the requested position (exclusive),
// then CaughtUp, then every new event until the client goes away.
func (s *store) subscribeAll(ctx context.Context, o *streams.ReadReq_Options_AllOptions, w writer) error {
	s.mu.Lock()
	start := 0
	switch p := o.GetAllOption().(type) {
	case *streams.ReadReq_Options_AllOptions_Position:
		start = s.seekLocked(p.Position.GetCommitPosition(), p.Position.GetPreparePosition(), false)
	case *streams.ReadReq_Options_AllOptions_End:
		start = len(s.log)
	}
	s.mu.Unlock()
	return s.follow(ctx, start, w, func(*record) bool { return true })
}

// subscribeStream delivers one stream's events after the requested revision
// (exclusive), then CaughtUp, then new ones.
func (s *store) subscribeStream(ctx context.Context, o *streams.ReadReq_Options_StreamOptions, w writer) error {
	name := string(o.GetStreamIdentifier().GetStreamName())
	s.mu.Lock()
	if st := s.streams[name]; st != nil && st.tombstoned {
		s.mu.Unlock()
		w.srv.SetTrailer(streamDeletedTrailer(name))
		return streamDeletedError(name)
	}
	start, after := 0, int64(-1)
	switch r := o.GetRevisionOption().(type) {
	case *streams.ReadReq_Options_StreamOptions_Revision:
		after = int64(r.Revision)
	case *streams.ReadReq_Options_StreamOptions_End:
		start = len(s.log)
	}
	s.mu.Unlock()
	return s.follow(ctx, start, w, func(r *record) bool {
		return r.stream == name && r.typ != "$streamDeleted" && int64(r.revision) > after
	})
}

// follow sends the Confirmation, the log from index start, a Checkpoint
// and CaughtUp once it reaches the end, then live records, all filtered by
// keep.
func (s *store) follow(ctx context.Context, start int, w writer, keep func(*record) bool) error {
	if err := w.srv.Send(&streams.ReadResp{Content: &streams.ReadResp_Confirmation{
		Confirmation: &streams.ReadResp_SubscriptionConfirmation{SubscriptionId: uuid.NewString()},
	}}); err != nil {
		return err
	}
	next, caughtUp := start, false
	for {
		s.mu.Lock()
		batch := s.log[next:len(s.log):len(s.log)]
		wake := s.wake
		var seen uint64 // position of the last record passed, if any
		if next > 0 {
			seen = s.log[next-1].pos
		}
		s.mu.Unlock()
		if len(batch) == 0 {
			if !caughtUp {
				caughtUp = true
				if next > 0 {
					p := seen
					if err := w.srv.Send(&streams.ReadResp{Content: &streams.ReadResp_Checkpoint_{
						Checkpoint: &streams.ReadResp_Checkpoint{CommitPosition: p, PreparePosition: p},
					}}); err != nil {
						return err
					}
				}
				if err := w.srv.Send(&streams.ReadResp{Content: &streams.ReadResp_CaughtUp_{CaughtUp: &streams.ReadResp_CaughtUp{}}}); err != nil {
					return err
				}
			}
			select {
			case <-wake:
				continue
			case <-ctx.Done():
				return status.FromContextError(ctx.Err()).Err()
			}
		}
		for _, r := range batch {
			if !keep(r) {
				continue
			}
			if err := w.event(r); err != nil {
				return err
			}
		}
		next += len(batch)
	}
}

// writer sends records in the shape the client expects.
type writer struct {
	srv      streams.Streams_ReadServer
	asString bool // ids as strings rather than structured
}

func (w writer) event(r *record) error {
	id := structuredUUID(r.id)
	if w.asString {
		id = &shared.UUID{Value: &shared.UUID_String_{String_: r.id.String()}}
	}
	return w.srv.Send(&streams.ReadResp{Content: &streams.ReadResp_Event{Event: &streams.ReadResp_ReadEvent{
		Event: &streams.ReadResp_ReadEvent_RecordedEvent{
			Id:               id,
			StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(r.stream)},
			StreamRevision:   r.revision,
			CommitPosition:   r.pos,
			PreparePosition:  r.pos,
			// The client calls log.Fatalf when any of these is missing.
			Metadata: map[string]string{
				"type":         r.typ,
				"content-type": r.contentType,
				"created":      strconv.FormatInt(r.created, 10),
			},
			CustomMetadata: r.meta,
			Data:           r.data,
		},
		Position: &streams.ReadResp_ReadEvent_CommitPosition{CommitPosition: r.pos},
	}}})
}

func structuredUUID(id uuid.UUID) *shared.UUID {
	return &shared.UUID{Value: &shared.UUID_Structured_{Structured: &shared.UUID_Structured{
		MostSignificantBits:  int64(binary.BigEndian.Uint64(id[:8])),
		LeastSignificantBits: int64(binary.BigEndian.Uint64(id[8:])),
	}}}
}

func fromUUID(u *shared.UUID) (uuid.UUID, error) {
	if s := u.GetStructured(); s != nil {
		var id uuid.UUID
		binary.BigEndian.PutUint64(id[:8], uint64(s.GetMostSignificantBits()))
		binary.BigEndian.PutUint64(id[8:], uint64(s.GetLeastSignificantBits()))
		return id, nil
	}
	if u.GetString_() != "" {
		return uuid.Parse(u.GetString_())
	}
	return uuid.Nil, fmt.Errorf("missing")
}
