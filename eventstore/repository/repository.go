// Package repository implements the domain's Store port on an event store and
// the encrypting codec: aggregates are loaded by decoding their stream and
// appended by encoding their events, personal fields encrypted with the data
// subject's key.
package repository

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/eventstore"
	"github.com/aseptsoft/subledger/eventstore/codec"
	"github.com/aseptsoft/subledger/eventstore/keyring"
)

// pageSize is how many events one read of a stream takes.
const pageSize = 512

// Repository is a domain.Store. It is safe for concurrent use.
type Repository struct {
	store eventstore.Store
	codec *codec.Codec
	cache *eventCache // nil: no cache (see WithCache)
}

// New returns a repository over store, encoding with c.
func New(store eventstore.Store, c *codec.Codec) *Repository {
	return &Repository{store: store, codec: c}
}

// Load implements domain.Store.
func (r *Repository) Load(ctx context.Context, stream string) ([]domain.Event, int64, error) {
	if r.cache == nil {
		events, version, _, err := r.read(ctx, stream, eventstore.NoStreamVersion, nil)
		return events, version, err
	}
	cached, version, keys, ok := r.cache.get(stream)
	if ok && !r.cache.alive(ctx, keys) {
		r.cache.drop(stream)
		cached, version, ok = nil, eventstore.NoStreamVersion, false
	}
	if !ok {
		version = eventstore.NoStreamVersion
	}
	known := map[keyRef]struct{}{}
	for _, k := range keys {
		known[k] = struct{}{}
	}
	events, version, known, err := r.read(ctx, stream, version, known)
	if err != nil {
		return nil, 0, err
	}
	all := append(cached, events...)
	r.cache.put(stream, all, version, known)
	return all, version, nil
}

// read decodes the events of stream after version after, noting in keys
// the data keys that decrypted them.
func (r *Repository) read(ctx context.Context, stream string, after int64, keys map[keyRef]struct{}) ([]domain.Event, int64, map[keyRef]struct{}, error) {
	var out []domain.Event
	version := after
	for {
		page, err := r.store.ReadStream(ctx, stream, version+1, pageSize)
		if err != nil {
			return nil, 0, nil, fmt.Errorf("load %s: %w", stream, err)
		}
		for _, e := range page {
			v, m, err := r.codec.Decode(ctx, e)
			if err != nil {
				return nil, 0, nil, fmt.Errorf("load %s: event %d: %w", stream, e.Version, err)
			}
			ev, ok := v.(domain.Event)
			if !ok {
				return nil, 0, nil, fmt.Errorf("load %s: event %d of type %s is not a domain event", stream, e.Version, e.Type)
			}
			if keys != nil && m.KeyID != "" && !m.Erased {
				keys[keyRef{m.SubjectID, m.KeyID}] = struct{}{}
			}
			out = append(out, ev)
			version = e.Version
		}
		if len(page) < pageSize {
			return out, version, keys, nil
		}
	}
}

// Append implements domain.Store.
func (r *Repository) Append(ctx context.Context, stream string, expectedVersion int64, events []domain.Event, meta domain.Meta) (uint64, error) {
	data := make([]eventstore.EventData, len(events))
	m := codec.Meta{Stream: stream, Actor: meta.Actor, RequestID: meta.RequestID, CorrelationID: meta.CorrelationID, CausationID: meta.CausationID}
	for i, ev := range events {
		d, err := r.codec.Encode(ctx, ev, m)
		if err != nil {
			return 0, fmt.Errorf("append to %s: %s: %w", stream, ev.EventType(), err)
		}
		data[i] = d
	}
	res, err := r.store.Append(ctx, stream, eventstore.Exact(expectedVersion), data...)
	if errors.Is(err, eventstore.ErrConflict) {
		return 0, fmt.Errorf("%w: %w", domain.ErrVersionConflict, err)
	}
	if err != nil {
		return 0, err
	}
	return res.Position, nil
}

// Decode decodes one event of the global order for a projector. Events the
// key ring writes (erasure records, key streams) are not domain events and
// decode as nil; any other type the codec does not know is an error, so that
// a projection never silently skips business events.
func (r *Repository) Decode(ctx context.Context, e eventstore.Event) (domain.Event, error) {
	if keyring.Owns(e) {
		return nil, nil
	}
	v, _, err := r.codec.Decode(ctx, e)
	if err != nil {
		return nil, fmt.Errorf("position %d (%s): %w", e.Position, e.Type, err)
	}
	ev, ok := v.(domain.Event)
	if !ok {
		return nil, fmt.Errorf("position %d: type %s is not a domain event", e.Position, e.Type)
	}
	return ev, nil
}

// Recorded is one stored event of a stream with its decoded domain event.
type Recorded struct {
	ID         string
	Type       string
	Stream     string
	Version    int64
	Position   uint64
	RecordedAt time.Time
	// Erased is true when the event's personal fields could not be
	// decrypted because their subject's key was shredded.
	Erased bool
	Event  domain.Event
}

// History returns up to limit events of stream from version from on,
// decoded, with their store metadata; limit <= 0 means all.
func (r *Repository) History(ctx context.Context, stream string, from int64, limit int) ([]Recorded, error) {
	var out []Recorded
	for {
		n := pageSize
		if limit > 0 {
			n = min(n, limit-len(out))
		}
		page, err := r.store.ReadStream(ctx, stream, from, n)
		if err != nil {
			return nil, fmt.Errorf("history of %s: %w", stream, err)
		}
		for _, e := range page {
			v, m, err := r.codec.Decode(ctx, e)
			if err != nil {
				return nil, fmt.Errorf("history of %s: event %d: %w", stream, e.Version, err)
			}
			ev, _ := v.(domain.Event)
			out = append(out, Recorded{ID: e.ID, Type: e.Type, Stream: e.Stream, Version: e.Version,
				Position: e.Position, RecordedAt: e.Recorded, Erased: m.Erased, Event: ev})
			from = e.Version + 1
		}
		if len(page) < n || (limit > 0 && len(out) >= limit) {
			return out, nil
		}
	}
}
