package keyring_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/aseptsoft/subledger/eventstore"
	"github.com/aseptsoft/subledger/eventstore/codec"
	"github.com/aseptsoft/subledger/eventstore/keyring"
)

type customerChanged struct {
	AccountID string `json:"account_id"`
	Name      string `json:"name" personal:"true"`
	Email     string `json:"email" personal:"true"`
	Plan      string `json:"plan"`
	Seq       int    `json:"seq"`
}

func (customerChanged) EventType() string     { return "CustomerChanged" }
func (e customerChanged) DataSubject() string { return e.AccountID }

// BenchmarkForget measures Forget of a subject whose events are in the
// embedded event store, for 10 and for 100,000 events: Forget appends one
// ledger record and overwrites one slot, so both take the same time.
//
// Each iteration forgets the same subject in a fresh ring instance: the
// slot file is put back as it was before the first Forget and the ring
// gets a ledger stream of its own, so that the subject is live again; that
// set-up is not timed.
func BenchmarkForget(b *testing.B) {
	for _, n := range []int{10, 100_000} {
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			ctx := context.Background()
			dir := b.TempDir()
			store := openEmbedded(b, filepath.Join(dir, "events"))
			ringDir := filepath.Join(dir, "keyring")
			m, err := keyring.NewMasterKey(nil, "bench")
			if err != nil {
				b.Fatal(err)
			}
			ring, err := keyring.OpenFileRing(ctx, ringDir, m, store, keyring.Config{})
			if err != nil {
				b.Fatal(err)
			}
			reg := codec.NewRegistry()
			if err := reg.Register(codec.Type{Prototype: customerChanged{}}); err != nil {
				b.Fatal(err)
			}
			c := codec.New(reg, ring, codec.Config{})
			subject := uuid.NewString()
			// Other subjects too, so the ring is not trivially small.
			for range 1000 {
				if _, err := ring.DataKey(ctx, uuid.NewString()); err != nil {
					b.Fatal(err)
				}
			}
			const batch = 5000
			evs := make([]eventstore.EventData, 0, batch)
			for i := range n {
				d, err := c.Encode(ctx, customerChanged{AccountID: subject, Name: "Bench Person", Email: "bench@x.example", Plan: "pro", Seq: i}, codec.Meta{Actor: "bench", Stream: "account-" + subject})
				if err != nil {
					b.Fatal(err)
				}
				evs = append(evs, d)
				if len(evs) == batch || i == n-1 {
					if _, err := store.Append(ctx, "account-"+subject, eventstore.Any(), evs...); err != nil {
						b.Fatal(err)
					}
					evs = evs[:0]
				}
			}
			ring.Close()
			slots := filepath.Join(ringDir, keyring.SlotFile)
			pristine, err := os.ReadFile(slots)
			if err != nil {
				b.Fatal(err)
			}
			if got, err := store.ReadStream(ctx, "account-"+subject, 0, n+1); err != nil || len(got) != n {
				b.Fatalf("the store holds %d events of the subject, want %d (%v)", len(got), n, err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				if err := os.WriteFile(slots, pristine, 0o600); err != nil {
					b.Fatal(err)
				}
				r, err := keyring.OpenFileRing(ctx, ringDir, m, store, keyring.Config{LedgerStream: fmt.Sprintf("erasure-ledger-bench-%d", i)})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := r.Forget(ctx, subject); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if _, err := r.DataKey(ctx, subject); err == nil || !strings.Contains(err.Error(), "forgotten") {
					b.Fatalf("after Forget: %v", err)
				}
				r.Close()
				b.StartTimer()
			}
		})
	}
}
