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
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/gossip"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/serverfeatures"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
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
