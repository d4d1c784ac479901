// The cases of two replicas sharing one event store.

package keyringtest

import (
	"context"
	"sync"
	"testing"

	"github.com/aseptsoft/subledger/eventstore/keyring"
)

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
