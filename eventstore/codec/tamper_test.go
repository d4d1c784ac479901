package codec_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aseptsoft/subledger/eventstore"
	"github.com/aseptsoft/subledger/eventstore/codec"
	"github.com/aseptsoft/subledger/eventstore/keyring"
)

// accountDetailsChanged has the fields of accountRegistered that a changed
// type name would carry over: the tamper suite turns a registration into
// one.
type accountDetailsChanged struct {
	AccountID string    `json:"account_id"`
	Name      string    `json:"name" personal:"true"`
	Email     string    `json:"email" personal:"true"`
	Company   string    `json:"company,omitempty" personal:"true"`
	At        time.Time `json:"changed_at"`
}

func (accountDetailsChanged) EventType() string     { return "AccountDetailsChanged" }
func (e accountDetailsChanged) DataSubject() string { return e.AccountID }

// tamperFixture is what an edit may use: a live victim account, and other
// events whose parts an edit may splice in.
type tamperFixture struct {
	victim string
	// otherSubject is an event of the victim (same type as the personal
	// target); sameSubject another event of the target's own subject.
	otherSubject, sameSubject eventstore.Event
}

// replaceOnce replaces old by new in b, failing the test unless old occurs
// exactly once: a data edit must change just what it names, byte for byte,
// and not re-encode the JSON (which would change the bytes anyway).
func replaceOnce(t *testing.T, b []byte, old, new string) []byte {
	t.Helper()
	if n := bytes.Count(b, []byte(old)); n != 1 {
		t.Fatalf("%q occurs %d times in %s", old, n, b)
	}
	return bytes.Replace(b, []byte(old), []byte(new), 1)
}

// swapSameLength is replaceOnce for an edit that must keep the length (so
// that a length prefix alone cannot catch it).
func swapSameLength(t *testing.T, b []byte, old, new string) []byte {
	t.Helper()
	if len(old) != len(new) {
		t.Fatalf("the edit changes the length: %d to %d bytes", len(old), len(new))
	}
	return replaceOnce(t, b, old, new)
}

// personalB64 returns the base64 text of the personal part of data.
func personalB64(t *testing.T, data []byte) string {
	t.Helper()
	const prefix = `{"_personal":"`
	if !bytes.HasPrefix(data, []byte(prefix)) {
		t.Fatalf("no personal part in %s", data)
	}
	rest := data[len(prefix):]
	return string(rest[:bytes.IndexByte(rest, '"')])
}

// editMetaMap changes the metadata as parsed values: the binding covers
// the values a reader gets, so re-encoding the metadata is no edit.
func editMetaMap(t *testing.T, ev *eventstore.Event, f func(m map[string]any)) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(ev.Metadata, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	ev.Metadata, _ = json.Marshal(m)
}

// TestEveryPartOfAnEventIsAuthenticated is issue 9's tamper suite: one case
// per part of an event that a reader trusts. Each edit, on an event with a
// personal part (its subject live, then forgotten, where "erased" would be
// the wrong answer) and on an event of a type without personal fields,
// must be an ErrIntegrity: never a decoded value, never Erased.
func TestEveryPartOfAnEventIsAuthenticated(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, t.TempDir(), keyring.Config{})
	// accountDetailsChanged is at version 2 like accountRegistered, so that
	// only the binding tells a changed type name.
	details := codec.Type{Prototype: accountDetailsChanged{}, Version: 2, Upcasters: []codec.Upcaster{codec.RenameField("mail", "email")}}
	c := codec.New(registry(t, append(currentTypes(), details)), e.ring, codec.Config{})
	enc := func(t *testing.T, ev codec.Typer, stream string) eventstore.Event {
		t.Helper()
		d, err := c.Encode(ctx, ev, codec.Meta{Stream: stream, Actor: "store", RequestID: "req-1", CorrelationID: "corr-1", CausationID: "cmd-1"})
		if err != nil {
			t.Fatal(err)
		}
		return eventstore.Event{ID: d.ID, Type: d.Type, Stream: stream, Data: d.Data, Metadata: d.Metadata}
	}
	victim := uuid.NewString()
	// Personal values of one length as the target's, so that a swapped
	// ciphertext has the target's length: the edits keep every length,
	// so that they test what the binding says of the content.
	victimEvent := enc(t, accountRegistered{AccountID: victim, Name: "Victor Victim", Email: "victor@x.example", Company: "Victim Ltd", Plan: "team", At: at}, "account-"+victim)

	type edit func(t *testing.T, ev *eventstore.Event, f tamperFixture)
	type tamperCase struct {
		name string
		// personal and plain say which events the case applies to: the
		// registration with a personal part, the license without personal
		// fields.
		personal, plain bool
		edit            edit
	}
	cases := []tamperCase{
		// The four of issue 9's "Why".
		{"plain_account_id_edited", true, true, func(t *testing.T, ev *eventstore.Event, f tamperFixture) {
			var m struct {
				AccountID string `json:"account_id"`
			}
			json.Unmarshal(ev.Data, &m)
			ev.Data = swapSameLength(t, ev.Data, `"account_id":"`+m.AccountID+`"`, `"account_id":"`+f.victim+`"`)
		}},
		{"type_changed", true, true, func(t *testing.T, ev *eventstore.Event, _ tamperFixture) {
			if ev.Type == "AccountRegistered" {
				ev.Type = "AccountDetailsChanged" // registered -> details_changed
			} else {
				ev.Type = "AccountRegistered" // a license read as a registration
			}
		}},
		{"schema_version_lowered", true, false, func(t *testing.T, ev *eventstore.Event, _ tamperFixture) {
			editMetaMap(t, ev, func(m map[string]any) { m["schema_version"] = 1 })
		}},
		{"personal_part_key_id_and_binding_stripped", true, false, func(t *testing.T, ev *eventstore.Event, _ tamperFixture) {
			ev.Data = replaceOnce(t, ev.Data, `"_personal":"`+personalB64(t, ev.Data)+`",`, "")
			editMetaMap(t, ev, func(m map[string]any) { delete(m, "key_id"); delete(m, "binding") })
		}},
		// The rest of "everything a reader trusts".
		{"stream_changed", true, true, func(t *testing.T, ev *eventstore.Event, f tamperFixture) {
			ev.Stream = "account-" + f.victim
		}},
		{"event_id_changed", true, true, func(t *testing.T, ev *eventstore.Event, _ tamperFixture) {
			ev.ID = uuid.NewString()
		}},
		{"plain_timestamp_changed", true, false, func(t *testing.T, ev *eventstore.Event, _ tamperFixture) {
			ev.Data = swapSameLength(t, ev.Data, `"registered_at":"2030-01-02T03:04:05Z"`, `"registered_at":"2029-01-02T03:04:05Z"`)
		}},
		{"plain_amount_changed", false, true, func(t *testing.T, ev *eventstore.Event, _ tamperFixture) {
			ev.Data = swapSameLength(t, ev.Data, `"amount":19800`, `"amount":10800`)
		}},
		{"personal_ciphertext_of_another_subjects_event", true, false, func(t *testing.T, ev *eventstore.Event, f tamperFixture) {
			ev.Data = swapSameLength(t, ev.Data, personalB64(t, ev.Data), personalB64(t, f.otherSubject.Data))
		}},
		{"personal_ciphertext_of_another_event_of_the_same_subject", true, false, func(t *testing.T, ev *eventstore.Event, f tamperFixture) {
			ev.Data = swapSameLength(t, ev.Data, personalB64(t, ev.Data), personalB64(t, f.sameSubject.Data))
		}},
		// Beyond the list: the binding itself and the other metadata.
		{"binding_and_binding_version_stripped_too", true, true, func(t *testing.T, ev *eventstore.Event, _ tamperFixture) {
			if bytes.Contains(ev.Data, []byte(`"_personal"`)) {
				ev.Data = replaceOnce(t, ev.Data, `"_personal":"`+personalB64(t, ev.Data)+`",`, "")
			}
			editMetaMap(t, ev, func(m map[string]any) {
				delete(m, "key_id")
				delete(m, "binding")
				delete(m, "binding_version")
			})
		}},
		{"binding_version_lowered_to_1", true, true, func(t *testing.T, ev *eventstore.Event, _ tamperFixture) {
			editMetaMap(t, ev, func(m map[string]any) { m["binding_version"] = 1 })
		}},
		{"schema_version_removed", true, true, func(t *testing.T, ev *eventstore.Event, _ tamperFixture) {
			editMetaMap(t, ev, func(m map[string]any) { delete(m, "schema_version") })
		}},
		{"event_id_in_another_spelling", true, true, func(t *testing.T, ev *eventstore.Event, _ tamperFixture) {
			ev.ID = strings.ToUpper(ev.ID)
		}},
		{"actor_changed", true, true, func(t *testing.T, ev *eventstore.Event, _ tamperFixture) {
			editMetaMap(t, ev, func(m map[string]any) { m["actor"] = "admin" })
		}},
		{"correlation_id_changed", true, true, func(t *testing.T, ev *eventstore.Event, _ tamperFixture) {
			editMetaMap(t, ev, func(m map[string]any) { m["correlation_id"] = "corr-2" })
		}},
		{"subject_id_added", false, true, func(t *testing.T, ev *eventstore.Event, f tamperFixture) {
			editMetaMap(t, ev, func(m map[string]any) { m["subject_id"] = f.victim })
		}},
		{"plain_member_added", true, true, func(t *testing.T, ev *eventstore.Event, _ tamperFixture) {
			ev.Data = append(bytes.TrimSuffix(bytes.Clone(ev.Data), []byte("}")), `,"extra":1}`...)
		}},
	}

	check := func(t *testing.T, ev eventstore.Event, wantErased bool, f tamperFixture, ed edit) {
		t.Helper()
		if _, meta, err := c.Decode(ctx, ev); err != nil || meta.Erased != wantErased {
			t.Fatalf("the untouched event: %v, erased %v", err, meta.Erased)
		}
		ed(t, &ev, f)
		got, meta, err := c.Decode(ctx, ev)
		if !errors.Is(err, codec.ErrIntegrity) {
			t.Fatalf("Decode of the edited event: %#v, erased %v, err %v; want ErrIntegrity", got, meta.Erased, err)
		}
		if strings.Contains(err.Error(), "Tamper Target") || strings.Contains(err.Error(), "target@") {
			t.Fatalf("the error shows personal data: %v", err)
		}
	}
	for _, state := range []string{"live", "forgotten"} {
		for _, tc := range cases {
			if !tc.personal {
				continue
			}
			t.Run("personal/"+state+"/"+tc.name, func(t *testing.T) {
				subj := uuid.NewString()
				stream := "account-" + subj
				ev := enc(t, accountRegistered{AccountID: subj, Name: "Tamper Target", Email: "target@x.example", Company: "Target Ltd", Plan: "pro", Consent: true, At: at}, stream)
				f := tamperFixture{victim: victim, otherSubject: victimEvent,
					sameSubject: enc(t, accountRegistered{AccountID: subj, Name: "Tamper Target", Email: "target@y.example", Company: "Target Ltd", Plan: "pro", At: at}, stream)}
				if state == "forgotten" {
					if err := e.ring.Forget(ctx, subj); err != nil {
						t.Fatal(err)
					}
				}
				check(t, ev, state == "forgotten", f, tc.edit)
			})
		}
	}
	for _, tc := range cases {
		if !tc.plain {
			continue
		}
		t.Run("plain/"+tc.name, func(t *testing.T) {
			acct := uuid.NewString()
			lic := uuid.NewString()
			ev := enc(t, licensePurchased{LicenseID: lic, AccountID: acct, ProductID: "desktop-pro", Quantity: 2, Amount: 19800, Currency: "eur", At: at}, "license-"+lic)
			check(t, ev, false, tamperFixture{victim: victim}, tc.edit)
		})
	}
}
