// Package esdbtest is a test-only, in-process KurrentDB/EventStoreDB gRPC
// server built on the EventStore-Client-Go v4 module's own generated stubs.
// It keeps streams and a $all log in memory and answers the calls the v4
// client makes the way a real server does, so that code written against the
// client (the eventstore/esdb adapter, the key ring) can be tested without a
// database. Import it only from _test files, or run it as its own process
// for end-to-end tests (cmd/esdbtest-server). It is our test double, not
// KurrentDB: never point a deployment at it.
//
// What it implements: server features, gossip (a single leader node, so
// esdb+discover:// works), Append (expected revision any, no_stream,
// stream_exists or exact; a wrong one is answered with a WrongExpectedVersion
// message), Read of a stream or of $all in both directions from a revision or
// position with a count, catch-up subscriptions to $all and to a stream
// (Confirmation, stored events, a Checkpoint, CaughtUp, then live events),
// Delete (soft delete) and Tombstone. A tombstoned stream is reported as a
// real server does: gRPC FailedPrecondition with the trailers
// exception=stream-deleted and stream-name. A wrong expected version on
// Delete or Tombstone is FailedPrecondition with exception=wrong-expected-version.
//
// What it does not: authentication and ACLs, TLS, server-side filters,
// link resolution, BatchAppend, persistent subscriptions, projections,
// idempotent re-appends of the same event ids, stream metadata ($maxCount,
// $maxAge) other than the soft-delete truncation, durability.
//
// Positions in $all grow by the size of each record, like byte offsets in a
// transaction file, so they are never dense; commit and prepare positions
// of an event are equal, as for a real server's single-write appends.
package esdbtest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/gossip"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/serverfeatures"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Start runs a fresh server on 127.0.0.1 (and nowhere else) on a free port,
// stops it when t ends, and returns its connection string,
// esdb://127.0.0.1:PORT?tls=false.
func Start(t testing.TB) string {
	t.Helper()
	srv, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatalf("esdbtest: %v", err)
	}
	t.Cleanup(srv.Close)
	return srv.URL()
}

// ErrNotLoopback means Listen was asked for an address that is not on
// 127.0.0.1: the test double serves nothing beyond the machine.
var ErrNotLoopback = errors.New("esdbtest: the test server listens on 127.0.0.1 only")

// Server is a running test server (see Listen).
type Server struct {
	addr   *net.TCPAddr
	g      *grpc.Server
	served chan struct{}
}

// Listen runs a fresh, empty server on addr, which must be 127.0.0.1:PORT
// (port 0 picks a free one), until Close. It is what Start and the
// esdbtest-server command (cmd/esdbtest-server) run.
func Listen(addr string) (*Server, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("esdbtest: address %q: %w", addr, err)
	}
	if host != "127.0.0.1" {
		return nil, fmt.Errorf("%w: not %q", ErrNotLoopback, addr)
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("esdbtest: listen on %s: %w", addr, err)
	}
	s := &Server{addr: lis.Addr().(*net.TCPAddr), served: make(chan struct{})}
	s.g = grpc.NewServer(
		// The client pings every 10 s, even without calls in flight.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: time.Second, PermitWithoutStream: true}),
		grpc.WaitForHandlers(true),
	)
	streams.RegisterStreamsServer(s.g, newStore())
	serverfeatures.RegisterServerFeaturesServer(s.g, features{})
	gossip.RegisterGossipServer(s.g, cluster{addr: s.addr})
	go func() {
		defer close(s.served)
		_ = s.g.Serve(lis)
	}()
	return s, nil
}

// Addr is the address the server listens on, 127.0.0.1:PORT.
func (s *Server) Addr() string { return s.addr.String() }

// URL is the server's connection string, esdb://127.0.0.1:PORT?tls=false.
func (s *Server) URL() string { return fmt.Sprintf("esdb://%s?tls=false", s.addr) }

// Close stops the server at once (subscriptions end) and waits for it.
// Everything it held is gone: it keeps nothing on disk.
func (s *Server) Close() {
	s.g.Stop()
	<-s.served
}

// serverVersion is the version the server reports through server features.
const serverVersion = "24.10.0"

// features answers the client's server-features probe on connect.
type features struct {
	serverfeatures.UnimplementedServerFeaturesServer
}

func (features) GetSupportedMethods(context.Context, *shared.Empty) (*serverfeatures.SupportedMethods, error) {
	const svc = "event_store.client.streams.streams"
	out := &serverfeatures.SupportedMethods{EventStoreServerVersion: serverVersion}
	for _, m := range []string{"read", "append", "delete", "tombstone"} {
		out.Methods = append(out.Methods, &serverfeatures.SupportedMethod{MethodName: m, ServiceName: svc})
	}
	return out, nil
}

// cluster answers gossip with a single live leader: this server.
type cluster struct {
	gossip.UnimplementedGossipServer
	addr *net.TCPAddr
}

func (c cluster) Read(context.Context, *shared.Empty) (*gossip.ClusterInfo, error) {
	return &gossip.ClusterInfo{Members: []*gossip.MemberInfo{{
		InstanceId:   structuredUUID(uuid.New()),
		TimeStamp:    time.Now().UnixNano() / 100,
		State:        gossip.MemberInfo_Leader,
		IsAlive:      true,
		HttpEndPoint: &gossip.EndPoint{Address: c.addr.IP.String(), Port: uint32(c.addr.Port)},
	}}}, nil
}

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
