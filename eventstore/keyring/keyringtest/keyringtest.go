// Package keyringtest is the contract test suite that every key ring backend
// passes. A backend's test calls Run from a test named TestContract, so that
// subtests read TestContract/<backend>/<case>.
package keyringtest

import (
	"context"
	"crypto/rand"
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
