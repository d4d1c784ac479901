// Append: the client's stream of an append request, checked against the
// expected revision and committed in one piece.

package esdbtest

import (
	"io"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Append appends the proposed messages after checking the expected revision.
func (s *store) Append(srv streams.Streams_AppendServer) error {
	first, err := srv.Recv()
	if err != nil {
		return err
	}
	opts := first.GetOptions()
	if opts == nil || opts.GetStreamIdentifier() == nil {
		return status.Error(codes.InvalidArgument, "the first append message must carry options")
	}
	name := string(opts.GetStreamIdentifier().GetStreamName())
	if name == "" {
		return status.Error(codes.InvalidArgument, "empty stream name")
	}
	var exp expectation
	switch v := opts.GetExpectedStreamRevision().(type) {
	case *streams.AppendReq_Options_Revision:
		exp = expectation{kind: expectRevision, revision: v.Revision}
	case *streams.AppendReq_Options_NoStream:
		exp = expectation{kind: expectNoStream}
	case *streams.AppendReq_Options_StreamExists:
		exp = expectation{kind: expectStreamExists}
	default:
		exp = expectation{kind: expectAny}
	}
	var recs []*record
	for {
		msg, err := srv.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		pm := msg.GetProposedMessage()
		if pm == nil {
			return status.Error(codes.InvalidArgument, "append: expected a proposed message")
		}
		r, err := proposed(name, pm)
		if err != nil {
			return err
		}
		recs = append(recs, r)
	}

	s.mu.Lock()
	st := s.streams[name]
	if st != nil && st.tombstoned {
		s.mu.Unlock()
		srv.SetTrailer(streamDeletedTrailer(name))
		return streamDeletedError(name)
	}
	if !exp.holds(st) {
		wrong := wrongExpectedVersion(exp, st)
		s.mu.Unlock()
		return srv.SendAndClose(&streams.AppendResp{Result: &streams.AppendResp_WrongExpectedVersion_{
			WrongExpectedVersion: wrong,
		}})
	}
	if len(recs) > 0 {
		s.commitLocked(recs)
	}
	st = s.streams[name]
	resp := &streams.AppendResp_Success{}
	if last, ok := st.last(); ok {
		resp.CurrentRevisionOption = &streams.AppendResp_Success_CurrentRevision{CurrentRevision: last}
	} else {
		resp.CurrentRevisionOption = &streams.AppendResp_Success_NoStream{NoStream: &shared.Empty{}}
	}
	if len(recs) > 0 {
		p := recs[len(recs)-1].pos
		resp.PositionOption = &streams.AppendResp_Success_Position{Position: &streams.AppendResp_Position{CommitPosition: p, PreparePosition: p}}
	} else {
		resp.PositionOption = &streams.AppendResp_Success_NoPosition{NoPosition: &shared.Empty{}}
	}
	s.mu.Unlock()
	return srv.SendAndClose(&streams.AppendResp{Result: &streams.AppendResp_Success_{Success: resp}})
}

// proposed turns a proposed message into a record, refusing what a real
// server refuses.
func proposed(stream string, pm *streams.AppendReq_ProposedMessage) (*record, error) {
	typ, ok := pm.GetMetadata()["type"]
	if !ok || typ == "" {
		return nil, status.Error(codes.InvalidArgument, "Required Metadata Property 'type' is missing")
	}
	ct, ok := pm.GetMetadata()["content-type"]
	if !ok {
		return nil, status.Error(codes.InvalidArgument, "Required Metadata Property 'content-type' is missing")
	}
	id, err := fromUUID(pm.GetId())
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "event id: %v", err)
	}
	return &record{id: id, stream: stream, typ: typ, contentType: ct, data: pm.GetData(), meta: pm.GetCustomMetadata()}, nil
}

// wrongExpectedVersion fills both the current and the 20.6.0 fields.
func wrongExpectedVersion(exp expectation, st *streamState) *streams.AppendResp_WrongExpectedVersion {
	w := &streams.AppendResp_WrongExpectedVersion{}
	if last, ok := st.last(); ok {
		w.CurrentRevisionOption = &streams.AppendResp_WrongExpectedVersion_CurrentRevision{CurrentRevision: last}
		w.CurrentRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_CurrentRevision_20_6_0{CurrentRevision_20_6_0: last}
	} else {
		w.CurrentRevisionOption = &streams.AppendResp_WrongExpectedVersion_CurrentNoStream{CurrentNoStream: &shared.Empty{}}
		w.CurrentRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_NoStream_20_6_0{NoStream_20_6_0: &shared.Empty{}}
	}
	switch exp.kind {
	case expectNoStream:
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedNoStream{ExpectedNoStream: &shared.Empty{}}
	case expectStreamExists:
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedStreamExists{ExpectedStreamExists: &shared.Empty{}}
		w.ExpectedRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_StreamExists_20_6_0{StreamExists_20_6_0: &shared.Empty{}}
	case expectRevision:
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedRevision{ExpectedRevision: exp.revision}
		w.ExpectedRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_ExpectedRevision_20_6_0{ExpectedRevision_20_6_0: exp.revision}
	default:
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedAny{ExpectedAny: &shared.Empty{}}
		w.ExpectedRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_Any_20_6_0{Any_20_6_0: &shared.Empty{}}
	}
	return w
}
