package codec

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/aseptsoft/subledger/eventstore"
	"github.com/aseptsoft/subledger/eventstore/keyring"
)

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

// subjectOf returns the data subject an event names; "" when it names
// none.
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

// aad appends the additional data of a personal part to dst: the event
// id's 16 bytes and the subject id.
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
