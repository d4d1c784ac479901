package codec_test

import (
	"bytes"
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aseptsoft/subledger/domain"
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
			d, err := c.Encode(ctx, ev, codec.Meta{Actor: "test"})
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
