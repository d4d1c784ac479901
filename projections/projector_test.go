package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/eventstore"
)

func TestNewRequiresDecoder(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Fatal("New without decoder succeeded")
	}
}

func TestReadYourWrites(t *testing.T) {
	s := openStore(t)
	p := startProjector(t, s, Config{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 10 {
				id := fmt.Sprintf("a-%d-%d", g, i)
				pos := appendEvents(t, s, domain.AccountStream(id),
					domain.AccountRegistered{AccountID: id, Email: id + "@example.com", RegisteredAt: genStart})
				waitFor(t, p.Projector, pos)
				if _, ok := p.View().AccountByEmail(id + "@example.com"); !ok {
					t.Errorf("account %s not visible after WaitFor(%d)", id, pos)
				}
				if v := p.View(); v.Position() < pos {
					t.Errorf("view at %d after WaitFor(%d)", v.Position(), pos)
				}
			}
		})
	}
	wg.Wait()
}

func TestWaitFor(t *testing.T) {
	s := openStore(t)
	pos := appendEvents(t, s, "account-a", domain.AccountRegistered{AccountID: "a"})
	p := startProjector(t, s, Config{})
	waitFor(t, p.Projector, pos)

	t.Run("position already applied returns at once", func(t *testing.T) {
		if err := p.WaitFor(context.Background(), pos); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("future position ends with the context", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		if err := p.WaitFor(ctx, pos+1); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("stopped projector ends the wait with ErrStopped", func(t *testing.T) {
		errc := make(chan error, 1)
		go func() { errc <- p.WaitFor(context.Background(), pos+100) }()
		if err := p.stop(); !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v", err)
		}
		select {
		case err := <-errc:
			if !errors.Is(err, ErrStopped) {
				t.Fatalf("WaitFor = %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("WaitFor did not return after Run stopped")
		}
	})
}

func TestRunTwiceAtOnceIsRefused(t *testing.T) {
	s := openStore(t)
	p := startProjector(t, s, Config{})
	waitFor(t, p.Projector, 0)
	deadline := time.Now().Add(5 * time.Second)
	for !p.running.Load() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if err := p.Run(context.Background(), s); !errors.Is(err, ErrRunning) {
		t.Fatalf("second Run = %v", err)
	}
}

func TestCatchUpBatchesAndCheckpoint(t *testing.T) {
	s := openStore(t)
	var events []domain.Event
	for i := range 2500 {
		events = append(events, domain.AccountRegistered{AccountID: accountID(i), RegisteredAt: genStart})
	}
	head := appendEvents(t, s, "bulk", events...)

	p := newProjector(t, Config{})
	var commits []uint64
	var sizes []int
	p.onCommit = func(b batch) {
		commits = append(commits, b.last)
		sizes = append(sizes, len(b.events))
		// The checkpoint is committed with the batch.
		if got := p.View().Position(); got != b.last {
			t.Errorf("checkpoint %d after committing a batch up to %d", got, b.last)
		}
	}
	r := runProjector(t, p, s)
	waitFor(t, p, head)
	r.stop()
	if len(commits) >= 10 || commits[len(commits)-1] != head {
		t.Fatalf("commits at %v (sizes %v), want a few large batches ending at %d", commits, sizes, head)
	}
	if got := p.View().Stats(time.Time{}, time.Time{}).Accounts.Registered; got != 2500 {
		t.Fatalf("registered = %d", got)
	}
}

// switchDecoder fails on one event type while fail is set.
type switchDecoder struct {
	*testDecoder
	failType string
	fail     atomic.Bool
}

func (d *switchDecoder) Decode(ctx context.Context, ev eventstore.Event) (domain.Event, error) {
	if d.fail.Load() && ev.Type == d.failType {
		return nil, errors.New("test: cannot decode")
	}
	return d.testDecoder.Decode(ctx, ev)
}

func TestFailedBatchIsNotAppliedAndRunContinuesFromCheckpoint(t *testing.T) {
	s := openStore(t)
	dec := &switchDecoder{testDecoder: newTestDecoder(), failType: domain.AccountClosed{}.EventType()}
	dec.fail.Store(true)
	p := newProjector(t, Config{Decoder: dec})
	first := appendEvents(t, s, "account-a", domain.AccountRegistered{AccountID: "a", Email: "a@example.com"})
	r := runProjector(t, p, s)
	waitFor(t, p, first)

	// One append: one batch whose third event fails to decode.
	appendEvents(t, s, "account-b",
		domain.AccountRegistered{AccountID: "b"}, domain.AccountPasswordSet{AccountID: "b"},
		domain.AccountClosed{AccountID: "b"}, domain.MarketingConsentGiven{AccountID: "b"})
	select {
	case <-r.done:
		if !errors.Is(r.err, ErrDecode) {
			t.Fatalf("Run = %v", r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop on an undecodable event")
	}
	v := p.View()
	if _, ok := v.Account("b"); ok || v.Position() != first || p.Position() != first {
		t.Fatalf("part of the failed batch applied: position %d/%d", v.Position(), p.Position())
	}

	dec.fail.Store(false)
	runProjector(t, p, s)
	head := appendEvents(t, s, "account-c", domain.AccountRegistered{AccountID: "c"})
	waitFor(t, p, head)
	if a, ok := p.View().Account("b"); !ok || a.Status != domain.AccountStatusClosed || !a.MarketingConsent {
		t.Fatalf("account b = %+v, %v", a, ok)
	}
	if got := p.View().Stats(time.Time{}, time.Time{}).Accounts.Registered; got != 3 {
		t.Fatalf("registered = %d, want 3 (no batch applied twice)", got)
	}
}

func TestUnknownEventTypesAreSkipped(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	if _, err := s.Append(ctx, "other", eventstore.Any(), eventstore.EventData{ID: "8b0f3c52-5c87-4b43-9f55-5b2c3f7e2a10", Type: "bookkeeping.v1", Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	pos := appendEvents(t, s, "account-a", domain.AccountRegistered{AccountID: "a"})
	p := startProjector(t, s, Config{})
	waitFor(t, p.Projector, pos)
	if _, ok := p.View().Account("a"); !ok {
		t.Fatal("account after an unknown event not applied")
	}
}

func TestReadiness(t *testing.T) {
	tests := []struct {
		name  string
		wrap  func(eventstore.Store) eventstore.Store
		empty bool
	}{
		{name: "store with a head position: ready after catching up", wrap: func(s eventstore.Store) eventstore.Store { return s }},
		{name: "store without a head position: ready after catching up", wrap: func(s eventstore.Store) eventstore.Store { return hideHead{s} }},
		{name: "empty store: ready at once", wrap: func(s eventstore.Store) eventstore.Store { return s }, empty: true},
		{name: "empty store without a head position: ready at once", wrap: func(s eventstore.Store) eventstore.Store { return hideHead{s} }, empty: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t)
			var head uint64
			if !tc.empty {
				head = appendLifecycles(t, s, true, 0, 3)
			}
			p := newProjector(t, Config{})
			if p.CaughtUp() {
				t.Fatal("caught up before Run")
			}
			runProjector(t, p, tc.wrap(s))
			select {
			case <-p.Ready():
			case <-time.After(10 * time.Second):
				t.Fatal("not ready")
			}
			if !p.CaughtUp() || p.Position() < head {
				t.Fatalf("ready at %d before the head %d", p.Position(), head)
			}
		})
	}
}

// TestRebuildIsIdentical appends lifecycles while a projector follows them
// in many small batches, then rebuilds a second projector from the store in
// large batches: the tables are the same.
func TestRebuildIsIdentical(t *testing.T) {
	s := openStore(t)
	live := startProjector(t, s, Config{})
	var head uint64
	for from := 0; from < 40; from += 8 {
		head = appendLifecycles(t, s, from == 0, from, from+8)
	}
	waitFor(t, live.Projector, head)

	rebuilt := startProjector(t, hideHead{s}, Config{})
	waitFor(t, rebuilt.Projector, head)
	a, b := dump(t, live.Projector), dump(t, rebuilt.Projector)
	if diff := diffDumps(b, a); diff != "" {
		t.Fatalf("rebuilt tables differ from the live ones:\n%s", diff)
	}
	if len(a[tableSaleRows]) == 0 || len(a[tableSubscriptions]) == 0 || len(a[tableSummaries]) == 0 || len(a[tableCounters]) == 0 {
		t.Fatalf("lifecycles left tables empty: %v", a)
	}
}

func TestObserveSeesEveryEventInOrderBeforeDecoding(t *testing.T) {
	s := openStore(t)
	var events []domain.Event
	for i := range 600 { // large enough to be decoded in parallel
		events = append(events, domain.AccountRegistered{AccountID: accountID(i)})
	}
	head := appendEvents(t, s, "bulk", events...)
	if _, err := s.Append(context.Background(), "keyring-ledger", eventstore.Any(),
		eventstore.EventData{ID: "0c6f6d8e-8f0a-4f7e-9a35-0d2a5b8d3c11", Type: "keyring.SubjectForgotten", Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	head++
	var mu sync.Mutex
	var seen []uint64
	dec := newTestDecoder()
	p := startProjector(t, s, Config{Decoder: dec, Observe: func(ev eventstore.Event) error {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, ev.Position)
		return nil
	}})
	waitFor(t, p.Projector, head)
	mu.Lock()
	defer mu.Unlock()
	if uint64(len(seen)) != head {
		t.Fatalf("observed %d events, want %d", len(seen), head)
	}
	for i, pos := range seen {
		if pos != uint64(i+1) {
			t.Fatalf("observed position %d as number %d", pos, i+1)
		}
	}
}

// flakyStore drops its first subscription after one batch.
type flakyStore struct {
	eventstore.Store
	subscriptions atomic.Int32
}

func (s *flakyStore) SubscribeAll(ctx context.Context, after uint64) (eventstore.Subscription, error) {
	sub, err := s.Store.SubscribeAll(ctx, after)
	if err != nil || s.subscriptions.Add(1) > 1 {
		return sub, err
	}
	return &flakySubscription{Subscription: sub}, nil
}

type flakySubscription struct {
	eventstore.Subscription
	calls int
}

func (s *flakySubscription) Next(ctx context.Context) ([]eventstore.Event, error) {
	if s.calls++; s.calls > 1 {
		return nil, errors.New("test: connection dropped")
	}
	return s.Subscription.Next(ctx)
}

func TestDroppedSubscriptionIsRenewedWithoutGapOrDuplicate(t *testing.T) {
	base := openStore(t)
	first := appendEvents(t, base, "account-a", domain.AccountRegistered{AccountID: "a"})
	s := &flakyStore{Store: base}
	p := startProjector(t, s, Config{Logger: slog.New(slog.DiscardHandler)})
	waitFor(t, p.Projector, first)
	head := appendEvents(t, base, "account-b", domain.AccountRegistered{AccountID: "b"})
	waitFor(t, p.Projector, head)
	if n := s.subscriptions.Load(); n < 2 {
		t.Fatalf("%d subscriptions, want a renewed one", n)
	}
	if got := p.View().Stats(time.Time{}, time.Time{}).Accounts.Registered; got != 2 {
		t.Fatalf("registered = %d, want 2", got)
	}
}
