package codec_test

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/eventstore"
	"github.com/aseptsoft/subledger/eventstore/codec"
	"github.com/aseptsoft/subledger/eventstore/keyring"
)

// fill sets every exported string, number, bool and time field of the
// struct v (recursing into embedded and nested structs) to a non-zero value;
// plain strings end in run (so ids differ between events), personal strings
// are unique so they can be looked for in the encoded bytes.
func fill(v reflect.Value, run string, personal *[]string) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f, sf := v.Field(i), t.Field(i)
		if !sf.IsExported() {
			continue
		}
		switch {
		case f.Type() == reflect.TypeFor[time.Time]():
			f.Set(reflect.ValueOf(at))
		case f.Kind() == reflect.String:
			val := "v-" + sf.Name + "-" + run
			if sf.Tag.Get("personal") == "true" {
				val = "pii-" + sf.Name + "-" + uuid.NewString()
				*personal = append(*personal, val)
			}
			f.SetString(val)
		case f.Kind() >= reflect.Int && f.Kind() <= reflect.Int64:
			f.SetInt(7)
		case f.Kind() >= reflect.Uint && f.Kind() <= reflect.Uint64:
			f.SetUint(7)
		case f.Kind() == reflect.Bool:
			f.SetBool(true)
		case f.Kind() == reflect.Struct:
			fill(f, run, personal)
		}
	}
}

func zeroPersonal(v reflect.Value) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		if t.Field(i).Tag.Get("personal") == "true" {
			v.Field(i).SetZero()
		}
	}
}

// TestEveryDomainEventRoundTrips registers the domain's event catalogue as
// the wiring does and round-trips each type, before and after its subject
// is forgotten.
func TestEveryDomainEventRoundTrips(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, t.TempDir(), keyring.Config{})
	reg := codec.NewRegistry()
	for _, ev := range domain.EventTypes() {
		if err := reg.Register(codec.Type{Prototype: ev}); err != nil {
			t.Fatalf("register %s: %v", ev.EventType(), err)
		}
	}
	c := codec.New(reg, e.ring, codec.Config{})
	for _, proto := range domain.EventTypes() {
		t.Run(proto.EventType(), func(t *testing.T) {
			p := reflect.New(reflect.TypeOf(proto))
			var personal []string
			fill(p.Elem(), uuid.NewString(), &personal)
			ev := p.Elem().Interface().(domain.Event)
			d, err := c.Encode(ctx, ev, codec.Meta{Actor: "test", Stream: "s"})
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			for _, s := range personal {
				if bytes.Contains(d.Data, []byte(s)) || bytes.Contains(d.Metadata, []byte(s)) {
					t.Fatalf("personal value of %s is readable in the encoded event", s)
				}
			}
			got, meta, err := c.Decode(ctx, stored(d))
			if err != nil || !reflect.DeepEqual(got, ev) || meta.Erased {
				t.Fatalf("decoded %#v (%v), want %#v", got, err, ev)
			}
			pe, ok := ev.(domain.PersonalEvent)
			if !ok {
				if len(personal) > 0 {
					t.Fatal("personal fields without DataSubject")
				}
				return
			}
			if err := e.ring.Forget(ctx, pe.DataSubject()); err != nil {
				t.Fatal(err)
			}
			got, meta, err = c.Decode(ctx, stored(d))
			if err != nil {
				t.Fatalf("Decode after Forget: %v", err)
			}
			zeroPersonal(p.Elem())
			if want := p.Elem().Interface(); !reflect.DeepEqual(got, want) || meta.Erased != (len(personal) > 0) {
				t.Fatalf("after Forget decoded %#v erased %v, want %#v", got, meta.Erased, want)
			}
		})
	}
}

// TestDomainEventsAreBoundToTheirTypeAndAccount is issue 9's first two
// reproductions with the domain's own types: a registration read as a
// change of details, and a registration whose plain account id was edited
// to another account's (which moved the person's name, e-mail and hash onto
// that account), are integrity errors.
func TestDomainEventsAreBoundToTheirTypeAndAccount(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, t.TempDir(), keyring.Config{})
	reg := codec.NewRegistry()
	for _, ev := range domain.EventTypes() {
		if err := reg.Register(codec.Type{Prototype: ev}); err != nil {
			t.Fatalf("register %s: %v", ev.EventType(), err)
		}
	}
	c := codec.New(reg, e.ring, codec.Config{})
	owner, other := uuid.NewString(), uuid.NewString()
	d, err := c.Encode(ctx, domain.AccountRegistered{AccountID: owner, Name: "Owner Person", Email: "owner@x.example", PasswordHash: "hash", RegisteredAt: at},
		codec.Meta{Stream: domain.AccountStream(owner)})
	if err != nil {
		t.Fatal(err)
	}
	good := eventstore.Event{ID: d.ID, Type: d.Type, Stream: domain.AccountStream(owner), Data: d.Data, Metadata: d.Metadata}
	if _, _, err := c.Decode(ctx, good); err != nil {
		t.Fatalf("the untouched event: %v", err)
	}
	cases := []struct {
		name string
		edit func(ev *eventstore.Event)
	}{
		{"registered_read_as_details_changed", func(ev *eventstore.Event) { ev.Type = domain.AccountDetailsChanged{}.EventType() }},
		{"account_id_edited", func(ev *eventstore.Event) {
			ev.Data = bytes.Replace(ev.Data, []byte(owner), []byte(other), 1)
		}},
		{"moved_to_the_other_account_stream", func(ev *eventstore.Event) { ev.Stream = domain.AccountStream(other) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ev := good
			tc.edit(&ev)
			if got, _, err := c.Decode(ctx, ev); !errors.Is(err, codec.ErrIntegrity) {
				t.Fatalf("decoded %#v, %v; want ErrIntegrity", got, err)
			}
		})
	}
}
