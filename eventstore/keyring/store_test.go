package keyring_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aseptsoft/subledger/eventstore"
	"github.com/aseptsoft/subledger/eventstore/esdb/esdbtest"
	"github.com/aseptsoft/subledger/eventstore/keyring"
)

// TestStoreRingRemovesTheKeyStream checks what the contract cannot see: a
// StoreRing's Forget tombstones the subject's key stream, and reopening
// tombstones a key stream that a Forget interrupted after its ledger record
// left behind.
func TestStoreRingRemovesTheKeyStream(t *testing.T) {
	stores := []struct {
		name string
		open func(t *testing.T) eventstore.Store
	}{
		{"embedded", func(t *testing.T) eventstore.Store { return openEmbedded(t, filepath.Join(t.TempDir(), "events")) }},
		{"esdb", func(t *testing.T) eventstore.Store { return openESDB(t, esdbtest.Start(t)) }},
	}
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			ctx := context.Background()
			store := s.open(t)
			m, err := keyring.NewMasterKey(nil, "/test/master.key")
			if err != nil {
				t.Fatal(err)
			}
			if ok, err := keyring.StoreRingExists(ctx, store); ok || err != nil {
				t.Fatalf("StoreRingExists on an empty store: %v, %v", ok, err)
			}
			r, err := keyring.OpenStoreRing(ctx, store, m, keyring.Config{})
			if err != nil {
				t.Fatal(err)
			}
			if ok, err := keyring.StoreRingExists(ctx, store); !ok || err != nil {
				t.Fatalf("StoreRingExists after open: %v, %v", ok, err)
			}
			forgotten, interrupted := uuid.NewString(), uuid.NewString()
			for _, subj := range []string{forgotten, interrupted} {
				if _, err := r.DataKey(ctx, subj); err != nil {
					t.Fatal(err)
				}
			}
			if err := r.Forget(ctx, forgotten); err != nil {
				t.Fatal(err)
			}
			r.Close()
			// A Forget that crashed after writing its ledger record.
			data, _ := json.Marshal(keyring.Erasure{SubjectID: interrupted, ForgottenAt: time.Now().UTC()})
			if _, err := store.Append(ctx, keyring.LedgerStream, eventstore.Any(), eventstore.EventData{
				ID: uuid.NewString(), Type: keyring.ErasureEventType, Data: data, Metadata: []byte(`{}`),
			}); err != nil {
				t.Fatal(err)
			}
			if evs, err := store.ReadStream(ctx, keyring.KeyStream(interrupted), 0, 1); err != nil || len(evs) != 1 {
				t.Fatalf("the interrupted subject's key stream: %d events, %v", len(evs), err)
			}
			r, err = keyring.OpenStoreRing(ctx, store, m, keyring.Config{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			for _, c := range []struct{ name, subject string }{
				{"forgotten_subjects_stream_is_tombstoned", forgotten},
				{"interrupted_subjects_stream_is_tombstoned_at_open", interrupted},
			} {
				t.Run(c.name, func(t *testing.T) {
					if _, err := store.ReadStream(ctx, keyring.KeyStream(c.subject), 0, 1); !errors.Is(err, eventstore.ErrStreamDeleted) {
						t.Fatalf("reading the key stream: %v, want ErrStreamDeleted", err)
					}
				})
			}
		})
	}
}
