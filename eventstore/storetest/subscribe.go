// The cases of subscriptions to $all: from the start or the middle, live
// events, and stopping.

package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aseptsoft/subledger/eventstore"
)

// testSubscribe appends from several writers while a subscription reads, and
// checks that it sees every event of the run once, in order.
func testSubscribe(t *testing.T, b Backend, fromMiddle bool) {
	s := b.Open(t)
	p := prefix()
	ctx := ctxFor(t)
	before := mark(t, s, p)
	const writers, per = 4, 50
	// Half of the events exist before the subscription starts.
	for i := 0; i < writers*per/2; i++ {
		e := ev("Sub", fmt.Sprint(i))
		if _, err := s.Append(ctx, fmt.Sprintf("%spre%d", p, i%3), eventstore.Any(), e); err != nil {
			t.Fatal(err)
		}
	}
	start := before
	wantFrom := 0
	if fromMiddle {
		existing := readAllOwn(t, s, before, p)
		start = existing[len(existing)/2-1].Position
		wantFrom = len(existing) / 2
	}
	sub, err := s.SubscribeAll(ctx, start)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per/2; i++ {
				e := ev("Sub", fmt.Sprintf("live-%d-%d", w, i))
				if _, err := s.Append(ctx, fmt.Sprintf("%slive%d", p, w), eventstore.Any(), e); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	// Read until the subscription passes the last event written. A
	// subscription that skips or loses an event fails on the comparison
	// below, and one that stalls fails after 10 s without progress, never
	// through the test's own time-out.
	writing := make(chan struct{})
	go func() {
		wg.Wait()
		close(writing)
	}()
	var got []eventstore.Event
	last := start
	var target uint64
	progress := time.Now()
	for target == 0 || last < target {
		if target == 0 {
			select {
			case <-writing:
				own := readAllOwn(t, s, before, p)
				target = own[len(own)-1].Position
				continue
			default:
			}
		}
		nctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		batch, err := sub.Next(nctx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			if time.Since(progress) > 10*time.Second {
				t.Fatalf("subscription made no progress for 10 s at position %d, after %d of %d events (the last one written is at %d)",
					last, len(got), writers*per-wantFrom, target)
			}
			continue
		}
		if err != nil {
			t.Fatalf("next after %d of %d events: %v", len(got), writers*per-wantFrom, err)
		}
		progress = time.Now()
		for _, e := range batch {
			if e.Position <= last {
				t.Fatalf("subscription went back or repeated: position %d after %d", e.Position, last)
			}
			if b.DensePositions && e.Position != last+1 {
				t.Fatalf("subscription skipped from position %d to %d", last, e.Position)
			}
			last = e.Position
			if strings.HasPrefix(e.Stream, p) && e.Type == "Sub" {
				got = append(got, e)
			}
		}
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	stored := readAllOwn(t, s, before, p)
	var storedSub []eventstore.Event
	for _, e := range stored {
		if e.Type == "Sub" {
			storedSub = append(storedSub, e)
		}
	}
	storedSub = storedSub[wantFrom:]
	if len(storedSub) != len(got) {
		t.Fatalf("subscription saw %d events, the store holds %d", len(got), len(storedSub))
	}
	for i := range got {
		if got[i].ID != storedSub[i].ID || got[i].Position != storedSub[i].Position {
			t.Fatalf("event %d: subscription saw %s@%d, the store holds %s@%d", i, got[i].ID, got[i].Position, storedSub[i].ID, storedSub[i].Position)
		}
	}
}

func testSubscriptionStop(t *testing.T, b Backend) {
	s := b.Open(t)
	p := prefix()
	last := mark(t, s, p)

	sub, err := s.SubscribeAll(ctxFor(t), last)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := sub.Next(context.Background())
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := sub.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, eventstore.ErrClosed) {
			t.Fatalf("next after close: %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("next did not return after close")
	}
	if err := sub.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}

	sub2, err := s.SubscribeAll(ctxFor(t), last)
	if err != nil {
		t.Fatal(err)
	}
	defer sub2.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := sub2.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("next with an ending context: %v, want DeadlineExceeded", err)
	}
}
