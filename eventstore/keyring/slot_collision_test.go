package keyring

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
)

// TestCollidingSubjectsKeepTheirOwnSlots opens file rings whose slot index
// gives every subject the same hash (mask 0), so that every lookup walks
// one chain and must tell the subjects apart by their names. Three
// subjects get keys, one is forgotten and the ring is reopened: before the
// Forget, after it and after the reopen, each subject is found at its own
// record, the others keep their keys, and only the forgotten subject's
// slot is a tombstone.
func TestCollidingSubjectsKeepTheirOwnSlots(t *testing.T) {
	ctx := context.Background()
	subjects := []string{"acct-a", "acct-b", "acct-c"}
	cases := []struct {
		name   string
		forget int // the index in subjects of the subject to forget
	}{
		{"forgetting_the_first_in_the_chain_keeps_the_others_keys", 0},
		{"forgetting_the_middle_of_the_chain_keeps_the_others_keys", 1},
		{"forgetting_the_last_in_the_chain_keeps_the_others_keys", 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			store := openStore(t, filepath.Join(dir, "events"))
			m := testMaster(t)
			open := func() *FileRing {
				r, err := openFileRing(ctx, filepath.Join(dir, "keyring"), m, store, Config{}, 0)
				if err != nil {
					t.Fatalf("open: %v", err)
				}
				return r
			}
			r := open()
			ids := map[string]string{}
			for _, s := range subjects {
				k, err := r.DataKey(ctx, s)
				if err != nil {
					t.Fatalf("DataKey %s: %v", s, err)
				}
				if k.Subject() != s {
					t.Fatalf("DataKey %s gave the key of %s", s, k.Subject())
				}
				ids[s] = k.ID()
			}
			if len(ids) != len(subjects) || ids[subjects[0]] == ids[subjects[1]] || ids[subjects[1]] == ids[subjects[2]] {
				t.Fatalf("the subjects share keys: %v", ids)
			}
			check := func(stage string, forgotten int) {
				t.Helper()
				// Keys come from the slots, not from the cache.
				r.c.mu.Lock()
				r.c.cache.reset()
				r.c.mu.Unlock()
				seen := map[int]bool{}
				for j, s := range subjects {
					i := r.slots.lookup(s)
					if i < 0 || r.slots.lookupBytes([]byte(s)) != i || string(r.slots.name(i)) != s || seen[i] {
						t.Fatalf("%s: %s is at record %d (by bytes %d)", stage, s, i, r.slots.lookupBytes([]byte(s)))
					}
					seen[i] = true
					want := byte(slotLive)
					if j == forgotten {
						want = slotForgotten
					}
					if r.slots.state(i) != want {
						t.Fatalf("%s: the slot of %s has state %d, want %d", stage, s, r.slots.state(i), want)
					}
					k, err := r.DataKey(ctx, s)
					if j == forgotten {
						if !errors.Is(err, ErrForgotten) {
							t.Fatalf("%s: DataKey of the forgotten %s: %v, %v", stage, s, k, err)
						}
						continue
					}
					if err != nil || k.Subject() != s || k.ID() != ids[s] {
						t.Fatalf("%s: DataKey %s: %v, %v; want key %s", stage, s, k, err, ids[s])
					}
					if k, err := r.Key(ctx, s, ids[s]); err != nil || k.Subject() != s {
						t.Fatalf("%s: Key %s: %v, %v", stage, s, k, err)
					}
				}
			}
			check("before the Forget", -1)
			if err := r.Forget(ctx, subjects[tc.forget]); err != nil {
				t.Fatal(err)
			}
			check("after the Forget", tc.forget)
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			r = open()
			defer r.Close()
			check("after the reopen", tc.forget)
		})
	}
}
