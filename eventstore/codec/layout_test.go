package codec_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/aseptsoft/subledger/eventstore"
	"github.com/aseptsoft/subledger/eventstore/codec"
	"github.com/aseptsoft/subledger/eventstore/keyring"
)

// TestPersonalMemberOutOfPlaceIsAnIntegrityError checks that Decode, which
// looks for a version 2 event's personal part only where Encode writes it,
// refuses an event whose "_personal" member was moved or added elsewhere,
// for a live and for a forgotten subject.
func TestPersonalMemberOutOfPlaceIsAnIntegrityError(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, t.TempDir(), keyring.Config{})
	// moveLast turns {"_personal":"X",rest} into {rest,"_personal":"X"}.
	moveLast := func(t *testing.T, data []byte) []byte {
		end := bytes.Index(data, []byte(`",`))
		if !bytes.HasPrefix(data, []byte(`{"_personal":"`)) || end < 0 {
			t.Fatalf("not the codec's layout: %s", data)
		}
		member, rest := data[1:end+1], data[end+2:]
		return append(append(append([]byte("{"), rest[:len(rest)-1]...), ','), append(member, '}')...)
	}
	personal := func() codec.Typer {
		return accountRegistered{AccountID: uuid.NewString(), Name: "Moved Member", Email: "moved@x.example", Plan: "pro", At: at}
	}
	cases := []struct {
		name   string
		event  func() codec.Typer
		forget bool
		edit   func(t *testing.T, ev *eventstore.Event, other []byte)
	}{
		{"member_moved_last_live", personal, false, func(t *testing.T, ev *eventstore.Event, _ []byte) { ev.Data = moveLast(t, ev.Data) }},
		{"member_moved_last_forgotten", personal, true, func(t *testing.T, ev *eventstore.Event, _ []byte) { ev.Data = moveLast(t, ev.Data) }},
		{"another_events_member_appended_to_a_plain_event", func() codec.Typer {
			return licensePurchased{LicenseID: uuid.NewString(), AccountID: uuid.NewString(), ProductID: "p", Quantity: 1, At: at}
		}, false, func(t *testing.T, ev *eventstore.Event, other []byte) {
			member := moveLast(t, other)
			member = member[bytes.LastIndex(member, []byte(`,"_personal"`)):]
			ev.Data = append(ev.Data[:len(ev.Data)-1:len(ev.Data)-1], member...)
		}},
	}
	other := stored(e.encode(t, personal(), codec.Meta{})).Data
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := c.event()
			ev := stored(e.encode(t, v, codec.Meta{}))
			if c.forget {
				if err := e.ring.Forget(ctx, v.(codec.Subjecter).DataSubject()); err != nil {
					t.Fatal(err)
				}
			}
			c.edit(t, &ev, other)
			got, meta, err := e.codec.Decode(ctx, ev)
			if !errors.Is(err, codec.ErrIntegrity) {
				t.Fatalf("Decode of %s: %#v, erased %v, err %v; want ErrIntegrity", ev.Data, got, meta.Erased, err)
			}
		})
	}
}
