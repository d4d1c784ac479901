// Delete (soft delete) and Tombstone, and how a deleted stream is
// reported.

package esdbtest

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Delete soft-deletes a stream: its events are hidden from stream reads and
// appends continue after them. A $metadata event records it, as on a real
// server.
func (s *store) Delete(ctx context.Context, req *streams.DeleteReq) (*streams.DeleteResp, error) {
	opts := req.GetOptions()
	name := string(opts.GetStreamIdentifier().GetStreamName())
	if name == "" {
		return nil, status.Error(codes.InvalidArgument, "empty stream name")
	}
	var exp expectation
	switch v := opts.GetExpectedStreamRevision().(type) {
	case *streams.DeleteReq_Options_Revision:
		exp = expectation{kind: expectRevision, revision: v.Revision}
	case *streams.DeleteReq_Options_NoStream:
		exp = expectation{kind: expectNoStream}
	case *streams.DeleteReq_Options_StreamExists:
		exp = expectation{kind: expectStreamExists}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.streams[name]
	if err := s.checkDeleteLocked(ctx, name, st, exp); err != nil {
		return nil, err
	}
	var tb uint64
	if st != nil {
		tb = uint64(len(st.events))
		st.truncated = tb
	}
	r := &record{
		id: uuid.New(), stream: "$$" + name, typ: "$metadata", contentType: "application/json",
		data: fmt.Appendf(nil, `{"$tb":%d}`, tb),
	}
	s.commitLocked([]*record{r})
	return &streams.DeleteResp{PositionOption: &streams.DeleteResp_Position_{
		Position: &streams.DeleteResp_Position{CommitPosition: r.pos, PreparePosition: r.pos},
	}}, nil
}

// Tombstone deletes a stream for good: it can no longer be read or written.
// A $streamDeleted event marks it in $all, as on a real server.
func (s *store) Tombstone(ctx context.Context, req *streams.TombstoneReq) (*streams.TombstoneResp, error) {
	opts := req.GetOptions()
	name := string(opts.GetStreamIdentifier().GetStreamName())
	if name == "" {
		return nil, status.Error(codes.InvalidArgument, "empty stream name")
	}
	var exp expectation
	switch v := opts.GetExpectedStreamRevision().(type) {
	case *streams.TombstoneReq_Options_Revision:
		exp = expectation{kind: expectRevision, revision: v.Revision}
	case *streams.TombstoneReq_Options_NoStream:
		exp = expectation{kind: expectNoStream}
	case *streams.TombstoneReq_Options_StreamExists:
		exp = expectation{kind: expectStreamExists}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.streams[name]
	if err := s.checkDeleteLocked(ctx, name, st, exp); err != nil {
		return nil, err
	}
	r := &record{id: uuid.New(), stream: name, typ: "$streamDeleted", revision: math.MaxInt64, contentType: "application/octet-stream"}
	s.commitLocked([]*record{r})
	s.streams[name].tombstoned = true
	return &streams.TombstoneResp{PositionOption: &streams.TombstoneResp_Position_{
		Position: &streams.TombstoneResp_Position{CommitPosition: r.pos, PreparePosition: r.pos},
	}}, nil
}

// checkDeleteLocked refuses a delete or tombstone the way a real server
// does: an RPC error with exception trailers.
func (s *store) checkDeleteLocked(ctx context.Context, name string, st *streamState, exp expectation) error {
	if st != nil && st.tombstoned {
		_ = grpc.SetTrailer(ctx, streamDeletedTrailer(name))
		return streamDeletedError(name)
	}
	if exp.holds(st) {
		return nil
	}
	actual := ""
	if last, ok := st.last(); ok {
		actual = strconv.FormatUint(last, 10)
	}
	_ = grpc.SetTrailer(ctx, metadata.Pairs(
		"exception", "wrong-expected-version",
		"stream-name", name,
		"expected-version", strconv.FormatInt(exp.legacy(), 10),
		"actual-version", actual,
	))
	return status.Errorf(codes.FailedPrecondition,
		"Append failed due to WrongExpectedVersion. Stream: %s, Expected version: %d, Actual version: %s", name, exp.legacy(), actual)
}

func streamDeletedTrailer(name string) metadata.MD {
	return metadata.Pairs("exception", "stream-deleted", "stream-name", name)
}

func streamDeletedError(name string) error {
	return status.Errorf(codes.FailedPrecondition, "Event stream '%s' is deleted.", name)
}
