// Package eventstore defines the event store contract that every backend
// implements: append to a stream with an expected version, read a stream,
// read and subscribe to the global order, tombstone a stream.
//
// Stream versions are zero-based: the first event of a stream has version 0,
// and a stream without events is at version NoStreamVersion (-1). Global
// positions are positive and strictly increasing in commit order; position 0
// means "before the first event". The embedded backend's positions are dense
// (1, 2, 3, ...); a KurrentDB/EventStoreDB backend's are derived from the
// $all commit position and only increase.
package eventstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// NoStreamVersion is the version of a stream that has no events.
const NoStreamVersion int64 = -1

// Errors returned by every backend. Callers test them with errors.Is.
var (
	// ErrConflict means the expected version did not match the stream.
	ErrConflict = errors.New("eventstore: wrong expected version")
	// ErrStreamDeleted means the stream was tombstoned and takes no more events.
	ErrStreamDeleted = errors.New("eventstore: stream is tombstoned")
	// ErrInvalid means the request itself is malformed (empty stream name,
	// event without a type or id, no events).
	ErrInvalid = errors.New("eventstore: invalid request")
	// ErrClosed means the store or subscription was closed.
	ErrClosed = errors.New("eventstore: closed")
)

// ExpectedVersion is the condition an append or tombstone checks against the
// stream's current version before writing.
type ExpectedVersion struct {
	kind    expectKind
	version int64
}

type expectKind uint8

const (
	expectAny expectKind = iota
	expectNoStream
	expectStreamExists
	expectExact
)

// Any accepts the stream in any state.
func Any() ExpectedVersion { return ExpectedVersion{kind: expectAny} }

// NoStream requires the stream to have no events yet.
func NoStream() ExpectedVersion { return ExpectedVersion{kind: expectNoStream} }

// StreamExists requires the stream to have at least one event.
func StreamExists() ExpectedVersion { return ExpectedVersion{kind: expectStreamExists} }

// Exact requires the stream's last event to have version v. Exact(NoStreamVersion)
// is the same as NoStream.
func Exact(v int64) ExpectedVersion {
	if v < 0 {
		return NoStream()
	}
	return ExpectedVersion{kind: expectExact, version: v}
}

// Check reports whether a stream at version current satisfies e.
func (e ExpectedVersion) Check(current int64) bool {
	switch e.kind {
	case expectNoStream:
		return current == NoStreamVersion
	case expectStreamExists:
		return current != NoStreamVersion
	case expectExact:
		return current == e.version
	default:
		return true
	}
}

// IsAny, IsNoStream, IsStreamExists and Exact let adapters translate the condition.

// IsAny reports whether e accepts any state.
func (e ExpectedVersion) IsAny() bool { return e.kind == expectAny }

// IsNoStream reports whether e requires an empty stream.
func (e ExpectedVersion) IsNoStream() bool { return e.kind == expectNoStream }

// IsStreamExists reports whether e requires a non-empty stream.
func (e ExpectedVersion) IsStreamExists() bool { return e.kind == expectStreamExists }

// ExactVersion returns the exact version e requires, and false when e is not exact.
func (e ExpectedVersion) ExactVersion() (int64, bool) { return e.version, e.kind == expectExact }

// String describes e for error messages.
func (e ExpectedVersion) String() string {
	switch e.kind {
	case expectNoStream:
		return "no stream"
	case expectStreamExists:
		return "stream exists"
	case expectExact:
		return fmt.Sprintf("version %d", e.version)
	default:
		return "any"
	}
}

// EventData is an event to append. ID must be a UUID string chosen by the
// caller; Data and Metadata are JSON.
type EventData struct {
	ID       string
	Type     string
	Data     []byte
	Metadata []byte
}

// Event is an event as stored.
type Event struct {
	ID       string
	Type     string
	Stream   string
	Version  int64
	Position uint64
	Recorded time.Time
	Data     []byte
	Metadata []byte
}

// AppendResult is where an append landed: the version of the stream's last
// event and the global position of the last event written.
type AppendResult struct {
	Version  int64
	Position uint64
}

// Store is the event store contract.
type Store interface {
	// Append writes events to the end of stream atomically, after checking
	// expected, and returns only once they are durable. It returns an error
	// wrapping ErrConflict when expected does not hold.
	Append(ctx context.Context, stream string, expected ExpectedVersion, events ...EventData) (AppendResult, error)
	// ReadStream returns up to max events of stream with version >= from,
	// oldest first. A stream without events, or a read past its end, returns
	// no events and no error; a tombstoned stream returns ErrStreamDeleted;
	// from < 0 or max <= 0 is ErrInvalid.
	ReadStream(ctx context.Context, stream string, from int64, max int) ([]Event, error)
	// ReadAll returns up to max events with global position > after, in
	// global order; max <= 0 is ErrInvalid.
	ReadAll(ctx context.Context, after uint64, max int) ([]Event, error)
	// SubscribeAll delivers every event with global position > after: first
	// the stored ones, then new ones as they become durable, with no gap and
	// no duplicate.
	SubscribeAll(ctx context.Context, after uint64) (Subscription, error)
	// Tombstone deletes stream for good after checking expected: its events
	// are no longer readable through ReadStream and it takes no more appends.
	Tombstone(ctx context.Context, stream string, expected ExpectedVersion) error
	// Close releases the store. Subscriptions end with ErrClosed.
	Close() error
}

// Subscription is a live feed of the global order.
type Subscription interface {
	// Next blocks until at least one event after the last one returned is
	// available and returns the available ones (a batch, oldest first).
	// It returns ctx.Err() when ctx ends, and ErrClosed after Close.
	Next(ctx context.Context) ([]Event, error)
	// Close stops the subscription; it is safe to call more than once.
	Close() error
}

// ValidateAppend checks the parts of an append that every backend refuses
// the same way.
func ValidateAppend(stream string, events []EventData) error {
	if stream == "" {
		return fmt.Errorf("%w: empty stream name", ErrInvalid)
	}
	if len(events) == 0 {
		return fmt.Errorf("%w: no events to append to %q", ErrInvalid, stream)
	}
	for i, e := range events {
		if e.Type == "" {
			return fmt.Errorf("%w: event %d has no type", ErrInvalid, i)
		}
		if err := uuid.Validate(e.ID); err != nil {
			return fmt.Errorf("%w: event %d has no valid UUID id", ErrInvalid, i)
		}
	}
	return nil
}
