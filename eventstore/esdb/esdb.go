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
	"io"
	"log/slog"
	"math"
	"net/url"
	"strings"
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

// clientScheme maps an accepted URL scheme to the one the client knows.
func clientScheme(scheme string) (string, bool) {
	switch strings.ToLower(scheme) {
	case "esdb", "kurrentdb", "kdb":
		return "esdb", true
	case "esdb+discover", "kurrentdb+discover", "kdb+discover":
		return "esdb+discover", true
	}
	return "", false
}

// parseConnString translates the scheme and parses the rest with the client.
// Errors never repeat the connection string, which may hold a password.
func parseConnString(connString string) (*esdbc.Configuration, error) {
	scheme, rest, ok := strings.Cut(connString, "://")
	target, known := clientScheme(scheme)
	if !ok || !known {
		return nil, fmt.Errorf("esdb: connection string must start with esdb://, esdb+discover://, kurrentdb:// or kurrentdb+discover://")
	}
	conf, err := esdbc.ParseConnectionString(target + "://" + rest)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("esdb: invalid connection string: %w", err)
	}
	return conf, nil
}

// redact returns connString without its password, for messages.
func redact(connString string) string {
	u, err := url.Parse(connString)
	if err != nil {
		return "the server"
	}
	return u.Redacted()
}

// clientLog routes the client's log lines to slog. Outcomes the adapter
// turns into errors of its own (a call canceled, a precondition failed)
// are logged at debug level rather than as errors.
func clientLog(level esdbc.LogLevel, format string, args ...any) {
	lvl := slog.LevelDebug
	switch level {
	case esdbc.LogWarn:
		lvl = slog.LevelWarn
	case esdbc.LogError:
		lvl = slog.LevelError
	}
	if lvl > slog.LevelDebug {
		for _, a := range args {
			if err, ok := a.(error); ok {
				switch status.Code(err) {
				case codes.Canceled, codes.FailedPrecondition, codes.DeadlineExceeded:
					lvl = slog.LevelDebug
				}
				if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
					lvl = slog.LevelDebug
				}
			}
		}
	}
	slog.Log(context.Background(), lvl, "esdb client: "+fmt.Sprintf(format, args...))
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

// ReadStream implements eventstore.Store. from must be 0 or more and max
// positive; anything else is ErrInvalid.
func (s *Store) ReadStream(ctx context.Context, stream string, from int64, max int) ([]eventstore.Event, error) {
	if stream == "" || from < 0 || max <= 0 {
		return nil, fmt.Errorf("%w: read stream %q from %d max %d", eventstore.ErrInvalid, stream, from, max)
	}
	ctx, done, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	op := fmt.Sprintf("read stream %q", stream)
	rs, err := s.client.ReadStream(ctx, stream, esdbc.ReadStreamOptions{Direction: esdbc.Forwards, From: esdbc.Revision(uint64(from))}, uint64(max))
	if err != nil {
		return nil, s.mapErr(err, op)
	}
	defer rs.Close()
	var out []eventstore.Event
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			var cerr *esdbc.Error
			if errors.As(err, &cerr) && cerr.Code() == esdbc.ErrorCodeResourceNotFound {
				return nil, nil // no such stream: no events
			}
			return nil, s.mapErr(err, op)
		}
		out = append(out, toEvent(ev.OriginalEvent()))
	}
}

// ReadAll implements eventstore.Store. max must be positive.
func (s *Store) ReadAll(ctx context.Context, after uint64, max int) ([]eventstore.Event, error) {
	if max <= 0 {
		return nil, fmt.Errorf("%w: read all with max %d", eventstore.ErrInvalid, max)
	}
	ctx, done, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	var out []eventstore.Event
	cursor := after // every event at or before cursor is done with
	for len(out) < max {
		want := min(max-len(out)+1, readAllPage) // +1: reads include the cursor's own event
		page, err := s.readAllPage(ctx, cursor, want)
		if err != nil {
			// A real server may refuse a start past the end of $all
			// rather than answer with nothing.
			if last, lerr := s.lastPosition(ctx); lerr == nil && cursor >= last {
				return out, nil
			}
			return nil, s.mapErr(err, fmt.Sprintf("read $all after %d", cursor))
		}
		for _, r := range page {
			p := position(r.Position)
			if p <= cursor {
				continue
			}
			cursor = p
			if !system(r) && len(out) < max {
				out = append(out, toEvent(r))
			}
		}
		if len(page) < want {
			break // end of $all
		}
	}
	return out, nil
}

// readAllPage reads up to count raw $all events from the event at
// position-1 on (reads include their start), or from the start.
func (s *Store) readAllPage(ctx context.Context, after uint64, count int) ([]*esdbc.RecordedEvent, error) {
	rs, err := s.client.ReadAll(ctx, esdbc.ReadAllOptions{Direction: esdbc.Forwards, From: allPosition(after)}, uint64(count))
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []*esdbc.RecordedEvent
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, ev.OriginalEvent())
	}
}

// lastPosition is the position of the last event in $all, system events
// included, or 0 when it is empty.
func (s *Store) lastPosition(ctx context.Context) (uint64, error) {
	rs, err := s.client.ReadAll(ctx, esdbc.ReadAllOptions{Direction: esdbc.Backwards, From: esdbc.End{}}, 1)
	if err != nil {
		return 0, err
	}
	defer rs.Close()
	ev, err := rs.Recv()
	if errors.Is(err, io.EOF) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return position(ev.OriginalEvent().Position), nil
}

// allPosition is where to start reading or subscribing for events after
// position after: at the event with that position, or at the start.
func allPosition(after uint64) esdbc.AllPosition {
	if after == 0 {
		return esdbc.Start{}
	}
	return esdbc.Position{Commit: after - 1, Prepare: after - 1}
}

// position maps a $all position to a global position; 0 when the server
// did not report one.
func position(p esdbc.Position) uint64 {
	if p.Commit == math.MaxUint64 {
		return 0
	}
	return p.Commit + 1
}

// system reports whether r is a server event that the contract leaves out.
func system(r *esdbc.RecordedEvent) bool {
	return strings.HasPrefix(r.StreamID, "$") || strings.HasPrefix(r.EventType, "$")
}

func toEvent(r *esdbc.RecordedEvent) eventstore.Event {
	return eventstore.Event{
		ID:       r.EventID.String(),
		Type:     r.EventType,
		Stream:   r.StreamID,
		Version:  int64(r.EventNumber),
		Position: position(r.Position),
		Recorded: r.CreatedDate,
		Data:     r.Data,
		Metadata: r.UserMetadata,
	}
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
