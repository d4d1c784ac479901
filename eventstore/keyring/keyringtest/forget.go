// The cases of erasure: Forget, the ledger, and erasure records observed,
// refreshed and re-applied.

package keyringtest

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/aseptsoft/subledger/eventstore"
	"github.com/aseptsoft/subledger/eventstore/keyring"
)

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
