// Package keyringtest is the contract test suite that every key ring backend
// passes. A backend's test calls Run from a test named TestContract, so that
// subtests read TestContract/<backend>/<case>.
package keyringtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aseptsoft/subledger/eventstore"
	"github.com/aseptsoft/subledger/eventstore/keyring"
)

// Env is one fresh place for a ring: its event store (which holds the
// erasure ledger, and for a store-backed ring the keys too) and a way to open
// the ring there.
type Env struct {
	// Store is the event store the ring uses. The suite appends erasure
	// records to it directly, as another replica would.
	Store eventstore.Store
	// Open opens the ring of this place. The suite closes a ring before it
	// opens the place again, except in replica cases.
	Open func(t *testing.T, master keyring.MasterKey, cfg keyring.Config) (keyring.Ring, error)
	// Replicas is true when two rings of one place may be open at once (a
	// store-backed ring); replica cases are skipped otherwise.
	Replicas bool
}

// Backend describes a ring under test.
type Backend struct {
	// Name is the subtest name: "file", "store-embedded", ...
	Name string
	// New returns a fresh, empty place. Cleanup is the backend's (t.Cleanup).
	New func(t *testing.T) Env
}

// epoch is the time of the fixed clock the suite injects.
var epoch = time.Date(2031, 5, 17, 9, 30, 0, 0, time.UTC)

func clock() time.Time { return epoch }

// Run runs the contract suite against b.
func Run(t *testing.T, b Backend) {
	t.Run(b.Name, func(t *testing.T) {
		cases := []struct {
			name string
			fn   func(t *testing.T, b Backend)
		}{
			{"data_key_is_created_once_and_stays_the_same", testCreateOnce},
			{"subjects_get_distinct_keys", testDistinct},
			{"key_survives_reopen", testReopen},
			{"unknown_subject_or_key_id_is_unknown_key", testUnknown},
			{"invalid_subject_is_refused", testInvalidSubject},
			{"forgotten_subject_gets_no_key_before_or_after_reopen", testForget},
			{"forget_is_recorded_once_in_the_ledger", testLedger},
			{"forgetting_a_subject_without_key_blocks_its_creation", testForgetUnknown},
			{"concurrent_first_use_yields_one_key", testConcurrentCreate},
			{"wrong_master_key_is_refused_naming_its_source", testWrongMaster},
			{"binding_tag_is_stable_and_input_sensitive", testBind},
			{"event_binding_covers_every_field_and_outlives_forget", testBindEvent},
			{"new_ring_requires_version_2_bindings_across_reopen", testMinBinding},
			{"observed_erasure_record_drops_cached_key", testObserve},
			{"refresh_applies_new_erasure_records", testRefresh},
			{"reopen_reapplies_the_ledger", testReapply},
			{"failing_random_source_fails_creation_cleanly", testBadRandom},
			{"closed_ring_refuses_work", testClosed},
			{"replica_drops_key_when_erasure_reaches_it", testReplica},
			{"replicas_racing_on_first_use_agree_on_one_key", testReplicaRace},
			{"pseudonyms_are_stable_distinct_and_die_with_the_key", testPseudonym},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) { c.fn(t, b) })
		}
	})
}

// master returns a fresh master key named after the test.
func master(t *testing.T) keyring.MasterKey {
	t.Helper()
	m, err := keyring.NewMasterKey(nil, "/test/"+t.Name()+"/master.key")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func cfg() keyring.Config { return keyring.Config{Now: clock} }

func open(t *testing.T, env Env, m keyring.MasterKey, c keyring.Config) keyring.Ring {
	t.Helper()
	r, err := env.Open(t, m, c)
	if err != nil {
		t.Fatalf("open ring: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func subject() string { return uuid.NewString() }

func dataKey(t *testing.T, r keyring.Ring, s string) *keyring.DataKey {
	t.Helper()
	k, err := r.DataKey(ctxFor(t), s)
	if err != nil {
		t.Fatalf("DataKey(%s): %v", s, err)
	}
	return k
}

func seal(t *testing.T, k *keyring.DataKey, msg string) []byte {
	t.Helper()
	nonce := make([]byte, 12)
	rand.Read(nonce)
	return k.AEAD().Seal(nonce, nonce, []byte(msg), []byte(k.Subject()))
}

func opens(k *keyring.DataKey, sealed []byte, msg string) bool {
	got, err := k.AEAD().Open(nil, sealed[:12], sealed[12:], []byte(k.Subject()))
	return err == nil && string(got) == msg
}

func testCreateOnce(t *testing.T, b Backend) {
	env := b.New(t)
	r := open(t, env, master(t), cfg())
	s := subject()
	k1 := dataKey(t, r, s)
	k2 := dataKey(t, r, s)
	if k1.ID() != k2.ID() || k1.Fingerprint() != k2.Fingerprint() {
		t.Fatalf("second DataKey gave key %s, first %s", k2.ID(), k1.ID())
	}
	if k1.Subject() != s || len(k1.ID()) != 16 || len(k1.Fingerprint()) != 32 {
		t.Fatalf("key %q of %q, fingerprint %q: want subject %q, 16-digit id, 32-digit fingerprint", k1.ID(), k1.Subject(), k1.Fingerprint(), s)
	}
	k3, err := r.Key(ctxFor(t), s, k1.ID())
	if err != nil {
		t.Fatalf("Key: %v", err)
	}
	if !opens(k3, seal(t, k1, "hello"), "hello") {
		t.Fatal("the key from Key does not open what DataKey's key sealed")
	}
	if str := fmt.Sprintf("%v %+v %#v", k1, k1, k1); !strings.Contains(str, k1.ID()) {
		t.Fatalf("formatting a key gives %q", str)
	}
}

func testDistinct(t *testing.T, b Backend) {
	env := b.New(t)
	r := open(t, env, master(t), cfg())
	a, c := dataKey(t, r, subject()), dataKey(t, r, subject())
	if a.ID() == c.ID() || a.Fingerprint() == c.Fingerprint() {
		t.Fatalf("two subjects share key id %s or fingerprint %s", a.ID(), a.Fingerprint())
	}
	sealed := seal(t, a, "secret")
	if _, err := c.AEAD().Open(nil, sealed[:12], sealed[12:], []byte(a.Subject())); err == nil {
		t.Fatal("one subject's key opens another subject's ciphertext")
	}
}

func testReopen(t *testing.T, b Backend) {
	env := b.New(t)
	m := master(t)
	r := open(t, env, m, cfg())
	s := subject()
	k := dataKey(t, r, s)
	sealed := seal(t, k, "kept across restarts")
	r.Close()
	r2 := open(t, env, m, cfg())
	k2, err := r2.Key(ctxFor(t), s, k.ID())
	if err != nil {
		t.Fatalf("Key after reopen: %v", err)
	}
	if !opens(k2, sealed, "kept across restarts") {
		t.Fatal("the reopened key does not open the old ciphertext")
	}
	if k3 := dataKey(t, r2, s); k3.ID() != k.ID() {
		t.Fatalf("DataKey after reopen minted key %s, want %s", k3.ID(), k.ID())
	}
}

func testUnknown(t *testing.T, b Backend) {
	env := b.New(t)
	r := open(t, env, master(t), cfg())
	s := subject()
	k := dataKey(t, r, s)
	for _, c := range []struct{ name, subject, keyID string }{
		{"other_key_id_of_known_subject", s, "0000000000000000"},
		{"empty_key_id", s, ""},
		{"subject_without_key", subject(), k.ID()},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := r.Key(ctxFor(t), c.subject, c.keyID); !errors.Is(err, keyring.ErrUnknownKey) {
				t.Fatalf("Key: %v, want ErrUnknownKey", err)
			}
		})
	}
}

func testInvalidSubject(t *testing.T, b Backend) {
	env := b.New(t)
	r := open(t, env, master(t), cfg())
	for _, c := range []struct{ name, subject string }{
		{"empty", ""},
		{"too_long", strings.Repeat("a", keyring.MaxSubjectLen+1)},
		{"control_character", "abc\ndef"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := ctxFor(t)
			if _, err := r.DataKey(ctx, c.subject); !errors.Is(err, keyring.ErrInvalidSubject) {
				t.Errorf("DataKey: %v, want ErrInvalidSubject", err)
			}
			if _, err := r.Key(ctx, c.subject, "0000000000000000"); !errors.Is(err, keyring.ErrInvalidSubject) {
				t.Errorf("Key: %v, want ErrInvalidSubject", err)
			}
			if err := r.Forget(ctx, c.subject); !errors.Is(err, keyring.ErrInvalidSubject) {
				t.Errorf("Forget: %v, want ErrInvalidSubject", err)
			}
		})
	}
	if _, err := r.DataKey(ctxFor(t), strings.Repeat("a", keyring.MaxSubjectLen)); err != nil {
		t.Fatalf("DataKey of a subject id of the longest length: %v", err)
	}
}

func assertForgotten(t *testing.T, r keyring.Ring, s, keyID string) {
	t.Helper()
	ctx := ctxFor(t)
	if _, err := r.DataKey(ctx, s); !errors.Is(err, keyring.ErrForgotten) {
		t.Fatalf("DataKey of a forgotten subject: %v, want ErrForgotten", err)
	}
	if _, err := r.Key(ctx, s, keyID); !errors.Is(err, keyring.ErrForgotten) {
		t.Fatalf("Key of a forgotten subject: %v, want ErrForgotten", err)
	}
}

func testForget(t *testing.T, b Backend) {
	env := b.New(t)
	m := master(t)
	r := open(t, env, m, cfg())
	s, other := subject(), subject()
	k := dataKey(t, r, s)
	ko := dataKey(t, r, other)
	if err := r.Forget(ctxFor(t), s); err != nil {
		t.Fatalf("Forget: %v", err)
	}
	assertForgotten(t, r, s, k.ID())
	if err := r.Forget(ctxFor(t), s); err != nil {
		t.Fatalf("second Forget: %v", err)
	}
	r.Close()
	r2 := open(t, env, m, cfg())
	assertForgotten(t, r2, s, k.ID())
	if k2, err := r2.Key(ctxFor(t), other, ko.ID()); err != nil || k2.Fingerprint() != ko.Fingerprint() {
		t.Fatalf("the other subject's key after reopen: %v", err)
	}
}

// ledger returns the erasure records in env's store.
func ledger(t *testing.T, env Env) []keyring.Erasure {
	t.Helper()
	evs, err := env.Store.ReadStream(ctxFor(t), keyring.LedgerStream, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []keyring.Erasure
	for _, ev := range evs {
		e, ok, err := keyring.ParseErasure(ev)
		if err != nil || !ok {
			t.Fatalf("ledger event %s of type %s: %v", ev.ID, ev.Type, err)
		}
		if !keyring.Owns(ev) {
			t.Fatalf("Owns(%s) is false", ev.Type)
		}
		out = append(out, e)
	}
	return out
}

func testLedger(t *testing.T, b Backend) {
	env := b.New(t)
	r := open(t, env, master(t), cfg())
	s := subject()
	k := dataKey(t, r, s)
	for range 2 {
		if err := r.Forget(ctxFor(t), s); err != nil {
			t.Fatalf("Forget: %v", err)
		}
	}
	got := ledger(t, env)
	want := []keyring.Erasure{{SubjectID: s, KeyID: k.ID(), KeyFingerprint: k.Fingerprint(), ForgottenAt: epoch}}
	if len(got) != 1 || got[0] != want[0] {
		t.Fatalf("ledger: %+v, want %+v", got, want)
	}
}

func testForgetUnknown(t *testing.T, b Backend) {
	env := b.New(t)
	m := master(t)
	r := open(t, env, m, cfg())
	s := subject()
	if err := r.Forget(ctxFor(t), s); err != nil {
		t.Fatalf("Forget: %v", err)
	}
	assertForgotten(t, r, s, "0000000000000000")
	if got := ledger(t, env); len(got) != 1 || got[0].SubjectID != s || got[0].KeyID != "" || got[0].KeyFingerprint != "" {
		t.Fatalf("ledger: %+v, want one record of %s without key", got, s)
	}
	r.Close()
	assertForgotten(t, open(t, env, m, cfg()), s, "0000000000000000")
}

func testConcurrentCreate(t *testing.T, b Backend) {
	env := b.New(t)
	r := open(t, env, master(t), cfg())
	s := subject()
	ids := make([]string, 16)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			k, err := r.DataKey(context.Background(), s)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = k.ID()
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent DataKey gave keys %v", ids)
		}
	}
}

func testWrongMaster(t *testing.T, b Backend) {
	env := b.New(t)
	r := open(t, env, master(t), cfg())
	dataKey(t, r, subject())
	r.Close()
	other, err := keyring.NewMasterKey(nil, "/elsewhere/wrong-master.key")
	if err != nil {
		t.Fatal(err)
	}
	r2, err := env.Open(t, other, cfg())
	if err == nil {
		r2.Close()
		t.Fatal("a ring opened with the wrong master key")
	}
	if !errors.Is(err, keyring.ErrWrongMasterKey) || !strings.Contains(err.Error(), "/elsewhere/wrong-master.key") {
		t.Fatalf("open with the wrong master key: %v, want ErrWrongMasterKey naming the file", err)
	}
}

func testBind(t *testing.T, b Backend) {
	env := b.New(t)
	m := master(t)
	r := open(t, env, m, cfg())
	e1, e2 := [16]byte{1}, [16]byte{2}
	base := r.Bind(nil, e1, "s1", "k1", []byte("sealed"))
	if len(base) != 16 {
		t.Fatalf("tag of %d bytes, want 16", len(base))
	}
	variants := map[string][]byte{
		"event_id":      r.Bind(nil, e2, "s1", "k1", []byte("sealed")),
		"subject":       r.Bind(nil, e1, "s2", "k1", []byte("sealed")),
		"key_id":        r.Bind(nil, e1, "s1", "k2", []byte("sealed")),
		"ciphertext":    r.Bind(nil, e1, "s1", "k1", []byte("sealeD")),
		"shifted_parts": r.Bind(nil, e1, "s1k", "1", []byte("sealed")),
	}
	for name, tag := range variants {
		if bytes.Equal(tag, base) {
			t.Errorf("changing the %s leaves the tag unchanged", name)
		}
	}
	if got := r.Bind([]byte("x"), e1, "s1", "k1", []byte("sealed")); !bytes.Equal(got[1:], base) || got[0] != 'x' {
		t.Fatal("Bind does not append to dst")
	}
	r.Close()
	r2 := open(t, env, m, cfg())
	if got := r2.Bind(nil, e1, "s1", "k1", []byte("sealed")); !bytes.Equal(got, base) {
		t.Fatal("the tag changed across reopen")
	}
	other := b.New(t)
	r3 := open(t, other, m, cfg())
	if got := r3.Bind(nil, e1, "s1", "k1", []byte("sealed")); bytes.Equal(got, base) {
		t.Fatal("two rings with one master key share their binding secret")
	}
}

// eventBinding is the base binding that testBindEvent varies field by field.
func eventBinding() keyring.EventBinding {
	return keyring.EventBinding{
		EventID: [16]byte{1, 2, 3}, Type: "account.registered.v1", SchemaVersion: 2, Stream: "account-a1",
		Subject: "a1", KeyID: "k1", Actor: "actor", RequestID: "req", CorrelationID: "corr", CausationID: "cause",
		Plain: []byte(`{"account_id":"a1"}`), Sealed: []byte("sealed"),
	}
}

func testBindEvent(t *testing.T, b Backend) {
	env := b.New(t)
	m := master(t)
	r := open(t, env, m, cfg())
	e := eventBinding()
	base := r.BindEvent(nil, &e)
	if len(base) != 16 {
		t.Fatalf("tag of %d bytes, want 16", len(base))
	}
	variants := map[string]func(e *keyring.EventBinding){
		"event_id":        func(e *keyring.EventBinding) { e.EventID[15] = 9 },
		"type":            func(e *keyring.EventBinding) { e.Type = "account.details_changed.v1" },
		"schema_version":  func(e *keyring.EventBinding) { e.SchemaVersion = 1 },
		"schema_absent":   func(e *keyring.EventBinding) { e.SchemaVersion = 0 },
		"stream":          func(e *keyring.EventBinding) { e.Stream = "account-a2" },
		"subject":         func(e *keyring.EventBinding) { e.Subject = "a2" },
		"key_id":          func(e *keyring.EventBinding) { e.KeyID = "k2" },
		"actor":           func(e *keyring.EventBinding) { e.Actor = "admin" },
		"request_id":      func(e *keyring.EventBinding) { e.RequestID = "req2" },
		"correlation_id":  func(e *keyring.EventBinding) { e.CorrelationID = "corr2" },
		"causation_id":    func(e *keyring.EventBinding) { e.CausationID = "cause2" },
		"plain":           func(e *keyring.EventBinding) { e.Plain = []byte(`{"account_id":"a2"}`) },
		"sealed":          func(e *keyring.EventBinding) { e.Sealed = []byte("sealeD") },
		"sealed_removed":  func(e *keyring.EventBinding) { e.Sealed, e.KeyID = nil, "" },
		"plain_to_sealed": func(e *keyring.EventBinding) { e.Plain, e.Sealed = []byte(`{"account_id":"a1"}s`), []byte("ealed") },
		"subject_to_key":  func(e *keyring.EventBinding) { e.Subject, e.KeyID = "a1k", "1" },
		"type_to_stream":  func(e *keyring.EventBinding) { e.Type, e.Stream = "account.registered.v1account-a1", "" },
	}
	for name, f := range variants {
		v := eventBinding()
		f(&v)
		if bytes.Equal(r.BindEvent(nil, &v), base) {
			t.Errorf("changing the %s leaves the tag unchanged", name)
		}
	}
	if got := r.BindEvent([]byte("x"), &e); !bytes.Equal(got[1:], base) || got[0] != 'x' {
		t.Fatal("BindEvent does not append to dst")
	}
	// A version 1 tag of the same event id, subject, key id and ciphertext
	// is a different tag (another key), so one never verifies as the other.
	if bytes.Equal(r.Bind(nil, e.EventID, e.Subject, e.KeyID, e.Sealed), base) {
		t.Fatal("Bind and BindEvent agree")
	}
	// It outlives the subject's key.
	dataKey(t, r, "a1")
	if err := r.Forget(ctxFor(t), "a1"); err != nil {
		t.Fatal(err)
	}
	if got := r.BindEvent(nil, &e); !bytes.Equal(got, base) {
		t.Fatal("the tag changed after Forget")
	}
	r.Close()
	r2 := open(t, env, m, cfg())
	if got := r2.BindEvent(nil, &e); !bytes.Equal(got, base) {
		t.Fatal("the tag changed across reopen")
	}
	other := b.New(t)
	r3 := open(t, other, m, cfg())
	if got := r3.BindEvent(nil, &e); bytes.Equal(got, base) {
		t.Fatal("two rings with one master key share their event binding key")
	}
}

func testMinBinding(t *testing.T, b Backend) {
	env := b.New(t)
	m := master(t)
	r := open(t, env, m, cfg())
	if v := r.MinBindingVersion(); v != 2 {
		t.Fatalf("a new ring requires binding version %d, want 2", v)
	}
	r.Close()
	if v := open(t, env, m, cfg()).MinBindingVersion(); v != 2 {
		t.Fatalf("after reopen the ring requires binding version %d, want 2", v)
	}
}

// appendErasure writes an erasure record as another replica would and
// returns it as stored.
func appendErasure(t *testing.T, env Env, s string) eventstore.Event {
	t.Helper()
	data, _ := json.Marshal(keyring.Erasure{SubjectID: s, ForgottenAt: epoch})
	ctx := ctxFor(t)
	res, err := env.Store.Append(ctx, keyring.LedgerStream, eventstore.Any(), eventstore.EventData{
		ID: uuid.NewString(), Type: keyring.ErasureEventType, Data: data, Metadata: []byte(`{}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := env.Store.ReadStream(ctx, keyring.LedgerStream, res.Version, 1)
	if err != nil || len(evs) != 1 {
		t.Fatalf("reading back the erasure record: %v", err)
	}
	return evs[0]
}

func testObserve(t *testing.T, b Backend) {
	env := b.New(t)
	r := open(t, env, master(t), cfg())
	s, other := subject(), subject()
	k := dataKey(t, r, s)
	ko := dataKey(t, r, other)
	ev := appendErasure(t, env, s)
	unrelated := ev
	unrelated.Stream, unrelated.Type = "account-"+other, "AccountRegistered"
	if err := r.Observe(unrelated); err != nil {
		t.Fatalf("Observe of an unrelated event: %v", err)
	}
	if err := r.Observe(ev); err != nil {
		t.Fatalf("Observe: %v", err)
	}
	assertForgotten(t, r, s, k.ID())
	if _, err := r.Key(ctxFor(t), other, ko.ID()); err != nil {
		t.Fatalf("another subject's key after Observe: %v", err)
	}
	bad := ev
	bad.Data = []byte(`{"subject_id":""}`)
	if err := r.Observe(bad); !errors.Is(err, keyring.ErrCorrupt) {
		t.Fatalf("Observe of a malformed erasure record: %v, want ErrCorrupt", err)
	}
}

func testRefresh(t *testing.T, b Backend) {
	env := b.New(t)
	r := open(t, env, master(t), cfg())
	s := subject()
	k := dataKey(t, r, s)
	appendErasure(t, env, s)
	if err := r.Refresh(ctxFor(t)); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	assertForgotten(t, r, s, k.ID())
	if err := r.Refresh(ctxFor(t)); err != nil {
		t.Fatalf("second Refresh: %v", err)
	}
}

func testReapply(t *testing.T, b Backend) {
	env := b.New(t)
	m := master(t)
	r := open(t, env, m, cfg())
	s := subject()
	k := dataKey(t, r, s)
	r.Close()
	appendErasure(t, env, s)
	assertForgotten(t, open(t, env, m, cfg()), s, k.ID())
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("entropy exhausted") }

func testBadRandom(t *testing.T, b Backend) {
	env := b.New(t)
	m := master(t)
	r := open(t, env, m, cfg())
	r.Close()
	c := cfg()
	c.Rand = failingReader{}
	r2 := open(t, env, m, c)
	s := subject()
	if _, err := r2.DataKey(ctxFor(t), s); err == nil || !strings.Contains(err.Error(), "entropy exhausted") {
		t.Fatalf("DataKey with a failing random source: %v", err)
	}
	r2.Close()
	r3 := open(t, env, m, cfg())
	if _, err := r3.Key(ctxFor(t), s, "0000000000000000"); !errors.Is(err, keyring.ErrUnknownKey) {
		t.Fatalf("after a failed creation: %v, want ErrUnknownKey", err)
	}
	dataKey(t, r3, s)
}

func testClosed(t *testing.T, b Backend) {
	env := b.New(t)
	r := open(t, env, master(t), cfg())
	s := subject()
	k := dataKey(t, r, s)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ctx := ctxFor(t)
	if _, err := r.DataKey(ctx, s); !errors.Is(err, keyring.ErrClosed) {
		t.Errorf("DataKey: %v, want ErrClosed", err)
	}
	if _, err := r.Key(ctx, s, k.ID()); !errors.Is(err, keyring.ErrClosed) {
		t.Errorf("Key: %v, want ErrClosed", err)
	}
	if err := r.Forget(ctx, s); !errors.Is(err, keyring.ErrClosed) {
		t.Errorf("Forget: %v, want ErrClosed", err)
	}
}

func testReplica(t *testing.T, b Backend) {
	env := b.New(t)
	if !env.Replicas {
		t.Skip("the backend allows one open ring per place")
	}
	m := master(t)
	a := open(t, env, m, cfg())
	viaObserve := open(t, env, m, cfg())
	viaRefresh := open(t, env, m, cfg())
	cold := open(t, env, m, cfg())
	s := subject()
	k := dataKey(t, a, s)
	for _, r := range []keyring.Ring{viaObserve, viaRefresh} {
		if _, err := r.Key(ctxFor(t), s, k.ID()); err != nil {
			t.Fatalf("replica's Key before erasure: %v", err)
		}
	}
	if err := a.Forget(ctxFor(t), s); err != nil {
		t.Fatal(err)
	}
	evs, err := env.Store.ReadStream(ctxFor(t), keyring.LedgerStream, 0, 10)
	if err != nil || len(evs) != 1 {
		t.Fatalf("ledger: %d events, %v", len(evs), err)
	}
	if err := viaObserve.Observe(evs[0]); err != nil {
		t.Fatal(err)
	}
	if err := viaRefresh.Refresh(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	// cold never cached the key and has not seen the ledger: it finds the
	// key gone from the store.
	for name, r := range map[string]keyring.Ring{"observe": viaObserve, "refresh": viaRefresh, "cold": cold} {
		t.Run(name, func(t *testing.T) { assertForgotten(t, r, s, k.ID()) })
	}
}

func testReplicaRace(t *testing.T, b Backend) {
	env := b.New(t)
	if !env.Replicas {
		t.Skip("the backend allows one open ring per place")
	}
	m := master(t)
	rings := []keyring.Ring{open(t, env, m, cfg()), open(t, env, m, cfg()), open(t, env, m, cfg())}
	s := subject()
	ids := make([]string, len(rings))
	var wg sync.WaitGroup
	for i, r := range rings {
		wg.Go(func() {
			k, err := r.DataKey(context.Background(), s)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = k.ID()
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("replicas disagree on the key: %v", ids)
		}
	}
}

func testPseudonym(t *testing.T, b Backend) {
	env := b.New(t)
	m := master(t)
	ctx := ctxFor(t)
	r := open(t, env, m, cfg())
	a, b2 := "7d4c9a51-0b1e-4c6a-9f3e-2a8b7c6d5e41", "0f9e8d7c-6b5a-4938-8271-6a5b4c3d2e1f"
	pa, err := keyring.Pseudonym(ctx, r, a, "email-reservation")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := uuid.Parse(pa); err != nil || strings.Contains(pa, a) {
		t.Fatalf("pseudonym %q is not an unrelated UUID", pa)
	}
	again, _ := keyring.Pseudonym(ctx, r, a, "email-reservation")
	other, _ := keyring.Pseudonym(ctx, r, a, "another-purpose")
	ofB, _ := keyring.Pseudonym(ctx, r, b2, "email-reservation")
	if again != pa || other == pa || ofB == pa {
		t.Fatalf("pseudonyms %s, %s (other label), %s (other subject): want the first two equal and the rest distinct", again, other, ofB)
	}
	r.Close()
	r = open(t, env, m, cfg())
	if afterReopen, err := keyring.Pseudonym(ctx, r, a, "email-reservation"); err != nil || afterReopen != pa {
		t.Fatalf("after reopening the pseudonym is %s (err %v), want %s", afterReopen, err, pa)
	}
	if err := r.Forget(ctx, a); err != nil {
		t.Fatal(err)
	}
	if p, err := keyring.Pseudonym(ctx, r, a, "email-reservation"); !errors.Is(err, keyring.ErrForgotten) {
		t.Fatalf("pseudonym of a forgotten subject: %q, %v; want ErrForgotten", p, err)
	}
}
