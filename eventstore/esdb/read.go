// Reads of a stream and of $all, and the mapping of recorded events and
// positions.

package esdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	esdbc "github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/aseptsoft/subledger/eventstore"
)

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
