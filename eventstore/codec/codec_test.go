package codec_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aseptsoft/subledger/eventstore"
	"github.com/aseptsoft/subledger/eventstore/codec"
	"github.com/aseptsoft/subledger/eventstore/keyring"
)

var at = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	e := newEnv(t, t.TempDir(), keyring.Config{})
	acct := uuid.NewString()
	fixedID := uuid.NewString()
	cases := []struct {
		name       string
		event      codec.Typer
		meta       codec.Meta
		secrets    []string // must not appear in data or metadata
		wantKey    bool     // a personal part is written
		wantID     string
		wantSubjet string
	}{
		{
			name:    "personal_fields_are_encrypted_plain_fields_stay_readable",
			event:   accountRegistered{AccountID: acct, Name: "Ottoline Quarrington", Email: "ottoline@quarry.example", Company: "Quarrington Rope Works", Plan: "pro", Consent: true, At: at},
			meta:    codec.Meta{Actor: "store", CorrelationID: "req-1", CausationID: "cmd-1"},
			secrets: []string{"Ottoline", "quarry.example", "Rope Works"}, wantKey: true, wantSubjet: acct,
		},
		{
			name:       "all_zero_personal_fields_write_no_personal_part",
			event:      accountRegistered{AccountID: acct, Plan: "free", At: at},
			wantSubjet: acct,
		},
		{
			name:  "event_without_personal_fields_is_plain_json",
			event: licensePurchased{LicenseID: uuid.NewString(), AccountID: acct, ProductID: "p1", Quantity: 3, Amount: 29900, Currency: "eur", At: at},
		},
		{
			name:    "pointer_type_with_embedded_struct_round_trips_as_pointer",
			event:   &stripeLink{envelope: envelope{AccountID: acct, Seq: 7}, CustomerID: "cus_Zq81UnusualXy", Source: "checkout"},
			secrets: []string{"cus_Zq81UnusualXy"}, wantKey: true, wantSubjet: acct,
		},
		{
			name:    "given_event_id_is_used",
			event:   affiliateRegistered{AffiliateID: acct, Name: "Percival Oddington", RateBPS: 1500},
			meta:    codec.Meta{EventID: fixedID},
			secrets: []string{"Percival"}, wantKey: true, wantID: fixedID, wantSubjet: acct,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := e.encode(t, c.event, c.meta)
			if err := eventstore.ValidateAppend("s", []eventstore.EventData{d}); err != nil {
				t.Fatal(err)
			}
			if c.wantID != "" && d.ID != c.wantID {
				t.Fatalf("id %s, want %s", d.ID, c.wantID)
			}
			for _, s := range c.secrets {
				if bytes.Contains(d.Data, []byte(s)) || bytes.Contains(d.Metadata, []byte(s)) {
					t.Fatalf("%q is readable in the encoded event", s)
				}
			}
			if !json.Valid(d.Data) || !json.Valid(d.Metadata) {
				t.Fatalf("not JSON: %s / %s", d.Data, d.Metadata)
			}
			if got := bytes.Contains(d.Data, []byte(`"_personal"`)); got != c.wantKey {
				t.Fatalf("personal part written: %v, want %v", got, c.wantKey)
			}
			got, meta, err := e.codec.Decode(context.Background(), stored(d))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, c.event) {
				t.Fatalf("decoded %#v, want %#v", got, c.event)
			}
			if meta.Erased || meta.Actor != c.meta.Actor || meta.RequestID != c.meta.RequestID || meta.CorrelationID != c.meta.CorrelationID ||
				meta.CausationID != c.meta.CausationID || meta.SubjectID != c.wantSubjet || (meta.KeyID != "") != c.wantKey || meta.EventID != d.ID {
				t.Fatalf("meta %+v", meta)
			}
		})
	}
}

func TestPlainFieldsAreReadableWithoutAKey(t *testing.T) {
	e := newEnv(t, t.TempDir(), keyring.Config{})
	d := e.encode(t, accountRegistered{AccountID: uuid.NewString(), Name: "Some Body", Email: "x@y.example", Plan: "pro", At: at}, codec.Meta{})
	var plain map[string]any
	if err := json.Unmarshal(d.Data, &plain); err != nil {
		t.Fatal(err)
	}
	if plain["plan"] != "pro" || plain["name"] != nil || plain["email"] != nil {
		t.Fatalf("plain part %v", plain)
	}
}

func TestForgottenSubjectDecodesAsErased(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, t.TempDir(), keyring.Config{})
	gone, kept := uuid.NewString(), uuid.NewString()
	d1 := e.encode(t, accountRegistered{AccountID: gone, Name: "Gone Person", Email: "gone@x.example", Plan: "pro", Consent: true, At: at}, codec.Meta{Actor: "store"})
	d2 := e.encode(t, &stripeLink{envelope: envelope{AccountID: gone, Seq: 1}, CustomerID: "cus_gone", Source: "web"}, codec.Meta{})
	d3 := e.encode(t, accountRegistered{AccountID: kept, Name: "Kept Person", Email: "kept@x.example", At: at}, codec.Meta{})
	if err := e.ring.Forget(ctx, gone); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		event      eventstore.EventData
		want       any
		wantErased bool
	}{
		{"personal_fields_read_as_zero", d1, accountRegistered{AccountID: gone, Plan: "pro", Consent: true, At: at}, true},
		{"pointer_event_reads_as_zero", d2, &stripeLink{envelope: envelope{AccountID: gone, Seq: 1}, Source: "web"}, true},
		{"other_subject_still_decrypts", d3, accountRegistered{AccountID: kept, Name: "Kept Person", Email: "kept@x.example", At: at}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, meta, err := e.codec.Decode(ctx, stored(c.event))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if meta.Erased != c.wantErased || !reflect.DeepEqual(got, c.want) {
				t.Fatalf("decoded %#v erased %v, want %#v erased %v", got, meta.Erased, c.want, c.wantErased)
			}
		})
	}
	t.Run("new_personal_data_for_forgotten_subject_is_refused", func(t *testing.T) {
		_, err := e.codec.Encode(ctx, accountRegistered{AccountID: gone, Name: "Back Again"}, codec.Meta{Stream: "s"})
		if !errors.Is(err, keyring.ErrForgotten) || strings.Contains(err.Error(), "Back Again") {
			t.Fatalf("Encode: %v, want ErrForgotten without the value", err)
		}
	})
	t.Run("event_without_personal_values_for_forgotten_subject_is_written", func(t *testing.T) {
		d := e.encode(t, accountRegistered{AccountID: gone, Plan: "free"}, codec.Meta{})
		got, meta, err := e.codec.Decode(ctx, stored(d))
		if err != nil || meta.Erased || got.(accountRegistered).Plan != "free" {
			t.Fatalf("decoded %#v, %+v, %v", got, meta, err)
		}
	})
}

// mutate returns a copy of ev changed by f.
type mutation struct {
	name string
	f    func(t *testing.T, ev *eventstore.Event, other eventstore.Event)
}

func editMeta(t *testing.T, ev *eventstore.Event, f func(m map[string]any)) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(ev.Metadata, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	ev.Metadata, _ = json.Marshal(m)
}

func editSealed(t *testing.T, ev *eventstore.Event, f func(b []byte) []byte) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(ev.Data, &m); err != nil {
		t.Fatal(err)
	}
	b, err := base64.StdEncoding.DecodeString(m["_personal"].(string))
	if err != nil {
		t.Fatal(err)
	}
	m["_personal"] = base64.StdEncoding.EncodeToString(f(b))
	ev.Data, _ = json.Marshal(m)
}

func metaOf(t *testing.T, ev eventstore.Event) map[string]any {
	var m map[string]any
	if err := json.Unmarshal(ev.Metadata, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestTamperedEventIsAnIntegrityErrorNotErased(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, t.TempDir(), keyring.Config{})
	mutations := []mutation{
		{"flipped_ciphertext_byte", func(t *testing.T, ev *eventstore.Event, _ eventstore.Event) {
			editSealed(t, ev, func(b []byte) []byte { b[len(b)/2] ^= 1; return b })
		}},
		{"flipped_nonce_byte", func(t *testing.T, ev *eventstore.Event, _ eventstore.Event) {
			editSealed(t, ev, func(b []byte) []byte { b[3] ^= 1; return b })
		}},
		{"truncated_ciphertext", func(t *testing.T, ev *eventstore.Event, _ eventstore.Event) {
			editSealed(t, ev, func(b []byte) []byte { return b[:10] })
		}},
		{"unknown_ciphertext_version", func(t *testing.T, ev *eventstore.Event, _ eventstore.Event) {
			editSealed(t, ev, func(b []byte) []byte { b[0] = 9; return b })
		}},
		{"personal_part_not_base64", func(t *testing.T, ev *eventstore.Event, _ eventstore.Event) {
			ev.Data = bytes.Replace(ev.Data, []byte(`{"_personal":"`), []byte(`{"_personal":"!!`), 1)
		}},
		{"personal_part_removed", func(t *testing.T, ev *eventstore.Event, _ eventstore.Event) {
			var m map[string]any
			json.Unmarshal(ev.Data, &m)
			delete(m, "_personal")
			ev.Data, _ = json.Marshal(m)
		}},
		{"personal_part_of_another_event", func(t *testing.T, ev *eventstore.Event, other eventstore.Event) {
			ev.Data = other.Data
		}},
		{"event_id_changed", func(t *testing.T, ev *eventstore.Event, _ eventstore.Event) {
			ev.ID = uuid.NewString()
		}},
		{"subject_changed_to_a_live_subject", func(t *testing.T, ev *eventstore.Event, other eventstore.Event) {
			editMeta(t, ev, func(m map[string]any) { m["subject_id"] = metaOf(t, other)["subject_id"] })
		}},
		{"subject_and_key_id_changed_to_a_live_subjects", func(t *testing.T, ev *eventstore.Event, other eventstore.Event) {
			o := metaOf(t, other)
			editMeta(t, ev, func(m map[string]any) { m["subject_id"], m["key_id"] = o["subject_id"], o["key_id"] })
		}},
		{"subject_key_and_binding_of_another_event", func(t *testing.T, ev *eventstore.Event, other eventstore.Event) {
			o := metaOf(t, other)
			editMeta(t, ev, func(m map[string]any) {
				m["subject_id"], m["key_id"], m["binding"] = o["subject_id"], o["key_id"], o["binding"]
			})
		}},
		{"subject_changed_to_an_unknown_subject", func(t *testing.T, ev *eventstore.Event, _ eventstore.Event) {
			editMeta(t, ev, func(m map[string]any) { m["subject_id"] = uuid.NewString() })
		}},
		{"subject_removed", func(t *testing.T, ev *eventstore.Event, _ eventstore.Event) {
			editMeta(t, ev, func(m map[string]any) { delete(m, "subject_id") })
		}},
		{"key_id_changed", func(t *testing.T, ev *eventstore.Event, _ eventstore.Event) {
			editMeta(t, ev, func(m map[string]any) { m["key_id"] = "00000000deadbeef" })
		}},
		{"key_id_removed", func(t *testing.T, ev *eventstore.Event, _ eventstore.Event) {
			editMeta(t, ev, func(m map[string]any) { delete(m, "key_id") })
		}},
		{"binding_removed", func(t *testing.T, ev *eventstore.Event, _ eventstore.Event) {
			editMeta(t, ev, func(m map[string]any) { delete(m, "binding") })
		}},
		{"binding_flipped", func(t *testing.T, ev *eventstore.Event, _ eventstore.Event) {
			editMeta(t, ev, func(m map[string]any) {
				b, _ := base64.StdEncoding.DecodeString(m["binding"].(string))
				b[0] ^= 1
				m["binding"] = base64.StdEncoding.EncodeToString(b)
			})
		}},
	}
	// Each mutation runs on an event whose subject is live and on one whose
	// subject is forgotten (where "erased" would be the wrong answer).
	// "other" is an event of a third, live subject.
	third := uuid.NewString()
	other := stored(e.encode(t, accountRegistered{AccountID: third, Name: "Third Party", Email: "t@x.example"}, codec.Meta{}))
	forgottenOther := uuid.NewString()
	otherGone := stored(e.encode(t, accountRegistered{AccountID: forgottenOther, Name: "Other Gone"}, codec.Meta{}))
	if err := e.ring.Forget(ctx, forgottenOther); err != nil {
		t.Fatal(err)
	}
	for _, state := range []string{"live", "forgotten"} {
		for _, mu := range mutations {
			t.Run(state+"/"+mu.name, func(t *testing.T) {
				subj := uuid.NewString()
				ev := stored(e.encode(t, accountRegistered{AccountID: subj, Name: "Tamper Target", Email: "target@x.example", Plan: "pro"}, codec.Meta{}))
				if state == "forgotten" {
					if err := e.ring.Forget(ctx, subj); err != nil {
						t.Fatal(err)
					}
				}
				if _, meta, err := e.codec.Decode(ctx, ev); err != nil || meta.Erased != (state == "forgotten") {
					t.Fatalf("the untouched event: %v, erased %v", err, meta.Erased)
				}
				mu.f(t, &ev, other)
				got, meta, err := e.codec.Decode(ctx, ev)
				if !errors.Is(err, codec.ErrIntegrity) {
					t.Fatalf("Decode of a tampered event: %#v, erased %v, err %v; want ErrIntegrity", got, meta.Erased, err)
				}
				if strings.Contains(err.Error(), "Tamper Target") || strings.Contains(err.Error(), "target@") {
					t.Fatalf("the error shows personal data: %v", err)
				}
			})
		}
	}
	t.Run("forgotten/subject_and_key_id_moved_to_another_forgotten_subject", func(t *testing.T) {
		subj := uuid.NewString()
		ev := stored(e.encode(t, accountRegistered{AccountID: subj, Name: "Tamper Target"}, codec.Meta{}))
		if err := e.ring.Forget(ctx, subj); err != nil {
			t.Fatal(err)
		}
		o := metaOf(t, otherGone)
		editMeta(t, &ev, func(m map[string]any) { m["subject_id"], m["key_id"] = o["subject_id"], o["key_id"] })
		if _, meta, err := e.codec.Decode(ctx, ev); !errors.Is(err, codec.ErrIntegrity) {
			t.Fatalf("erased %v, err %v; want ErrIntegrity", meta.Erased, err)
		}
	})
}

func TestUpcastingReadsOlderVersionsAndRenamedTypes(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, t.TempDir(), keyring.Config{})
	old := codec.New(registry(t, oldTypes()), e.ring, codec.Config{})
	live, gone := uuid.NewString(), uuid.NewString()
	enc := func(ev codec.Typer) eventstore.Event {
		d, err := old.Encode(ctx, ev, codec.Meta{Actor: "old-build", Stream: "s"})
		if err != nil {
			t.Fatal(err)
		}
		return stored(d)
	}
	v1Live := enc(accountRegisteredV1{AccountID: live, Name: "Vera Oldform", Mail: "vera@old.example", Plan: "pro", At: at})
	v1Gone := enc(accountRegisteredV1{AccountID: gone, Name: "Gus Oldform", Mail: "gus@old.example", Plan: "pro", At: at})
	v1NoPersonal := enc(accountRegisteredV1{AccountID: live, Plan: "team", At: at})
	renamed := enc(affiliateSignedUp{AffiliateID: live, Name: "Old Name Affiliate", RateBPS: 900})
	if err := e.ring.Forget(ctx, gone); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name        string
		event       eventstore.Event
		want        any
		wantErased  bool
		wantVersion int
	}{
		{"renamed_personal_field_is_moved", v1Live, accountRegistered{AccountID: live, Name: "Vera Oldform", Email: "vera@old.example", Plan: "pro", At: at}, false, 1},
		{"erased_old_version_reads_as_zero", v1Gone, accountRegistered{AccountID: gone, Plan: "pro", At: at}, true, 1},
		{"old_version_without_personal_part", v1NoPersonal, accountRegistered{AccountID: live, Plan: "team", At: at}, false, 1},
		{"old_type_name_decodes_as_new_type", renamed, affiliateRegistered{AffiliateID: live, Name: "Old Name Affiliate", RateBPS: 900}, false, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, meta, err := e.codec.Decode(ctx, c.event)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) || meta.Erased != c.wantErased || meta.SchemaVersion != c.wantVersion || meta.Actor != "old-build" {
				t.Fatalf("decoded %#v %+v, want %#v erased %v", got, meta, c.want, c.wantErased)
			}
		})
	}
	t.Run("newer_version_than_known_is_refused", func(t *testing.T) {
		// Written by a later build, at version 7 of the type.
		ups := make([]codec.Upcaster, 6)
		for i := range ups {
			ups[i] = codec.RenameField("a", "b")
		}
		newer := codec.New(registry(t, []codec.Type{{Prototype: licensePurchased{}, Version: 7, Upcasters: ups}}), e.ring, codec.Config{})
		d, err := newer.Encode(ctx, licensePurchased{LicenseID: "l"}, codec.Meta{Stream: "s"})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.codec.Decode(ctx, stored(d)); !errors.Is(err, codec.ErrVersion) {
			t.Fatalf("Decode: %v, want ErrVersion", err)
		}
	})
}

func TestDecodeRefusesWhatItCannotRead(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, t.TempDir(), keyring.Config{})
	good := stored(e.encode(t, accountRegistered{AccountID: uuid.NewString(), Name: "N", Plan: "p"}, codec.Meta{}))
	// A well-bound event whose plain field does not fit today's type (as a
	// build with a wrong type declaration would write it).
	other := codec.New(registry(t, []codec.Type{{Prototype: accountRegisteredIntPlan{}, Version: 2, Upcasters: []codec.Upcaster{codec.RenameField("mail", "email")}}}), e.ring, codec.Config{})
	d, err := other.Encode(ctx, accountRegisteredIntPlan{AccountID: uuid.NewString(), Name: "N", Plan: 12345}, codec.Meta{Stream: "s"})
	if err != nil {
		t.Fatal(err)
	}
	wrongType := stored(d)
	cases := []struct {
		name    string
		edit    func(ev *eventstore.Event)
		wantErr error
	}{
		{"unknown_type", func(ev *eventstore.Event) { ev.Type = "NoSuchEvent" }, codec.ErrUnknownType},
		{"metadata_not_json", func(ev *eventstore.Event) { ev.Metadata = []byte("{") }, codec.ErrMalformed},
		{"plain_field_of_wrong_type", func(ev *eventstore.Event) { *ev = wrongType }, codec.ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev := good
			c.edit(&ev)
			if _, _, err := e.codec.Decode(ctx, ev); !errors.Is(err, c.wantErr) {
				t.Fatalf("Decode: %v, want %v", err, c.wantErr)
			}
		})
	}
}

func TestEncodeRefusesWhatItCannotWrite(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, t.TempDir(), keyring.Config{})
	cases := []struct {
		name    string
		event   codec.Typer
		meta    codec.Meta
		wantErr error
	}{
		{"unregistered_type", affiliateSignedUp{AffiliateID: "a"}, codec.Meta{Stream: "s"}, codec.ErrUnknownType},
		{"personal_data_without_subject", accountRegistered{Name: "Nobody's"}, codec.Meta{Stream: "s"}, codec.ErrNoSubject},
		{"nil_pointer", (*stripeLink)(nil), codec.Meta{Stream: "s"}, codec.ErrUnknownType},
		{"invalid_subject_id", accountRegistered{AccountID: "bad\nid", Name: "x"}, codec.Meta{Stream: "s"}, keyring.ErrInvalidSubject},
		{"no_stream_to_bind_to", licensePurchased{LicenseID: "l"}, codec.Meta{}, codec.ErrNoStream},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := e.codec.Encode(ctx, c.event, c.meta); !errors.Is(err, c.wantErr) {
				t.Fatalf("Encode: %v, want %v", err, c.wantErr)
			}
		})
	}
	if _, err := e.codec.Encode(ctx, licensePurchased{}, codec.Meta{EventID: "not-a-uuid", Stream: "s"}); err == nil {
		t.Fatal("Encode accepted an event id that is not a UUID")
	}
}

type badPersonalTag struct {
	A string `json:"a" personal:"yes"`
}

func (badPersonalTag) EventType() string   { return "BadPersonalTag" }
func (badPersonalTag) DataSubject() string { return "" }

type noSubject struct {
	A string `json:"a" personal:"true"`
}

func (noSubject) EventType() string { return "NoSubject" }

type dupName struct {
	dupInner
	A string `json:"x"`
}

type dupInner struct {
	B string `json:"x"`
}

func (dupName) EventType() string { return "DupName" }

type reservedName struct {
	A string `json:"_personal"`
}

func (reservedName) EventType() string { return "ReservedName" }

type notStruct string

func (notStruct) EventType() string { return "NotStruct" }

func TestRegisterRefusesBadTypes(t *testing.T) {
	cases := []struct {
		name string
		typ  codec.Type
	}{
		{"personal_tag_other_than_true", codec.Type{Prototype: badPersonalTag{}}},
		{"personal_fields_without_DataSubject", codec.Type{Prototype: noSubject{}}},
		{"two_fields_with_one_json_name", codec.Type{Prototype: dupName{}}},
		{"field_named_like_the_personal_part", codec.Type{Prototype: reservedName{}}},
		{"not_a_struct", codec.Type{Prototype: notStruct("")}},
		{"missing_upcaster", codec.Type{Prototype: licensePurchased{}, Version: 3, Upcasters: []codec.Upcaster{codec.RenameField("a", "b")}}},
		{"name_taken_by_alias", codec.Type{Prototype: accountRegisteredV1{}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := codec.NewRegistry()
			if err := r.Register(codec.Type{Prototype: affiliateRegistered{}, Aliases: []string{"AccountRegistered"}}); err != nil {
				t.Fatal(err)
			}
			if err := r.Register(c.typ); err == nil {
				t.Fatal("Register accepted it")
			}
		})
	}
}

// TestConcurrentUseWithForget encodes and decodes for several subjects
// from many goroutines while the subjects are forgotten: every event
// decodes, either readable or erased, and encoding fails only with
// ErrForgotten.
func TestConcurrentUseWithForget(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, t.TempDir(), keyring.Config{})
	subjects := make([]string, 8)
	for i := range subjects {
		subjects[i] = uuid.NewString()
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 200 {
				s := subjects[(w+i)%len(subjects)]
				ev := accountRegistered{AccountID: s, Name: "Concurrent Name", Email: "c@x.example", Plan: "pro"}
				d, err := e.codec.Encode(ctx, ev, codec.Meta{Stream: "s"})
				if errors.Is(err, keyring.ErrForgotten) {
					continue
				}
				if err != nil {
					t.Errorf("Encode: %v", err)
					return
				}
				got, meta, err := e.codec.Decode(ctx, stored(d))
				if err != nil {
					t.Errorf("Decode: %v", err)
					return
				}
				if a := got.(accountRegistered); meta.Erased != (a.Name == "") || a.Plan != "pro" {
					t.Errorf("decoded %+v, erased %v", a, meta.Erased)
					return
				}
			}
		})
	}
	for _, s := range subjects {
		if err := e.ring.Forget(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
}

// TestMetadataThatJSONRewritesStillVerifies: the binding covers the
// metadata as it reads back, so values that encoding/json escapes or
// coerces (invalid UTF-8) do not break it.
func TestMetadataThatJSONRewritesStillVerifies(t *testing.T) {
	e := newEnv(t, t.TempDir(), keyring.Config{})
	meta := codec.Meta{Actor: "bad\xffutf8 \"quoted\" <tag>", RequestID: "Zoë", CorrelationID: "\xc3", CausationID: "tab\there"}
	d := e.encode(t, accountRegistered{AccountID: "acct\xfe", Plan: "pro"}, meta)
	_, got, err := e.codec.Decode(context.Background(), stored(d))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if got.Actor != "bad\uFFFDutf8 \"quoted\" <tag>" || got.RequestID != "Zoë" || got.CorrelationID != "\uFFFD" || got.SubjectID != "acct\uFFFD" {
		t.Fatalf("meta %+v", got)
	}
}
