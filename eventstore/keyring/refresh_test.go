package keyring_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aseptsoft/subledger/eventstore/keyring"
)

// TestRefreshEveryDropsAKeyForgottenByAnotherReplica runs RefreshEvery on
// one replica while another forgets a subject whose key the first has
// cached.
func TestRefreshEveryDropsAKeyForgottenByAnotherReplica(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	store := openEmbedded(t, filepath.Join(t.TempDir(), "events"))
	m, err := keyring.NewMasterKey(nil, "/test/master.key")
	if err != nil {
		t.Fatal(err)
	}
	a, err := keyring.OpenStoreRing(ctx, store, m, keyring.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := keyring.OpenStoreRing(ctx, store, m, keyring.Config{})
	if err != nil {
		t.Fatal(err)
	}
	s := uuid.NewString()
	k, err := a.DataKey(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Key(ctx, s, k.ID()); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- keyring.RefreshEvery(ctx, b, 5*time.Millisecond) }()
	if err := a.Forget(ctx, s); err != nil {
		t.Fatal(err)
	}
	for {
		_, err := b.Key(ctx, s, k.ID())
		if errors.Is(err, keyring.ErrForgotten) {
			break
		}
		if err != nil {
			t.Fatalf("Key on the refreshing replica: %v", err)
		}
		select {
		case <-ctx.Done():
			t.Fatal("the refreshing replica still hands out the forgotten key")
		case <-time.After(2 * time.Millisecond):
		}
	}
	b.Close()
	select {
	case err := <-done:
		if !errors.Is(err, keyring.ErrClosed) {
			t.Fatalf("RefreshEvery ended with %v, want ErrClosed", err)
		}
	case <-ctx.Done():
		t.Fatal("RefreshEvery did not end after Close")
	}
}
