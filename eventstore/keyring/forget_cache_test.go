package keyring

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/google/uuid"
)

// TestForgetDropsTheCachedKey checks that Forget leaves no key of the
// subject in the ring's cache, for both kinds of ring: a forgotten key is
// never served (the forgotten set says so first), and it must not stay in
// memory either until the cache happens to evict it.
func TestForgetDropsTheCachedKey(t *testing.T) {
	ctx := context.Background()
	type ring interface {
		DataKey(context.Context, string) (*DataKey, error)
		Forget(context.Context, string) error
	}
	for _, tc := range []struct {
		name string
		open func(t *testing.T) (ring, *core)
	}{
		{"file ring", func(t *testing.T) (ring, *core) {
			dir := t.TempDir()
			r, err := OpenFileRing(ctx, filepath.Join(dir, "keyring"), testMaster(t), openStore(t, filepath.Join(dir, "events")), Config{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close() })
			return r, r.c
		}},
		{"store ring", func(t *testing.T) (ring, *core) {
			r, err := OpenStoreRing(ctx, openStore(t, t.TempDir()), testMaster(t), Config{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close() })
			return r, r.c
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, c := tc.open(t)
			gone, kept := uuid.NewString(), uuid.NewString()
			for _, s := range []string{gone, kept} {
				if _, err := r.DataKey(ctx, s); err != nil {
					t.Fatal(err)
				}
			}
			if c.cache.get(gone) == nil || c.cache.get(kept) == nil {
				t.Fatal("the keys were not cached to begin with")
			}
			if err := r.Forget(ctx, gone); err != nil {
				t.Fatal(err)
			}
			if c.cache.get(gone) != nil {
				t.Fatal("the forgotten subject's key is still in the cache")
			}
			if c.cache.get(kept) == nil {
				t.Fatal("the other subject's key left the cache")
			}
		})
	}
}
