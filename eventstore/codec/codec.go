// Package codec turns domain events into eventstore.EventData and back,
// encrypting their personal fields with the data subject's key from a
// keyring.Ring.
//
// Decisions:
//
//   - A domain event is a Go struct with json tags that implements
//     EventType() string. Fields tagged personal:"true" are personal; an
//     event with personal fields implements DataSubject() string, the id of
//     the subject (customer account, affiliate) they belong to.
//   - Data is one JSON object: the plain fields as encoding/json writes them,
//     and, when at least one personal field is not zero, the member
//     "_personal" first: base64 of 0x01 || 12-byte random nonce ||
//     AES-256-GCM ciphertext and tag of the personal fields' JSON object,
//     under the subject's data key, with additional data = the event id's 16
//     bytes || the subject id. All-zero personal fields are not written at
//     all, so such an event needs no key (and can be written for a
//     forgotten subject).
//   - Metadata is JSON: actor, request_id, correlation_id, causation_id,
//     schema_version, subject_id, key_id, binding_version and binding.
//   - Every event, with or without personal fields, gets a version 2
//     binding (binding_version 2): Ring.BindEvent's MAC, under a ring secret
//     that survives Forget, of the event id, type, schema version, stream
//     (Meta.Stream), subject id, key id, actor, request, correlation and
//     causation ids, the plain fields' JSON byte for byte as stored (the
//     data without the personal part) and the personal ciphertext (none
//     when there is no personal part). Decode checks it before it reads
//     anything, so an edited plain field, type, schema version, stream,
//     event id or metadata field, a swapped or removed personal part is an
//     ErrIntegrity, even after the subject's key is gone, and is never shown
//     as erased. The plain JSON is authenticated as stored, not re-encoded:
//     a store must keep the data's bytes (both backends do).
//   - Events written before version 2 have no binding_version: those with a
//     personal part carry a version 1 binding (Ring.Bind: event id, subject
//     id, key id, ciphertext), checked as before; those without one carry
//     none. They are accepted only with a key ring that predates version 2
//     (Ring.MinBindingVersion 1); a ring created since binds every event of
//     its store, so there an event without a version 2 binding is an
//     ErrIntegrity (else stripping the binding would make any event pass as
//     an old one). On an older ring, old events keep the protection they
//     had: their plain fields are not authenticated.
//   - Decode of an event whose subject was forgotten succeeds with every
//     personal field zero and Meta.Erased true.
//   - Event types are versioned: Decode upcasts an older schema version with
//     the type's upcasters (on the fields as a JSON map, personal ones
//     included), and an old type name can be an alias of the new one.
//   - Reflection is done once per type at Register; Decode of the current
//     version unmarshals straight into a new value of the type, with a
//     decoder for the JSON Encode writes (fastdecode.go) when it reads the
//     event, else with the general one.
//   - Errors name types, ids and versions, never field values.
//
// The files: codec.go (the Codec), encode.go, decode.go, fastdecode.go (the
// decoder of Encode's JSON), box.go (returning a decoded struct without a
// copy), binding.go (the checks of the binding on decode), meta.go (the
// metadata) and registry.go (the event types and their reflection).
package codec

import (
	"crypto/rand"
	"errors"
	"io"
	"sync"

	"github.com/aseptsoft/subledger/eventstore/keyring"
)

// Errors of Encode and Decode. Callers test them with errors.Is.
var (
	// ErrUnknownType means the event type is not registered.
	ErrUnknownType = errors.New("codec: unknown event type")
	// ErrIntegrity means an event was changed after it was written: any
	// part its binding covers (see the package comment), or the binding.
	ErrIntegrity = errors.New("codec: event failed its integrity check")
	// ErrMalformed means an event's data or metadata is not the JSON the
	// codec writes.
	ErrMalformed = errors.New("codec: malformed event")
	// ErrVersion means an event's schema version is newer than its type's.
	ErrVersion = errors.New("codec: unknown schema version")
	// ErrNoSubject means an event with personal data names no subject.
	ErrNoSubject = errors.New("codec: event with personal data has no data subject")
	// ErrNoStream means Encode was given no stream (Meta.Stream) to bind
	// the event to.
	ErrNoStream = errors.New("codec: no stream to bind the event to")
)

const (
	sealedVersion = 1
	nonceSize     = 12
	gcmTagSize    = 16
	bindingSize   = 16
	// bindingVersion is the binding Encode writes (Ring.BindEvent); events
	// without binding_version are version 1 (Ring.Bind, or no binding).
	bindingVersion = 2
)

// personalPrefix starts the data of an event with a personal part.
var personalPrefix = []byte(`{"` + personalKey + `":"`)

// personalMember is how the member looks anywhere in a JSON object: inside
// a string a quote is always escaped, so it cannot occur in a value.
var personalMember = []byte(`"` + personalKey + `"`)

// Config tunes a Codec. The zero value is ready to use.
type Config struct {
	// Rand is the source of event ids and nonces; crypto/rand.Reader by
	// default. Reads from a source other than crypto/rand are serialized.
	Rand io.Reader
}

// Codec encodes and decodes events. It is safe for concurrent use.
type Codec struct {
	reg     *Registry
	ring    keyring.Ring
	random  io.Reader
	randMu  *sync.Mutex // nil for crypto/rand, which is safe for concurrent use
	scratch sync.Pool   // *scratch
}

// scratch holds the buffers of one Encode or Decode.
type scratch struct {
	aad    []byte
	sealed []byte
	plain  []byte
	rnd    [16 + nonceSize]byte
	bind   keyring.EventBinding
	mac    [bindingSize]byte // the binding Decode computes
	fast   fastDecoder
}

// New returns a codec for the types in reg, with keys from ring.
func New(reg *Registry, ring keyring.Ring, cfg Config) *Codec {
	c := &Codec{reg: reg, ring: ring, random: cfg.Rand}
	if c.random == nil {
		c.random = rand.Reader
	} else {
		c.randMu = new(sync.Mutex)
	}
	c.scratch.New = func() any { return new(scratch) }
	return c
}

// read fills b from the codec's random source.
func (c *Codec) read(b []byte) error {
	if c.randMu != nil {
		c.randMu.Lock()
		defer c.randMu.Unlock()
	}
	_, err := io.ReadFull(c.random, b)
	return err
}
