package keyring

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aseptsoft/subledger/eventstore"
)

// Streams of a StoreRing.
const (
	// KeyStreamPrefix starts the name of a subject's key stream; the subject
	// id follows.
	KeyStreamPrefix = "keyring-"
	// HeaderStream holds a StoreRing's header: the master key's key-check
	// value and the wrapped binding secret. Its format (2 since event
	// bindings have version 2, 1 before) is the binding version the ring
	// requires (MinBindingVersion); the binding secret is wrapped with a
	// label per format, so the format cannot be lowered.
	HeaderStream = "keyring.header"
)

// sweepWorkers bounds the concurrent reads of the start-up sweep.
const sweepWorkers = 16

// KeyStream returns the name of subject's key stream in a StoreRing.
func KeyStream(subject string) string { return KeyStreamPrefix + subject }

// StoreRing is the key ring of the KurrentDB/EventStoreDB deployment: it
// lives in the event store that every replica reaches. Each subject's
// wrapped key is the one event of its own stream (KeyStream); Forget
// appends the erasure record to the ledger, then tombstones the key stream.
// A tombstoned stream is unreadable at once, and the server's scavenge
// removes its events from the database files for good: run scavenges
// regularly (and after erasures) so that a forgotten key's wrapped form
// leaves the disk too. Replicas race to create a subject's key with an
// expected version of "no stream"; the loser reads the winner's key.
//
// At open the ring re-applies the ledger: every forgotten subject is
// remembered (its key stream is never read again), and a key stream that
// still holds events (a Forget interrupted between its ledger record and
// the tombstone) is tombstoned. That costs one read per forgotten subject,
// sweepWorkers at a time.
type StoreRing struct {
	c     *core
	store eventstore.Store
	wmu   sync.Mutex // serializes creations and erasures in this process
}

// keyData is a key event's data: one subject's wrapped key.
type keyData struct {
	SubjectID   string    `json:"subject_id"`
	KeyID       string    `json:"key_id"`
	Fingerprint string    `json:"key_fingerprint"`
	Wrapped     []byte    `json:"wrapped_key"`
	CreatedAt   time.Time `json:"created_at"`
}

// StoreRingExists reports whether store holds a StoreRing's header, so that
// a caller decides whether a missing master key file may be created.
func StoreRingExists(ctx context.Context, store eventstore.Store) (bool, error) {
	evs, err := store.ReadStream(ctx, HeaderStream, 0, 1)
	if err != nil {
		return false, fmt.Errorf("keyring: reading %s: %w", HeaderStream, err)
	}
	return len(evs) > 0, nil
}

// OpenStoreRing opens the key ring kept in store, creating its header on
// first use, checks master against the header's key-check value and
// re-applies the erasure ledger. The ring does not close store.
func OpenStoreRing(ctx context.Context, store eventstore.Store, master MasterKey, cfg Config) (*StoreRing, error) {
	c, err := newCore(master, cfg)
	if err != nil {
		return nil, err
	}
	if store == nil {
		return nil, errors.New("keyring: a store ring needs an event store")
	}
	r := &StoreRing{c: c, store: store}
	if err := r.openHeader(ctx); err != nil {
		return nil, err
	}
	var forgotten []string
	next, err := c.readLedger(ctx, store, 0, func(e Erasure) error {
		if c.markForgotten(e.SubjectID) {
			forgotten = append(forgotten, e.SubjectID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.seenLedger(next)
	if err := r.sweep(ctx, forgotten); err != nil {
		return nil, err
	}
	return r, nil
}

// sweep tombstones the key streams of forgotten subjects that still hold
// events.
func (r *StoreRing) sweep(ctx context.Context, subjects []string) error {
	if len(subjects) == 0 {
		return nil
	}
	work := make(chan string)
	errs := make(chan error, sweepWorkers)
	var wg sync.WaitGroup
	for range min(sweepWorkers, len(subjects)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range work {
				if err := r.tombstoneIfLive(ctx, s); err != nil {
					errs <- err
					for range work {
					}
					return
				}
			}
		}()
	}
	var err error
feed:
	for _, s := range subjects {
		select {
		case work <- s:
		case err = <-errs:
			break feed
		}
	}
	close(work)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	return err
}

// tombstoneIfLive tombstones subject's key stream when it holds events.
func (r *StoreRing) tombstoneIfLive(ctx context.Context, subject string) error {
	evs, err := r.store.ReadStream(ctx, KeyStream(subject), 0, 1)
	if errors.Is(err, eventstore.ErrStreamDeleted) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("keyring: reading the key stream of subject %s: %w", subject, err)
	}
	if len(evs) == 0 {
		return nil
	}
	return r.tombstone(ctx, subject)
}

func (r *StoreRing) tombstone(ctx context.Context, subject string) error {
	err := r.store.Tombstone(ctx, KeyStream(subject), eventstore.Any())
	if err != nil && !errors.Is(err, eventstore.ErrStreamDeleted) {
		return fmt.Errorf("keyring: tombstoning the key stream of subject %s: %w", subject, err)
	}
	return nil
}

// readKey reads subject's key event: nil when there is none.
func (r *StoreRing) readKey(ctx context.Context, subject string) (*keyData, error) {
	evs, err := r.store.ReadStream(ctx, KeyStream(subject), 0, 1)
	if errors.Is(err, eventstore.ErrStreamDeleted) {
		r.c.markForgotten(subject)
		return nil, fmt.Errorf("%w: %s", ErrForgotten, subject)
	}
	if err != nil {
		return nil, fmt.Errorf("keyring: reading the key of subject %s: %w", subject, err)
	}
	if len(evs) == 0 {
		return nil, nil
	}
	var d keyData
	if err := json.Unmarshal(evs[0].Data, &d); err != nil || evs[0].Type != KeyEventType || d.SubjectID != subject {
		return nil, fmt.Errorf("%w: the key event of subject %s is malformed", ErrCorrupt, subject)
	}
	return &d, nil
}

// load returns subject's stored key, nil when it has none.
func (r *StoreRing) load(ctx context.Context, subject string) (*DataKey, error) {
	d, err := r.readKey(ctx, subject)
	if err != nil || d == nil {
		return nil, err
	}
	k, err := r.c.unwrapKey(subject, d.KeyID, d.Wrapped)
	if err != nil {
		return nil, err
	}
	if err := r.c.put(k); err != nil {
		return nil, err
	}
	return k, nil
}

// DataKey implements Ring.
func (r *StoreRing) DataKey(ctx context.Context, subject string) (*DataKey, error) {
	if err := validSubject(subject); err != nil {
		return nil, err
	}
	if k, err := r.c.cached(subject); k != nil || err != nil {
		return k, err
	}
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if k, err := r.c.cached(subject); k != nil || err != nil {
		return k, err
	}
	if k, err := r.load(ctx, subject); k != nil || err != nil {
		return k, err
	}
	key, keyID, err := r.c.newKey()
	if err != nil {
		return nil, err
	}
	defer clear(key)
	wrapped, err := r.c.wrapKey(subject, keyID, key)
	if err != nil {
		return nil, err
	}
	k, err := newDataKey(subject, keyID, key)
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(keyData{SubjectID: subject, KeyID: keyID, Fingerprint: fingerprint(key), Wrapped: wrapped, CreatedAt: r.c.now().UTC()})
	if err != nil {
		return nil, err
	}
	id, err := r.c.newEventID()
	if err != nil {
		return nil, err
	}
	_, err = r.store.Append(ctx, KeyStream(subject), eventstore.NoStream(), eventstore.EventData{
		ID: id, Type: KeyEventType, Data: data, Metadata: []byte(`{"schema_version":1}`),
	})
	switch {
	case errors.Is(err, eventstore.ErrConflict):
		// Another replica created the key first: use theirs.
		k, err := r.load(ctx, subject)
		if err == nil && k == nil {
			err = fmt.Errorf("%w: the key stream of subject %s exists but is empty", ErrCorrupt, subject)
		}
		return k, err
	case errors.Is(err, eventstore.ErrStreamDeleted):
		r.c.markForgotten(subject)
		return nil, fmt.Errorf("%w: %s", ErrForgotten, subject)
	case err != nil:
		return nil, fmt.Errorf("keyring: storing the key of subject %s: %w", subject, err)
	}
	if err := r.c.put(k); err != nil {
		return nil, err
	}
	return k, nil
}

// Key implements Ring.
func (r *StoreRing) Key(ctx context.Context, subject, keyID string) (*DataKey, error) {
	k, err := r.c.cached(subject)
	if err != nil {
		return nil, err
	}
	if k == nil {
		if err := validSubject(subject); err != nil {
			return nil, err
		}
		if k, err = r.load(ctx, subject); err != nil {
			return nil, err
		}
		if k == nil {
			return nil, fmt.Errorf("%w: subject %s has no key", ErrUnknownKey, subject)
		}
	}
	return keyFor(k, subject, keyID)
}

// Forget implements Ring. Once it returns nil, the ledger holds the erasure
// and the key stream is tombstoned; the server's next scavenge removes the
// wrapped key from its files.
func (r *StoreRing) Forget(ctx context.Context, subject string) error {
	if err := validSubject(subject); err != nil {
		return err
	}
	if err := r.c.checkOpen(); err != nil {
		return err
	}
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if r.c.isForgotten(subject) {
		// Finish an earlier Forget that failed after its ledger record.
		return r.tombstoneIfLive(ctx, subject)
	}
	d, err := r.readKey(ctx, subject)
	if errors.Is(err, ErrForgotten) {
		// Tombstoned by another replica, which wrote the ledger record first.
		return nil
	}
	if err != nil {
		return err
	}
	e := Erasure{SubjectID: subject, ForgottenAt: r.c.now().UTC()}
	if d != nil {
		e.KeyID, e.KeyFingerprint = d.KeyID, d.Fingerprint
	}
	if err := r.c.appendErasure(ctx, r.store, e); err != nil {
		return err
	}
	r.c.markForgotten(subject)
	// Tombstone even a stream that never existed, so that no replica that
	// has not seen the ledger yet creates a key for the subject.
	return r.tombstone(ctx, subject)
}

// Bind implements Ring.
func (r *StoreRing) Bind(dst []byte, eventID [16]byte, subject, keyID string, sealed []byte) []byte {
	return r.c.bind(dst, eventID, subject, keyID, sealed)
}

// BindEvent implements Ring.
func (r *StoreRing) BindEvent(dst []byte, e *EventBinding) []byte { return r.c.bindEvent(dst, e) }

// MinBindingVersion implements Ring.
func (r *StoreRing) MinBindingVersion() int { return r.c.minBinding }

// Observe implements Ring.
func (r *StoreRing) Observe(ev eventstore.Event) error {
	_, _, err := r.c.observe(ev)
	return err
}

// Refresh implements Ring.
func (r *StoreRing) Refresh(ctx context.Context) error {
	if err := r.c.checkOpen(); err != nil {
		return err
	}
	next, err := r.c.readLedger(ctx, r.store, r.c.ledgerFrom(), func(e Erasure) error {
		r.c.markForgotten(e.SubjectID)
		return nil
	})
	if err != nil {
		return err
	}
	r.c.seenLedger(next)
	return nil
}

// Close implements Ring. It does not close the event store.
func (r *StoreRing) Close() error {
	r.c.close()
	return nil
}
