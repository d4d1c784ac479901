// The cases of bindings: Bind, BindEvent and MinBindingVersion.

package keyringtest

import (
	"bytes"
	"testing"

	"github.com/aseptsoft/subledger/eventstore/keyring"
)

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
