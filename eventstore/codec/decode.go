package codec

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/google/uuid"

	"github.com/aseptsoft/subledger/eventstore"
	"github.com/aseptsoft/subledger/eventstore/keyring"
)

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
		err = decodeCurrent(s, p, info, plain, plaintext)
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
	switch {
	case info.ptr:
		return p.Interface(), meta, nil
	case info.boxType != nil:
		return box(info.boxType, p), meta, nil
	default:
		return p.Elem().Interface(), meta, nil
	}
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
	plain, sealed, found, err := personalPart(s, ev.Data, m.bindingVersion != bindingVersion)
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

// personalPart splits data into the plain fields' JSON and the decoded
// "_personal" member, if any. Both may live in the scratch buffers.
//
// Encode writes the member first. Only with anyLayout does personalPart
// also look for it elsewhere, for events written before version 2
// bindings. A version 2 binding covers the split itself (the plain JSON
// and the ciphertext), and Encode never binds data with a top-level
// "_personal" member anywhere but first (no plain field may take the
// name), so for those events a member elsewhere fails the binding either
// way: as the plain JSON's bytes with no personal part, as it is read
// without anyLayout.
func personalPart(s *scratch, data []byte, anyLayout bool) (plain, sealed []byte, found bool, err error) {
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
	if !anyLayout || !containsPersonalMember(data) {
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

// decodeCurrent decodes an event written in its type's current version,
// with the fast decoder (fastdecode.go) when it reads the event, else with
// the encoding/json v2 prototype (github.com/go-json-experiment/json),
// which reads the JSON that encoding/json writes about twice as fast; field
// names match exactly (the codec wrote them), unknown members are ignored.
func decodeCurrent(s *scratch, p reflect.Value, info *typeInfo, data, plaintext []byte) error {
	if info.plainPlan != nil && info.persPlan != nil {
		v := p.Elem()
		if s.fast.decode(v, info.plainPlan, data, true) && (plaintext == nil || s.fast.decode(v, info.persPlan, plaintext, false)) {
			return nil
		}
		v.SetZero()
	}
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

// decodeOld decodes an event written in an older schema version: its
// fields as a JSON map, personal ones included, go through the type's
// upcasters, then into the type.
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

// zeroPersonal sets every personal field of v to its zero value.
func zeroPersonal(v reflect.Value, info *typeInfo) {
	for _, f := range info.personal {
		v.FieldByIndex(f.index).SetZero()
	}
}
