// Package keyring keeps one AES-256-GCM data key per data subject (a
// customer account, an affiliate) for crypto-shredding: personal data in
// events is encrypted with the subject's key, and erasing the subject is
// deleting that key.
//
// Decisions:
//
//   - A data key is 32 random bytes, created at the subject's first use and
//     named by a key id of 16 hex digits (8 random bytes). A subject has at
//     most one key in its life: after Forget no new key is ever minted for it,
//     and DataKey fails with ErrForgotten.
//   - Keys are stored wrapped with AES-256-GCM under the master key, with
//     additional data binding the subject id and the key id, so a wrapped key
//     copied to another subject does not unwrap. Unwrapped keys live only in
//     a bounded in-memory cache (Config.CacheSize); nothing unwrapped is ever
//     written anywhere.
//   - The ring also keeps a random binding secret (stored wrapped, like a
//     data key) for the codec's event bindings: MACs that outlive Forget,
//     so that the codec tells an erased event from a tampered one. Bind is
//     version 1 (event id, subject, key id and ciphertext of an encrypted
//     event), kept to verify old events; BindEvent is version 2 (every part
//     of any event a reader trusts, see EventBinding), under a subkey of
//     the secret, so that a tag of one version never verifies as the other.
//   - A ring created by this build records in its header that every event
//     written with it carries a version 2 binding (MinBindingVersion 2),
//     and wraps the binding secret with additional data naming that
//     version, so the record cannot be lowered without the master key (the
//     secret would not unwrap); the codec then
//     refuses an event without one instead of reading it as an old event.
//     A ring created before says 1, and old events without a version 2
//     binding are accepted as before. Builds that only write version 1
//     bindings refuse to open a version 2 ring (unknown format).
//   - A wrong master key is detected at Open by a key-check value (an HMAC
//     of a fixed label under the master key) kept in the ring's header;
//     Open then fails with ErrWrongMasterKey naming the master key's file.
//   - Forget first appends an erasure record to the erasure ledger, a stream
//     in the event store (LedgerStream; data: subject id, key id, key
//     fingerprint, time; no personal data), then destroys the stored key
//     (FileRing: the slot is overwritten in place and fsynced; StoreRing:
//     the key's stream is tombstoned). At Open every ring re-applies the
//     whole ledger, so a ring restored from an older backup, or a Forget
//     interrupted by a crash after its ledger record, cannot bring a
//     forgotten key back.
//   - Replicas: every process that holds a ring must pass the events of the
//     global order to Ring.Observe (the projector does it for each event it
//     applies), or run Follow; an erasure record then drops the subject's
//     key from that process's cache. A StoreRing that misses its cache finds
//     the key stream tombstoned and treats the subject as forgotten anyway.
//   - The clock and the random source are injected through Config; the
//     package keeps no state of its own.
//
// Errors may name subject ids (random ids), never personal data.
package keyring

import (
	"context"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/aseptsoft/subledger/eventstore"
)

// Errors returned by every Ring. Callers test them with errors.Is.
var (
	// ErrForgotten means the subject's key was forgotten: nothing can be
	// encrypted for the subject any more, and its encrypted data reads as
	// erased.
	ErrForgotten = errors.New("keyring: subject is forgotten")
	// ErrUnknownKey means the ring holds no key with that subject and key id
	// and never forgot one for the subject: the reference is wrong (tampered
	// metadata) or the ring lost the key (restored from a backup older than
	// the key).
	ErrUnknownKey = errors.New("keyring: no such data key")
	// ErrWrongMasterKey means the master key does not open the ring.
	ErrWrongMasterKey = errors.New("keyring: wrong master key")
	// ErrMasterKey means the master key file is missing, unreadable or
	// malformed.
	ErrMasterKey = errors.New("keyring: master key unavailable")
	// ErrCorrupt means the ring's stored state is damaged.
	ErrCorrupt = errors.New("keyring: key ring is corrupt")
	// ErrInvalidSubject means a subject id is empty, too long or contains
	// control characters.
	ErrInvalidSubject = errors.New("keyring: invalid subject id")
	// ErrClosed means the ring was closed.
	ErrClosed = errors.New("keyring: closed")
)

// MaxSubjectLen is the longest subject id, in bytes, that a ring accepts.
const MaxSubjectLen = 128

// Ring holds the data keys of data subjects. Implementations are safe for
// concurrent use.
type Ring interface {
	// DataKey returns the subject's data key for encrypting, creating and
	// durably storing it at the subject's first use. It fails with
	// ErrForgotten for a forgotten subject and never mints a new key for it.
	DataKey(ctx context.Context, subject string) (*DataKey, error)
	// Key returns the subject's data key named keyID, for decrypting. It
	// fails with ErrForgotten when the subject was forgotten and with
	// ErrUnknownKey when the ring has no such key.
	Key(ctx context.Context, subject, keyID string) (*DataKey, error)
	// Forget destroys the subject's data key for good and records the
	// erasure in the ledger. Forgetting a subject that has no key (yet)
	// still records it, so that no key is ever created for it; forgetting a
	// forgotten subject does nothing.
	Forget(ctx context.Context, subject string) error
	// Bind appends to dst a version 1 binding: a 16-byte MAC, under the
	// ring's binding secret, of an encrypted event's id (the UUID's 16
	// bytes), subject id, key id and ciphertext. It needs no data key, so it
	// still verifies after Forget. The codec only verifies it, on events
	// written before version 2.
	Bind(dst []byte, eventID [16]byte, subject, keyID string, sealed []byte) []byte
	// BindEvent appends to dst a version 2 binding: a 16-byte MAC of every
	// field of e, under a subkey of the ring's binding secret. Like Bind it
	// needs no data key and still verifies after Forget.
	BindEvent(dst []byte, e *EventBinding) []byte
	// MinBindingVersion is the lowest binding version an event decoded with
	// this ring may carry: 2 when the ring was created with version 2
	// bindings (every event of its store has one), 1 for a ring created
	// before (its old events carry a version 1 binding, or none when they
	// have no personal part).
	MinBindingVersion() int
	// Observe lets the ring see an event of the global order. An erasure
	// record from the ledger marks its subject forgotten and drops its key
	// from the cache; other events are ignored. Callers pass every event
	// they apply, in order (see Follow).
	Observe(ev eventstore.Event) error
	// Refresh reads the ledger records the ring has not seen yet and applies
	// them, for a process that does not call Observe (see RefreshEvery).
	Refresh(ctx context.Context) error
	// Close releases the ring. It is safe to call more than once.
	Close() error
}

// EventBinding is what a version 2 binding (Ring.BindEvent) authenticates:
// every part of an encoded event that a reader trusts. Strings and byte
// slices are length-prefixed in the MAC's input, so no two different
// bindings share an input.
type EventBinding struct {
	// EventID is the event id's 16 bytes.
	EventID [16]byte
	// Type is the event type name as stored.
	Type string
	// SchemaVersion is the schema version as stored in the metadata (0 when
	// it is absent).
	SchemaVersion int
	// Stream is the stream the event is appended to.
	Stream string
	// Subject and KeyID are the data subject and the key id of the
	// metadata; either may be empty.
	Subject, KeyID string
	// Actor, RequestID, CorrelationID and CausationID are the metadata's.
	Actor, RequestID, CorrelationID, CausationID string
	// Plain is the JSON object of the event's plain fields, byte for byte as
	// stored, without the personal part.
	Plain []byte
	// Sealed is the personal part's ciphertext; empty when the event has
	// none.
	Sealed []byte
}

// DataKey is a subject's unwrapped data key. Its key material never leaves
// the value: use AEAD to encrypt and decrypt.
type DataKey struct {
	subject string
	id      string
	aead    cipher.AEAD
	// material is the key itself, for Fingerprint and Pseudonym, which
	// derive from it only when asked (a rebuild, which loads every key,
	// needs neither). The AEAD's key schedule holds the same secret.
	material [keySize]byte
}

// Subject returns the id of the data subject the key belongs to.
func (k *DataKey) Subject() string { return k.subject }

// ID returns the key id that encrypted data names in its metadata.
func (k *DataKey) ID() string { return k.id }

// Fingerprint returns a digest that identifies the key material without
// revealing it (hex of the first 16 bytes of a labelled SHA-256).
func (k *DataKey) Fingerprint() string { return fingerprint(k.material[:]) }

// AEAD returns the key's AES-256-GCM with the standard 12-byte nonce.
func (k *DataKey) AEAD() cipher.AEAD { return k.aead }

// Pseudonym returns a stable random-looking id (a UUID) for the subject and
// a purpose (label), derived from the data key: it links nothing to the
// subject for anyone without the key, and after Forget nobody can compute
// it again. subledger uses it as the data subject of records that must not
// stay linkable to a person after their erasure (their e-mail reservation).
func (k *DataKey) Pseudonym(label string) string {
	// The pseudonym subkey: an HMAC-SHA256 of a fixed label under the key.
	var sub [sha256.Size]byte
	m := hmac.New(sha256.New, k.material[:])
	m.Write([]byte(labelPseudonym))
	m.Sum(sub[:0])
	m = hmac.New(sha256.New, sub[:])
	clear(sub[:])
	m.Write([]byte(label))
	var b [16]byte
	copy(b[:], m.Sum(nil))
	b[6] = b[6]&0x0f | 0x80 // version 8: custom
	b[8] = b[8]&0x3f | 0x80 // RFC 9562 variant
	return uuid.UUID(b).String()
}

// Pseudonym returns the subject's pseudonym for label (see DataKey.Pseudonym),
// creating the subject's key at first use; ErrForgotten once the subject is
// forgotten.
func Pseudonym(ctx context.Context, r Ring, subject, label string) (string, error) {
	k, err := r.DataKey(ctx, subject)
	if err != nil {
		return "", err
	}
	return k.Pseudonym(label), nil
}

// String describes the key without its material.
func (k *DataKey) String() string { return "data key " + k.id + " of subject " + k.subject }

// GoString describes the key without its material.
func (k *DataKey) GoString() string { return k.String() }

// DefaultCacheSize is the number of unwrapped keys a ring caches when
// Config.CacheSize is zero. An entry takes about 900 bytes (some 60 MB when
// full). A miss costs one unwrap for a FileRing (a few microseconds) but a
// read of the subject's key stream for a StoreRing (a round trip to
// KurrentDB). The generated store of `bench rebuild` misses only at each
// subject's first event from 2,048 entries up, since it writes a
// customer's whole life at once; a real store spreads a person's events
// over months, so the bound stays large.
const DefaultCacheSize = 65536

// Config tunes a ring. The zero value is ready to use.
type Config struct {
	// Now is the clock that stamps creations and erasures; time.Now by default.
	Now func() time.Time
	// Rand is the source of key material, key ids, wrapping nonces and the
	// ids of ledger events; crypto/rand.Reader by default. Reads are
	// serialized by the ring.
	Rand io.Reader
	// CacheSize bounds the number of unwrapped keys kept in memory;
	// DefaultCacheSize when zero. When full, a key not used since the
	// eviction last passed it is dropped (the CLOCK algorithm).
	CacheSize int
	// LedgerStream names the erasure ledger's stream; LedgerStream when
	// empty. Every ring sharing an event store must use the same name.
	LedgerStream string
	// Fence, when set, is told of every erasure before the ring records it
	// in the ledger; Forget fails, destroying nothing, when it fails (see
	// FenceFile: a copy of the erasures kept outside the data directory,
	// which outlives a restored backup).
	Fence Fence
}

// Fence keeps a copy of the erasures outside the event store (Config.Fence).
type Fence interface {
	// Record makes e durable in the fence before it returns; recording a
	// subject that the fence already holds does nothing.
	Record(e Erasure) error
}

// validSubject checks a subject id.
func validSubject(subject string) error {
	if subject == "" || len(subject) > MaxSubjectLen {
		return ErrInvalidSubject
	}
	for i := 0; i < len(subject); i++ {
		if c := subject[i]; c < 0x20 || c == 0x7f {
			return ErrInvalidSubject
		}
	}
	return nil
}
