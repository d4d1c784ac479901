// Package esdb is the KurrentDB/EventStoreDB backend of the event store
// contract, on github.com/EventStore/EventStore-Client-Go/v4.
//
// Mapping:
//
//   - A stream is a server stream of the same name; a stream version is the
//     event's stream revision.
//   - A global position is the event's $all commit position plus one, so
//     that 0 keeps meaning "before everything". Positions only increase;
//     they are not dense. A position passed to ReadAll or SubscribeAll must
//     be 0 or one this package returned.
//   - System events (a stream or an event type starting with "$", such as
//     the server's own streams, stream metadata and tombstone markers) are
//     left out of ReadAll and SubscribeAll.
//   - Data and Metadata are stored as the event's data and user metadata
//     with content type application/json; the recorded time is the server's
//     "created" time.
//   - Tombstone is the server's hard delete (TombstoneStream): the stream
//     name can never be used again.
//
// The user in the connection string needs to read $all (an admin on a
// default server). Open checks that.
package esdb

import (
	"context"
	"errors"
	"fmt"
	"sync"

	esdbc "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/aseptsoft/subledger/eventstore"
)

// readAllPage bounds one $all read request.
const readAllPage = 4096

// Store is an eventstore.Store on a KurrentDB/EventStoreDB server or
// cluster. It is safe for concurrent use.
type Store struct {
	client *esdbc.Client

	// ctx ends when Close is called; every call in flight derives from it.
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	closed bool
	subs   map[*subscription]struct{}
	calls  sync.WaitGroup // calls and subscription pumps in flight
}

var _ eventstore.Store = (*Store)(nil)

// Open connects to the server named by connString. It accepts esdb://,
// esdb+discover://, and the KurrentDB spellings kurrentdb://,
// kurrentdb+discover://, kdb:// and kdb+discover://, with the client's usual
// settings (for example esdb://admin:changeit@host:2113?tls=false). It reads
// the end of $all once, so that an unreachable server or a user without the
// rights to read $all fails here rather than later.
func Open(ctx context.Context, connString string) (*Store, error) {
	conf, err := parseConnString(connString)
	if err != nil {
		return nil, err
	}
	conf.Logger = clientLog
	client, err := esdbc.NewClient(conf)
	if err != nil {
		return nil, fmt.Errorf("esdb: %w", err)
	}
	sctx, cancel := context.WithCancel(context.Background())
	s := &Store{client: client, ctx: sctx, cancel: cancel, subs: map[*subscription]struct{}{}}
	if _, err := s.lastPosition(ctx); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("esdb: connect to %s: %w", redact(connString), err)
	}
	return s, nil
}

// begin registers a call: it fails once the store is closed, and the
// returned context also ends when Close is called. done must be called.
func (s *Store) begin(ctx context.Context) (context.Context, func(), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, nil, eventstore.ErrClosed
	}
	s.calls.Add(1)
	cctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.ctx, cancel)
	return cctx, func() {
		stop()
		cancel()
		s.calls.Done()
	}, nil
}

// Close ends every subscription with ErrClosed, waits for calls in flight
// (they are canceled) and disconnects. It is safe to call more than once.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	subs := make([]*subscription, 0, len(s.subs))
	for sub := range s.subs {
		subs = append(subs, sub)
	}
	s.mu.Unlock()
	s.cancel()
	for _, sub := range subs {
		_ = sub.Close()
	}
	s.calls.Wait()
	return s.client.Close()
}

// Append implements eventstore.Store.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	if err := eventstore.ValidateAppend(stream, events); err != nil {
		return eventstore.AppendResult{}, err
	}
	data := make([]esdbc.EventData, len(events))
	for i, e := range events {
		id, err := uuid.Parse(e.ID)
		if err != nil {
			return eventstore.AppendResult{}, fmt.Errorf("%w: event %d has no valid UUID id", eventstore.ErrInvalid, i)
		}
		data[i] = esdbc.EventData{EventID: id, EventType: e.Type, ContentType: esdbc.ContentTypeJson, Data: e.Data, Metadata: e.Metadata}
	}
	ctx, done, err := s.begin(ctx)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	defer done()
	res, err := s.client.AppendToStream(ctx, stream, esdbc.AppendToStreamOptions{ExpectedRevision: revision(expected)}, data...)
	if err != nil {
		return eventstore.AppendResult{}, s.mapErr(err, fmt.Sprintf("append to %q (expected %v)", stream, expected))
	}
	return eventstore.AppendResult{Version: int64(res.NextExpectedVersion), Position: res.CommitPosition + 1}, nil
}

// revision translates an expected version for the client.
func revision(e eventstore.ExpectedVersion) esdbc.ExpectedRevision {
	switch {
	case e.IsNoStream():
		return esdbc.NoStream{}
	case e.IsStreamExists():
		return esdbc.StreamExists{}
	}
	if v, ok := e.ExactVersion(); ok {
		return esdbc.Revision(uint64(v))
	}
	return esdbc.Any{}
}

// mapErr turns a client error into the contract's errors, naming op.
func (s *Store) mapErr(err error, op string) error {
	var cerr *esdbc.Error
	if errors.As(err, &cerr) {
		switch cerr.Code() {
		case esdbc.ErrorCodeWrongExpectedVersion:
			return fmt.Errorf("esdb: %s: %w: %w", op, eventstore.ErrConflict, err)
		case esdbc.ErrorCodeStreamDeleted:
			return fmt.Errorf("esdb: %s: %w: %w", op, eventstore.ErrStreamDeleted, err)
		case esdbc.ErrorCodeConnectionClosed:
			// Not ErrClosed: nobody closed the store. The client stops for
			// good once discovery fails maxDiscoverAttempts times in a row.
			return fmt.Errorf("esdb: %s: the client lost the server for good, reopen the store: %w", op, err)
		}
	}
	if s.ctx.Err() != nil && status.Code(err) == codes.Canceled {
		return fmt.Errorf("esdb: %s: %w", op, eventstore.ErrClosed)
	}
	return fmt.Errorf("esdb: %s: %w", op, err)
}

// Tombstone implements eventstore.Store with the server's TombstoneStream.
func (s *Store) Tombstone(ctx context.Context, stream string, expected eventstore.ExpectedVersion) error {
	if stream == "" {
		return fmt.Errorf("%w: empty stream name", eventstore.ErrInvalid)
	}
	ctx, done, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer done()
	_, err = s.client.TombstoneStream(ctx, stream, esdbc.TombstoneStreamOptions{ExpectedRevision: revision(expected)})
	if err == nil {
		return nil
	}
	op := fmt.Sprintf("tombstone %q (expected %v)", stream, expected)
	var cerr *esdbc.Error
	if errors.As(err, &cerr) && cerr.Code() == esdbc.ErrorCodeStreamDeleted {
		return s.mapErr(err, op)
	}
	// The client reports a delete's wrong expected version only as the
	// server's FailedPrecondition status; a deleted stream was handled above.
	if status.Code(err) == codes.FailedPrecondition {
		return fmt.Errorf("esdb: %s: %w: %w", op, eventstore.ErrConflict, err)
	}
	return s.mapErr(err, op)
}
