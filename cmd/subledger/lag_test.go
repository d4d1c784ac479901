package main

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aseptsoft/subledger/eventstore"
	"github.com/aseptsoft/subledger/eventstore/esdb"
	"github.com/aseptsoft/subledger/eventstore/esdb/esdbtest"
)

// TestLagCounterCountsTheEventsBehind: on a store with sparse positions the
// lag is the number of events after the projections' position.
func TestLagCounterCountsTheEventsBehind(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := esdb.Open(ctx, esdbtest.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var positions []uint64
	for i := 0; i < 5; i++ {
		res, err := st.Append(ctx, "s-1", eventstore.Any(), eventstore.EventData{ID: uuid.NewString(), Type: "t", Data: []byte(`{}`), Metadata: []byte(`{}`)})
		if err != nil {
			t.Fatal(err)
		}
		positions = append(positions, res.Position)
	}
	cases := []struct {
		name string
		at   uint64
		want uint64
	}{
		{"nothing_applied_is_five_behind", 0, 5},
		{"two_applied_is_three_behind", positions[1], 3},
		{"all_applied_is_caught_up", positions[4], 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := &lagCounter{store: st, at: func() uint64 { return c.at }}
			rctx, stop := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { l.run(rctx, time.Hour); close(done) }()
			deadline := time.Now().Add(5 * time.Second)
			for l.lag() != c.want && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			stop()
			<-done
			if l.lag() != c.want {
				t.Fatalf("lag %d, want %d", l.lag(), c.want)
			}
		})
	}
}
