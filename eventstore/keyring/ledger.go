package keyring

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aseptsoft/subledger/eventstore"
)

// LedgerStream is the default stream of the erasure ledger.
const LedgerStream = "erasure-ledger"

// Event types the key rings write. A projector skips them (see Owns).
const (
	// ErasureEventType is the type of an erasure ledger record.
	ErasureEventType = "keyring.SubjectForgotten"
	// KeyEventType is the type of a StoreRing's wrapped-key event.
	KeyEventType = "keyring.DataKeyCreated"
	// HeaderEventType is the type of a StoreRing's header event.
	HeaderEventType = "keyring.RingCreated"
)

// ledgerPage is how many ledger records one read fetches.
const ledgerPage = 1000

// Erasure is one record of the erasure ledger. It holds no personal data.
type Erasure struct {
	// SubjectID is the forgotten subject.
	SubjectID string `json:"subject_id"`
	// KeyID is the id of the key that was destroyed; empty when the subject
	// had no key.
	KeyID string `json:"key_id,omitempty"`
	// KeyFingerprint is the fingerprint of the destroyed key; empty when the
	// subject had no key.
	KeyFingerprint string `json:"key_fingerprint,omitempty"`
	// ForgottenAt is when Forget ran, by the ring's clock.
	ForgottenAt time.Time `json:"forgotten_at"`
}

// Owns reports whether ev was written by a key ring (an erasure record, a
// StoreRing's header or key event), so that a projector skips it after
// passing it to Ring.Observe.
func Owns(ev eventstore.Event) bool {
	return strings.HasPrefix(ev.Type, "keyring.")
}

// ParseErasure returns the erasure record in ev, and false when ev is not
// one.
func ParseErasure(ev eventstore.Event) (Erasure, bool, error) {
	if ev.Type != ErasureEventType {
		return Erasure{}, false, nil
	}
	var e Erasure
	if err := json.Unmarshal(ev.Data, &e); err != nil || validSubject(e.SubjectID) != nil {
		return Erasure{}, false, fmt.Errorf("%w: erasure record %s at position %d is malformed", ErrCorrupt, ev.ID, ev.Position)
	}
	return e, true, nil
}

// appendErasure writes e to the fence, if any, then to the ledger.
func (c *core) appendErasure(ctx context.Context, store eventstore.Store, e Erasure) error {
	if c.fence != nil {
		if err := c.fence.Record(e); err != nil {
			return fmt.Errorf("keyring: recording the erasure of subject %s in the erasure fence: %w", e.SubjectID, err)
		}
	}
	id, err := c.newEventID()
	if err != nil {
		return err
	}
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	_, err = store.Append(ctx, c.ledgerStream, eventstore.Any(), eventstore.EventData{
		ID:       id,
		Type:     ErasureEventType,
		Data:     data,
		Metadata: []byte(`{"schema_version":1}`),
	})
	if err != nil {
		return fmt.Errorf("keyring: recording the erasure of subject %s in the ledger: %w", e.SubjectID, err)
	}
	return nil
}

// readLedger calls fn with every ledger record from version from on, in
// order, and returns the version after the last one read.
func (c *core) readLedger(ctx context.Context, store eventstore.Store, from int64, fn func(Erasure) error) (int64, error) {
	for {
		evs, err := store.ReadStream(ctx, c.ledgerStream, from, ledgerPage)
		if err != nil {
			return from, fmt.Errorf("keyring: reading the erasure ledger: %w", err)
		}
		for _, ev := range evs {
			e, ok, err := ParseErasure(ev)
			if err != nil {
				return from, err
			}
			if ok {
				if err := fn(e); err != nil {
					return from, err
				}
			}
			from = ev.Version + 1
		}
		if len(evs) < ledgerPage {
			return from, nil
		}
	}
}

// ReadLedger calls fn with every record of the erasure ledger in store (the
// stream LedgerStream), oldest first.
func ReadLedger(ctx context.Context, store eventstore.Store, fn func(Erasure) error) error {
	c := &core{ledgerStream: LedgerStream}
	_, err := c.readLedger(ctx, store, 0, fn)
	return err
}

// observe applies ev when it is an erasure record of this ring's ledger and
// returns it.
func (c *core) observe(ev eventstore.Event) (Erasure, bool, error) {
	if ev.Stream != c.ledgerStream {
		return Erasure{}, false, nil
	}
	e, ok, err := ParseErasure(ev)
	if err != nil || !ok {
		return e, false, err
	}
	c.markForgotten(e.SubjectID)
	c.seenLedger(ev.Version + 1)
	return e, true, nil
}

// RefreshEvery calls r.Refresh every interval until ctx ends, for a process
// that does not pass the global order to Observe. It returns ctx's error, or
// ErrClosed once the ring is closed.
func RefreshEvery(ctx context.Context, r Ring, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			if err := r.Refresh(ctx); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if errors.Is(err, ErrClosed) {
					return err
				}
			}
		}
	}
}
