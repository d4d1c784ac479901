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
//     version unmarshals straight into a new value of the type.
//   - Errors name types, ids and versions, never field values.
package codec

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	jsonv2 "github.com/go-json-experiment/json"
	"io"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/aseptsoft/subledger/eventstore"
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

// Meta is an event's envelope: who and what caused it, and how its personal
// part is encrypted.
type Meta struct {
	// EventID is the event's id. Encode uses it when set (it must be a UUID)
	// and draws a fresh one otherwise.
	EventID string
	// Stream is the stream the event is (to be) appended to. Encode needs
	// it, for the binding covers it; Decode reports the stored event's.
	Stream string
	// Actor names who caused the event (an account id, "stripe", "admin").
	Actor string
	// RequestID is the id of the HTTP request or webhook delivery that
	// caused the event.
	RequestID string
	// CorrelationID is the id of the conversation (request chain) the event
	// belongs to.
	CorrelationID string
	// CausationID is the id of the command or event that caused it.
	CausationID string
	// SchemaVersion is the version the event's data was written in: set by
	// Encode to the type's current version; Decode reports the stored
	// version (before upcasting).
	SchemaVersion int
	// SubjectID is the data subject of the event's personal data, set by
	// Encode from DataSubject.
	SubjectID string
	// KeyID names the data key of the personal part; empty when there is
	// none.
	KeyID string
	// Erased is set by Decode when the event's personal part could not be
	// read because its subject was forgotten; every personal field is zero.
	Erased bool
}

type metaJSON struct {
	Actor          string `json:"actor,omitempty"`
	RequestID      string `json:"request_id,omitempty"`
	CorrelationID  string `json:"correlation_id,omitempty"`
	CausationID    string `json:"causation_id,omitempty"`
	SchemaVersion  int    `json:"schema_version"`
	SubjectID      string `json:"subject_id,omitempty"`
	KeyID          string `json:"key_id,omitempty"`
	BindingVersion int    `json:"binding_version,omitempty"`
	Binding        []byte `json:"binding,omitempty"`
}

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

type scratch struct {
	aad    []byte
	sealed []byte
	plain  []byte
	rnd    [16 + nonceSize]byte
	bind   keyring.EventBinding
	mac    [bindingSize]byte // the binding Decode computes
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

func (c *Codec) read(b []byte) error {
	if c.randMu != nil {
		c.randMu.Lock()
		defer c.randMu.Unlock()
	}
	_, err := io.ReadFull(c.random, b)
	return err
}

// Encode turns event into EventData for meta.Stream: a new event id (unless
// meta.EventID is set), plain fields in clear JSON, personal fields
// encrypted as one part with the subject's data key (created at first use),
// and the metadata with the event's binding. It fails with
// keyring.ErrForgotten when the event carries personal data of a forgotten
// subject, and with ErrNoStream without meta.Stream.
func (c *Codec) Encode(ctx context.Context, event Typer, meta Meta) (eventstore.EventData, error) {
	if event == nil {
		return eventstore.EventData{}, fmt.Errorf("%w: nil event", ErrUnknownType)
	}
	name := event.EventType()
	info := c.reg.lookup(name)
	v := reflect.ValueOf(event)
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return eventstore.EventData{}, fmt.Errorf("%w: nil %s", ErrUnknownType, name)
		}
		v = v.Elem()
	}
	if info == nil || info.name != name || v.Type() != info.typ {
		return eventstore.EventData{}, fmt.Errorf("%w: %q (%s) is not registered", ErrUnknownType, name, v.Type())
	}
	if meta.Stream == "" {
		return eventstore.EventData{}, fmt.Errorf("%w: %s", ErrNoStream, name)
	}
	s := c.scratch.Get().(*scratch)
	defer c.scratch.Put(s)
	var id uuid.UUID
	if meta.EventID != "" {
		var err error
		if id, err = uuid.Parse(meta.EventID); err != nil {
			return eventstore.EventData{}, fmt.Errorf("codec: event id %q is not a UUID", meta.EventID)
		}
	} else {
		if err := c.read(s.rnd[:16]); err != nil {
			return eventstore.EventData{}, fmt.Errorf("codec: drawing an event id: %w", err)
		}
		id = uuid.Must(uuid.FromBytes(s.rnd[:16]))
		id[6] = (id[6] & 0x0f) | 0x40 // version 4
		id[8] = (id[8] & 0x3f) | 0x80 // RFC 4122 variant
	}
	m := metaJSON{Actor: meta.Actor, RequestID: meta.RequestID, CorrelationID: meta.CorrelationID, CausationID: meta.CausationID,
		SchemaVersion: info.version, BindingVersion: bindingVersion}
	if info.hasSubject {
		m.SubjectID = subjectOf(event, v)
	}

	var data, plain, sealed []byte
	personalSet := false
	for _, f := range info.personal {
		if !v.FieldByIndex(f.index).IsZero() {
			personalSet = true
			break
		}
	}
	if len(info.personal) == 0 {
		var err error
		if data, err = json.Marshal(event); err != nil {
			return eventstore.EventData{}, fmt.Errorf("codec: encoding %s: %w", name, err)
		}
		plain = data
	} else {
		var err error
		plain, err = marshalView(v, info.plain, info.plainView)
		if err != nil {
			return eventstore.EventData{}, fmt.Errorf("codec: encoding %s: %w", name, err)
		}
		if !personalSet {
			data = plain
		} else {
			if m.SubjectID == "" {
				return eventstore.EventData{}, fmt.Errorf("%w: %s", ErrNoSubject, name)
			}
			key, err := c.ring.DataKey(ctx, m.SubjectID)
			if err != nil {
				return eventstore.EventData{}, fmt.Errorf("codec: encoding %s for subject %s: %w", name, m.SubjectID, err)
			}
			pt, err := marshalView(v, info.personal, info.persView)
			if err != nil {
				return eventstore.EventData{}, fmt.Errorf("codec: encoding %s: %w", name, err)
			}
			sealed, err = c.seal(s, key, id, pt)
			clear(pt)
			if err != nil {
				return eventstore.EventData{}, err
			}
			m.KeyID = key.ID()
			data = make([]byte, 0, len(personalPrefix)+base64.StdEncoding.EncodedLen(len(sealed))+len(plain)+2)
			data = append(data, personalPrefix...)
			data = base64.StdEncoding.AppendEncode(data, sealed)
			data = append(data, '"')
			if len(plain) > 2 {
				data = append(data, ',')
				data = append(data, plain[1:]...)
			} else {
				data = append(data, '}')
			}
		}
	}
	// The binding covers the metadata as Decode will read it back:
	// encoding/json writes each invalid UTF-8 byte as U+FFFD.
	for _, p := range [...]*string{&m.Actor, &m.RequestID, &m.CorrelationID, &m.CausationID, &m.SubjectID} {
		*p = validUTF8(*p)
	}
	// plain is what Decode will find: the data without the personal part.
	s.bind = keyring.EventBinding{EventID: id, Type: name, SchemaVersion: m.SchemaVersion, Stream: meta.Stream,
		Subject: m.SubjectID, KeyID: m.KeyID, Actor: m.Actor, RequestID: m.RequestID, CorrelationID: m.CorrelationID, CausationID: m.CausationID,
		Plain: plain, Sealed: sealed}
	m.Binding = c.ring.BindEvent(make([]byte, 0, bindingSize), &s.bind)
	s.bind = keyring.EventBinding{}
	md, err := json.Marshal(m)
	if err != nil {
		return eventstore.EventData{}, fmt.Errorf("codec: encoding the metadata of %s: %w", name, err)
	}
	return eventstore.EventData{ID: id.String(), Type: name, Data: data, Metadata: md}, nil
}

// validUTF8 returns s with each byte that is not valid UTF-8 replaced by
// U+FFFD, as encoding/json writes it.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func subjectOf(event Typer, v reflect.Value) string {
	if s, ok := event.(Subjecter); ok {
		return s.DataSubject()
	}
	p := reflect.New(v.Type()) // DataSubject has a pointer receiver
	p.Elem().Set(v)
	return p.Interface().(Subjecter).DataSubject()
}

// marshalView encodes the fields of v listed in fields through a struct of
// type view that has exactly those fields, in order, with their JSON names.
func marshalView(v reflect.Value, fields []field, view reflect.Type) ([]byte, error) {
	p := reflect.New(view)
	e := p.Elem()
	for i, f := range fields {
		e.Field(i).Set(v.FieldByIndex(f.index))
	}
	return json.Marshal(p.Interface())
}

func aad(dst []byte, id uuid.UUID, subject string) []byte {
	dst = append(dst[:0], id[:]...)
	return append(dst, subject...)
}

// seal encrypts plaintext: 0x01 || nonce || ciphertext || tag.
func (c *Codec) seal(s *scratch, key *keyring.DataKey, id uuid.UUID, plaintext []byte) ([]byte, error) {
	out := make([]byte, 1+nonceSize, 1+nonceSize+len(plaintext)+gcmTagSize)
	out[0] = sealedVersion
	if err := c.read(out[1:]); err != nil {
		return nil, fmt.Errorf("codec: drawing a nonce: %w", err)
	}
	s.aad = aad(s.aad, id, key.Subject())
	return key.AEAD().Seal(out, out[1:1+nonceSize], plaintext, s.aad), nil
}

// Decode turns a stored event back into its domain value (of the kind,
// struct or pointer, of the registered prototype) and its Meta. When the
// subject was forgotten, the value's personal fields are zero and
// Meta.Erased is true. A changed event fails with ErrIntegrity, checked
// before the type's schema version (ErrVersion) and the JSON.
func (c *Codec) Decode(ctx context.Context, ev eventstore.Event) (any, Meta, error) {
	info := c.reg.lookup(ev.Type)
	if info == nil {
		return nil, Meta{}, fmt.Errorf("%w: %q (event %s)", ErrUnknownType, ev.Type, ev.ID)
	}
	m, err := parseMeta(ev.Metadata)
	if err != nil {
		return nil, Meta{}, fmt.Errorf("%w: the metadata of event %s", ErrMalformed, ev.ID)
	}
	meta := Meta{EventID: ev.ID, Stream: ev.Stream, Actor: m.actor, RequestID: m.request, CorrelationID: m.correlation, CausationID: m.causation,
		SchemaVersion: max(m.version, 1), SubjectID: m.subject, KeyID: m.keyID}
	s := c.scratch.Get().(*scratch)
	defer c.scratch.Put(s)
	plain, plaintext, erased, err := c.open(ctx, s, ev, &m)
	if err != nil {
		return nil, meta, err
	}
	if meta.SchemaVersion > info.version {
		clear(plaintext)
		return nil, meta, fmt.Errorf("%w: event %s of type %s has version %d, this build knows up to %d", ErrVersion, ev.ID, ev.Type, meta.SchemaVersion, info.version)
	}
	meta.Erased = erased
	p := reflect.New(info.typ)
	if meta.SchemaVersion == info.version {
		err = decodeCurrent(p, info, plain, plaintext)
	} else {
		err = decodeOld(p, info, meta.SchemaVersion, plain, plaintext)
	}
	clear(plaintext)
	if err != nil {
		return nil, meta, fmt.Errorf("%w: event %s of type %s: %v", ErrMalformed, ev.ID, ev.Type, errorKind(err))
	}
	if erased {
		zeroPersonal(p.Elem(), info)
	}
	if info.ptr {
		return p.Interface(), meta, nil
	}
	return p.Elem().Interface(), meta, nil
}

// errorKind describes a JSON error without quoting the input.
func errorKind(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at offset %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q does not hold a %s", te.Field, te.Type)
	default:
		return "cannot decode"
	}
}

// open finds the personal part of ev, checks the event's binding and
// decrypts the personal part. It returns the plain fields' JSON, the
// plaintext JSON of the personal fields (in a buffer the caller clears), or
// erased when the subject was forgotten.
func (c *Codec) open(ctx context.Context, s *scratch, ev eventstore.Event, m *metaFields) (plain, plaintext []byte, erased bool, err error) {
	plain, sealed, found, err := personalPart(s, ev.Data)
	if err != nil {
		return nil, nil, false, fmt.Errorf("%w: event %s: %v", ErrIntegrity, ev.ID, err)
	}
	var id uuid.UUID
	switch m.bindingVersion {
	case bindingVersion:
		if id, err = c.checkBinding(s, ev, m, plain, sealed); err != nil {
			return nil, nil, false, err
		}
		if !found {
			if m.keyID != "" {
				return nil, nil, false, fmt.Errorf("%w: event %s names a key but has no personal part", ErrIntegrity, ev.ID)
			}
			return plain, nil, false, nil
		}
		if m.subject == "" || m.keyID == "" {
			return nil, nil, false, fmt.Errorf("%w: event %s has a personal part without subject or key id", ErrIntegrity, ev.ID)
		}
		if len(sealed) < 1+nonceSize+gcmTagSize || sealed[0] != sealedVersion {
			return nil, nil, false, fmt.Errorf("%w: event %s: the personal part is not a version %d ciphertext", ErrIntegrity, ev.ID, sealedVersion)
		}
	case 0:
		// Written before binding version 2.
		if c.ring.MinBindingVersion() >= bindingVersion {
			return nil, nil, false, fmt.Errorf("%w: event %s has no version %d binding, which every event of this key ring's store has", ErrIntegrity, ev.ID, bindingVersion)
		}
		if id, err = c.checkBindingV1(ev, m, sealed, found); err != nil {
			return nil, nil, false, err
		}
		if !found {
			return plain, nil, false, nil
		}
	default:
		if m.bindingVersion > bindingVersion {
			return nil, nil, false, fmt.Errorf("%w: event %s has binding version %d, this build knows up to %d", ErrVersion, ev.ID, m.bindingVersion, bindingVersion)
		}
		return nil, nil, false, fmt.Errorf("%w: event %s has binding version %d", ErrIntegrity, ev.ID, m.bindingVersion)
	}
	key, err := c.ring.Key(ctx, m.subject, m.keyID)
	switch {
	case errors.Is(err, keyring.ErrForgotten):
		return plain, nil, true, nil
	case errors.Is(err, keyring.ErrUnknownKey), errors.Is(err, keyring.ErrInvalidSubject):
		return nil, nil, false, fmt.Errorf("%w: event %s: %v", ErrIntegrity, ev.ID, err)
	case err != nil:
		return nil, nil, false, fmt.Errorf("codec: event %s: %w", ev.ID, err)
	}
	s.aad = aad(s.aad, id, m.subject)
	ct := sealed[1+nonceSize:]
	pt, err := key.AEAD().Open(ct[:0], sealed[1:1+nonceSize], ct, s.aad)
	if err != nil {
		return nil, nil, false, fmt.Errorf("%w: event %s: the personal part does not decrypt", ErrIntegrity, ev.ID)
	}
	return plain, pt, false, nil
}

// checkBinding verifies a version 2 binding over everything the reader
// trusts: the stored event's id (in its canonical form), type and stream,
// the metadata's fields, the plain JSON as stored and the ciphertext.
func (c *Codec) checkBinding(s *scratch, ev eventstore.Event, m *metaFields, plain, sealed []byte) (uuid.UUID, error) {
	if m.bindingLen != bindingSize {
		return uuid.UUID{}, fmt.Errorf("%w: event %s has no binding", ErrIntegrity, ev.ID)
	}
	id, err := uuid.Parse(ev.ID)
	if err != nil || !canonicalUUID(ev.ID) {
		return uuid.UUID{}, fmt.Errorf("%w: event id %q is not a UUID in canonical form", ErrIntegrity, ev.ID)
	}
	s.bind = keyring.EventBinding{EventID: id, Type: ev.Type, SchemaVersion: m.version, Stream: ev.Stream,
		Subject: m.subject, KeyID: m.keyID, Actor: m.actor, RequestID: m.request, CorrelationID: m.correlation, CausationID: m.causation,
		Plain: plain, Sealed: sealed}
	ok := hmac.Equal(c.ring.BindEvent(s.mac[:0], &s.bind), m.binding[:])
	s.bind = keyring.EventBinding{}
	if !ok {
		return uuid.UUID{}, fmt.Errorf("%w: event %s of type %s in stream %s: its binding does not match", ErrIntegrity, ev.ID, ev.Type, ev.Stream)
	}
	return id, nil
}

// canonicalUUID reports whether id, which parses as a UUID, is written the
// way the codec writes it: 36 characters, lower-case hex.
func canonicalUUID(id string) bool {
	if len(id) != 36 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c >= 'A' && c <= 'F' {
			return false
		}
	}
	return true
}

// checkBindingV1 verifies an event written before binding version 2: one
// with a personal part carries a version 1 binding of its event id,
// subject id, key id and ciphertext; one without carries no key id and no
// binding.
func (c *Codec) checkBindingV1(ev eventstore.Event, m *metaFields, sealed []byte, found bool) (uuid.UUID, error) {
	if !found {
		if m.keyID != "" || m.bindingLen != 0 {
			return uuid.UUID{}, fmt.Errorf("%w: event %s names a key but has no personal part", ErrIntegrity, ev.ID)
		}
		return uuid.UUID{}, nil
	}
	if m.subject == "" || m.keyID == "" || m.bindingLen != bindingSize {
		return uuid.UUID{}, fmt.Errorf("%w: event %s has a personal part without subject, key id or binding", ErrIntegrity, ev.ID)
	}
	id, err := uuid.Parse(ev.ID)
	if err != nil {
		return uuid.UUID{}, fmt.Errorf("%w: event id %q is not a UUID", ErrIntegrity, ev.ID)
	}
	if len(sealed) < 1+nonceSize+gcmTagSize || sealed[0] != sealedVersion {
		return uuid.UUID{}, fmt.Errorf("%w: event %s: the personal part is not a version %d ciphertext", ErrIntegrity, ev.ID, sealedVersion)
	}
	var want [bindingSize]byte
	if !hmac.Equal(c.ring.Bind(want[:0], id, m.subject, m.keyID, sealed), m.binding[:]) {
		return uuid.UUID{}, fmt.Errorf("%w: event %s: binding of event id, subject %s, key %s and ciphertext does not match", ErrIntegrity, ev.ID, m.subject, m.keyID)
	}
	return id, nil
}

// personalPart splits data into the plain fields' JSON and the decoded
// "_personal" member, if any. Both may live in the scratch buffers.
func personalPart(s *scratch, data []byte) (plain, sealed []byte, found bool, err error) {
	if bytes.HasPrefix(data, personalPrefix) {
		rest := data[len(personalPrefix):]
		if end := bytes.IndexByte(rest, '"'); end >= 0 && end+1 < len(rest) && (rest[end+1] == ',' || rest[end+1] == '}') {
			enc := rest[:end]
			n := base64.StdEncoding.DecodedLen(len(enc))
			if cap(s.sealed) < n {
				s.sealed = make([]byte, n)
			}
			n, err := base64.StdEncoding.Decode(s.sealed[:n], enc)
			if err != nil {
				return nil, nil, false, errors.New("the personal part is not base64")
			}
			// The plain fields: "{" and whatever follows the member.
			after := rest[end+1:]
			if after[0] == ',' {
				after = after[1:]
			}
			s.plain = append(append(s.plain[:0], '{'), after...)
			return s.plain, s.sealed[:n], true, nil
		}
	}
	if !containsPersonalMember(data) {
		return data, nil, false, nil
	}
	// Not in the codec's own layout: parse the object.
	var part struct {
		P []byte `json:"_personal"`
	}
	if err := json.Unmarshal(data, &part); err != nil {
		return nil, nil, false, errors.New("the data is not a JSON object with a base64 personal part")
	}
	return data, part.P, part.P != nil, nil
}

// containsPersonalMember reports whether personalMember occurs in data, as
// bytes.Contains(data, personalMember) does, only faster on JSON: it looks
// for the member's tail, whose first byte is rarer in JSON than a quote.
func containsPersonalMember(data []byte) bool {
	tail := personalMember[2:] // personal"
	for i := 0; ; {
		j := bytes.Index(data[i:], tail)
		if j < 0 {
			return false
		}
		i += j
		if i >= 2 && data[i-2] == personalMember[0] && data[i-1] == personalMember[1] {
			return true
		}
		i++
	}
}

// decodeCurrent decodes an event written in its type's current version. It
// uses the encoding/json v2 prototype (github.com/go-json-experiment/json),
// which reads the JSON that encoding/json writes about twice as fast; field
// names match exactly (the codec wrote them), unknown members are ignored.
func decodeCurrent(p reflect.Value, info *typeInfo, data, plaintext []byte) error {
	target := p.Interface()
	if err := jsonv2.Unmarshal(data, target); err != nil {
		return err
	}
	if len(info.personal) == 0 {
		return nil
	}
	// Personal fields come only from the personal part, never from data.
	zeroPersonal(p.Elem(), info)
	if plaintext == nil {
		return nil
	}
	return jsonv2.Unmarshal(plaintext, target)
}

func decodeOld(p reflect.Value, info *typeInfo, version int, data, plaintext []byte) error {
	fields := map[string]json.RawMessage{}
	if err := json.Unmarshal(data, &fields); err != nil {
		return err
	}
	delete(fields, personalKey)
	if plaintext != nil {
		var pers map[string]json.RawMessage
		if err := json.Unmarshal(plaintext, &pers); err != nil {
			return err
		}
		for k, v := range pers {
			fields[k] = v
		}
	}
	for v := version; v < info.version; v++ {
		if err := info.upcasters[v-1](fields); err != nil {
			return fmt.Errorf("upcasting from version %d: %w", v, err)
		}
	}
	b, err := json.Marshal(fields)
	if err != nil {
		return err
	}
	err = json.Unmarshal(b, p.Interface())
	clear(b)
	return err
}

func zeroPersonal(v reflect.Value, info *typeInfo) {
	for _, f := range info.personal {
		v.FieldByIndex(f.index).SetZero()
	}
}
