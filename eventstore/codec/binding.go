package codec

import (
	"crypto/hmac"
	"fmt"

	"github.com/google/uuid"

	"github.com/aseptsoft/subledger/eventstore"
	"github.com/aseptsoft/subledger/eventstore/keyring"
)

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
