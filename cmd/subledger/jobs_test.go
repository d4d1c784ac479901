package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/eventstore/keyring"
	"github.com/aseptsoft/subledger/eventstore/repository"
	"github.com/aseptsoft/subledger/projections"
)

// flakyRing fails the first failures calls of Forget, as a full disk would.
type flakyRing struct {
	keyring.Ring
	failures int
	failed   int
}

func (r *flakyRing) Forget(ctx context.Context, subject string) error {
	if r.failed < r.failures {
		r.failed++
		return errors.New("disk full")
	}
	return r.Ring.Forget(ctx, subject)
}

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

func TestJobsEraseAndApproveWhatIsDue(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := &testClock{t: t0}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := config{DataDir: t.TempDir(), Store: "embedded", ErasureGrace: 48 * time.Hour, CommissionHold: 24 * time.Hour, now: clock.now}
	st, err := openStack(ctx, cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc, err := st.service(cfg, benchSigningKey(), domain.Argon2id{Time: 1, MemoryKiB: 64})
	if err != nil {
		t.Fatal(err)
	}
	proj, err := projections.New(projections.Config{Decoder: st.repo, Observe: st.ring.Observe, Now: clock.now, CommissionHold: cfg.CommissionHold})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go proj.Run(runCtx, st.store)

	aff, _, err := svc.RegisterAffiliate(ctx, domain.RegisterAffiliate{Name: "Aff", Email: "aff@example.org", CommissionRateBps: 1000})
	if err != nil {
		t.Fatal(err)
	}
	acc, _, err := svc.RegisterAccount(ctx, domain.RegisterAccount{Name: "Customer", Email: "customer@example.org", Password: "a long password"})
	if err != nil {
		t.Fatal(err)
	}
	sub := domain.RecordSubscriptionChange{SubscriptionID: "sub_1", Change: "created", Status: "active", AccountID: acc.ID, ProductID: "pro-monthly",
		AffiliateID: aff.Affiliate.ID, Amount: 1500, Currency: "eur", CurrentPeriodEnd: t0.AddDate(0, 1, 0), StartedAt: t0, OccurredAt: t0}
	if _, _, err := svc.RecordSubscriptionChange(ctx, sub); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.RecordInvoicePaid(ctx, domain.RecordInvoicePaid{InvoiceID: "in_1", SubscriptionID: "sub_1", PaymentIntentID: "pi_1",
		BillingReason: domain.BillingReasonCreate, AccountID: acc.ID, ProductID: "pro-monthly", AffiliateID: aff.Affiliate.ID,
		Amount: 1500, Currency: "eur", PeriodStart: t0, PeriodEnd: t0.AddDate(0, 1, 0), OccurredAt: t0}); err != nil {
		t.Fatal(err)
	}
	end := t0.AddDate(0, 1, 0)
	sub.Change, sub.Status, sub.EndedAt, sub.OccurredAt = "deleted", "canceled", end, end
	_, res, err := svc.RecordSubscriptionChange(ctx, sub)
	if err != nil {
		t.Fatal(err)
	}
	if err := proj.WaitFor(ctx, res.Position); err != nil {
		t.Fatal(err)
	}
	ring := &flakyRing{Ring: st.ring, failures: 1}
	j := &jobs{proj: proj, svc: svc, ring: ring, logger: logger}

	cases := []struct {
		name                   string
		at                     time.Time
		wantErased, wantApprov int
	}{
		{"nothing_is_due_before_the_hold", t0.Add(time.Hour), 0, 0},
		{"commission_is_approved_after_the_hold", t0.Add(25 * time.Hour), 0, 1},
		{"erasure_waits_for_the_grace", end.Add(47 * time.Hour), 0, 0},
		{"account_is_erased_after_the_grace_though_shredding_fails", end.Add(49 * time.Hour), 1, 0},
		{"shredding_is_tried_again_next_round", end.Add(50 * time.Hour), 0, 0},
		{"nothing_is_done_twice", end.Add(72 * time.Hour), 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clock.set(c.at)
			erased, approved := j.once(ctx)
			if erased != c.wantErased || approved != c.wantApprov {
				t.Fatalf("erased %d, approved %d; want %d, %d", erased, approved, c.wantErased, c.wantApprov)
			}
			// Let the projections see what the jobs wrote before the next case.
			if err := proj.WaitFor(ctx, st.store.(interface{ Position() uint64 }).Position()); err != nil {
				t.Fatal(err)
			}
		})
	}
	a, ok := proj.View().Account(acc.ID)
	if !ok || a.Status != domain.AccountStatusErased || a.Name != "" || a.Email != "" {
		t.Fatalf("after the grace the account reads %+v, want erased with no personal data", a)
	}
	events, _, err := st.repo.Load(ctx, domain.AccountStream(acc.ID))
	if err != nil {
		t.Fatal(err)
	}
	if reg := events[0].(domain.AccountRegistered); reg.Name != "" || reg.Email != "" {
		t.Fatal("the account's key was not shredded: its registration still reads")
	}
	if ring.failed != 1 {
		t.Fatalf("the ring failed %d times, want 1", ring.failed)
	}
}

// TestJobsShredErasedAccountsWhoseKeySurvived: an account erased by a
// process that died before shredding its key is shredded by the next
// process's first round.
func TestJobsShredErasedAccountsWhoseKeySurvived(t *testing.T) {
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := config{DataDir: t.TempDir(), Store: "embedded"}
	st, err := openStack(ctx, cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc, err := st.service(cfg, benchSigningKey(), domain.Argon2id{Time: 1, MemoryKiB: 64})
	if err != nil {
		t.Fatal(err)
	}
	acc, _, err := svc.RegisterAccount(ctx, domain.RegisterAccount{Name: "Customer", Email: "customer@example.org", Password: "a long password"})
	if err != nil {
		t.Fatal(err)
	}
	// The erasure is recorded; the process dies before Forget.
	_, res, err := svc.RequestErasure(ctx, domain.RequestErasure{AccountID: acc.ID})
	if err != nil {
		t.Fatal(err)
	}
	proj, err := projections.New(projections.Config{Decoder: st.repo, Observe: st.ring.Observe})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go proj.Run(runCtx, st.store)
	if err := proj.WaitFor(ctx, res.Position); err != nil {
		t.Fatal(err)
	}
	readable := func() bool {
		events, _, err := st.repo.Load(ctx, domain.AccountStream(acc.ID))
		if err != nil {
			t.Fatal(err)
		}
		return events[0].(domain.AccountRegistered).Email != ""
	}
	if !readable() {
		t.Fatal("the key was shredded before the jobs ran: the test proves nothing")
	}
	(&jobs{proj: proj, svc: svc, ring: st.ring, logger: logger}).once(ctx)
	if readable() {
		t.Fatal("the first round left the erased account's key alive")
	}
}

// fakeStripe records the outbox's calls and fails the first failures.
type fakeStripe struct {
	mu       sync.Mutex
	failures int
	calls    []string // idempotency key + customer id
}

func (f *fakeStripe) DetachPaymentMethods(_ context.Context, key, customerID string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "detach "+key+" "+customerID)
	return 1, nil
}

func (f *fakeStripe) DeleteCustomer(_ context.Context, key, customerID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, key+" "+customerID)
	if len(f.calls) <= f.failures {
		return errors.New("connection refused")
	}
	return nil
}

// newJobsStack opens the stack of cfg with a service and a running
// projector on cfg's clock; settle waits until the projections applied
// everything appended so far.
func newJobsStack(t *testing.T, cfg config, logger *slog.Logger) (*stack, *domain.Service, *projections.Projector, func()) {
	t.Helper()
	ctx := context.Background()
	st, err := openStack(ctx, cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := st.service(cfg, benchSigningKey(), domain.Argon2id{Time: 1, MemoryKiB: 64})
	if err != nil {
		t.Fatal(err)
	}
	proj, err := projections.New(projections.Config{Decoder: st.repo, Observe: st.ring.Observe, Now: cfg.now})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		proj.Run(runCtx, st.store)
	}()
	t.Cleanup(func() { stop(); <-done }) // before st.Close: cleanups run last first
	settle := func() {
		t.Helper()
		if err := proj.WaitFor(ctx, st.store.(interface{ Position() uint64 }).Position()); err != nil {
			t.Fatal(err)
		}
	}
	return st, svc, proj, settle
}

// TestErasureDeletesTheStripeCustomerThroughTheOutbox: the customer id is
// recorded before the account's key is shredded, the jobs call Stripe
// with the intent's id as idempotency key, retry with backoff after a
// failure, and shred the intent's key once the call succeeded.
func TestErasureDeletesTheStripeCustomerThroughTheOutbox(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := &testClock{t: t0}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := config{DataDir: t.TempDir(), Store: "embedded", now: clock.now}
	st, svc, proj, settle := newJobsStack(t, cfg, logger)

	acc, _, err := svc.RegisterAccount(ctx, domain.RegisterAccount{Name: "Customer", Email: "customer@example.org", Password: "a long password"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.LinkStripeCustomer(ctx, domain.LinkStripeCustomer{AccountID: acc.ID, CustomerID: "cus_outbox1"}); err != nil {
		t.Fatal(err)
	}
	linked, err := svc.Account(ctx, acc.ID)
	if err != nil {
		t.Fatal(err)
	}
	// What the API's erasure does: the hook, the erasure, the shredding.
	if err := beforeErasure(svc)(ctx, linked); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.RequestErasure(ctx, domain.RequestErasure{AccountID: acc.ID}); err != nil {
		t.Fatal(err)
	}
	if err := repository.ShredAccount(ctx, st.ring, acc.ID); err != nil {
		t.Fatal(err)
	}
	settle()
	due := func() []string {
		var ids []string
		for id := range proj.View().StripeIntentsDue() {
			ids = append(ids, id)
		}
		return ids
	}
	ids := due()
	if len(ids) != 1 {
		t.Fatalf("%d intents due, want 1", len(ids))
	}
	fake := &fakeStripe{failures: 1}
	j := &jobs{proj: proj, svc: svc, ring: st.ring, logger: logger, stripe: fake}

	j.once(ctx) // fails: tried again after 10 s
	settle()
	if len(fake.calls) != 1 || fake.calls[0] != "intent-"+ids[0]+" cus_outbox1" {
		t.Fatalf("calls %v", fake.calls)
	}
	if got := due(); len(got) != 0 {
		t.Fatalf("due again at once after a failure: %v", got)
	}
	clock.set(t0.Add(11 * time.Second))
	j.once(ctx) // succeeds
	settle()
	if len(fake.calls) != 2 || fake.calls[1] != fake.calls[0] {
		t.Fatalf("calls %v: the retry must repeat the call with the same idempotency key", fake.calls)
	}
	if n := proj.View().PendingStripeIntents(); n != 0 {
		t.Fatalf("%d intents pending after success", n)
	}
	in, err := svc.StripeIntent(ctx, ids[0])
	if err != nil || !in.Done() || in.CustomerID != "" {
		t.Fatalf("intent after success: %+v %v: done, with its customer id shredded", in, err)
	}
	clock.set(t0.Add(time.Hour))
	j.once(ctx)
	if len(fake.calls) != 2 {
		t.Fatalf("a done intent was called again: %v", fake.calls)
	}
}

// TestPaymentMethodsGoWhenPaidServiceEnds: a license-only customer's saved
// payment methods are detached an hour after the payment, unless a
// subscription runs by then; the end of the last paid subscription detaches
// them at once. Each reason is one call, however often its fact arrives.
func TestPaymentMethodsGoWhenPaidServiceEnds(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := &testClock{t: t0}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := config{DataDir: t.TempDir(), Store: "embedded", ErasureGrace: 720 * time.Hour, now: clock.now}
	st, svc, proj, settle := newJobsStack(t, cfg, logger)
	customer := func(name, cus string) string {
		acc, _, err := svc.RegisterAccount(ctx, domain.RegisterAccount{Name: name, Email: name + "@example.org", Password: "a long password"})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.LinkStripeCustomer(ctx, domain.LinkStripeCustomer{AccountID: acc.ID, CustomerID: cus}); err != nil {
			t.Fatal(err)
		}
		return acc.ID
	}
	buy := func(acc, pi string) {
		cmd := domain.RecordCheckoutPaid{SessionID: "cs_" + pi, PaymentIntentID: pi, AccountID: acc, ProductID: "app-license", Quantity: 1, Amount: 4900, Currency: "usd", OccurredAt: clock.now()}
		for range 2 { // a duplicate delivery makes no second intent
			if _, _, err := svc.RecordCheckoutPaid(ctx, cmd); err != nil {
				t.Fatal(err)
			}
		}
	}
	subscription := func(acc, sub, change, status string) {
		c := domain.RecordSubscriptionChange{SubscriptionID: sub, Change: change, Status: status, AccountID: acc, ProductID: "pro-monthly",
			Amount: 900, Currency: "usd", CurrentPeriodEnd: t0.AddDate(0, 1, 0), StartedAt: t0, OccurredAt: clock.now()}
		if status == "canceled" {
			c.EndedAt = clock.now()
		}
		if _, _, err := svc.RecordSubscriptionChange(ctx, c); err != nil {
			t.Fatal(err)
		}
		if change == "created" {
			if _, _, err := svc.RecordInvoicePaid(ctx, domain.RecordInvoicePaid{InvoiceID: "in_" + sub, SubscriptionID: sub, PaymentIntentID: "pi_" + sub,
				BillingReason: domain.BillingReasonCreate, AccountID: acc, ProductID: "pro-monthly", Amount: 900, Currency: "usd",
				PeriodStart: t0, PeriodEnd: t0.AddDate(0, 1, 0), OccurredAt: clock.now()}); err != nil {
				t.Fatal(err)
			}
		}
	}
	licenseOnly := customer("licenseonly", "cus_licenseonly")
	both := customer("both", "cus_both")
	subscriber := customer("subscriber", "cus_subscriber")
	buy(licenseOnly, "pi_1")
	buy(both, "pi_2")
	subscription(both, "sub_both", "created", "active")
	subscription(subscriber, "sub_subscriber", "created", "active")
	settle()

	fake := &fakeStripe{}
	j := &jobs{proj: proj, svc: svc, ring: st.ring, logger: logger, stripe: fake}
	j.once(ctx)
	settle()
	if len(fake.calls) != 0 {
		t.Fatalf("called at once: %v", fake.calls)
	}
	clock.set(t0.Add(domain.DetachWait + time.Minute))
	j.once(ctx)
	settle()
	if len(fake.calls) != 1 || !strings.HasSuffix(fake.calls[0], " cus_licenseonly") || !strings.HasPrefix(fake.calls[0], "detach ") {
		t.Fatalf("after the wait: %v, want the license-only customer's methods detached (not those of one whose subscription runs)", fake.calls)
	}
	subscription(subscriber, "sub_subscriber", "deleted", "canceled")
	settle()
	j.once(ctx)
	settle()
	if len(fake.calls) != 2 || !strings.HasSuffix(fake.calls[1], " cus_subscriber") {
		t.Fatalf("after the last paid subscription ended: %v", fake.calls)
	}
	j.once(ctx)
	if n := proj.View().PendingStripeIntents(); n != 0 || len(fake.calls) != 2 {
		t.Fatalf("%d pending, calls %v", n, fake.calls)
	}
}
