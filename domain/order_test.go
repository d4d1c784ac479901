package domain

import (
	"context"
	"flag"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// The order-independence property: a generated lifecycle of Stripe facts
// (license sales with refunds and disputes, subscriptions with checkouts,
// snapshots, paid and failed invoices, plan changes, cancellations and
// ends, refunds and disputes of invoices) applied in time order and in
// shuffled orders with duplicates leaves every aggregate in the same state.
// Customer commands, commission approval and erasures then run the same way
// on both, so the comparison covers them too.

// stripeFact is one fact as the API layer would hand it over.
type stripeFact struct {
	at    time.Time
	label string
	apply func(ctx context.Context, s *Service) error
}

type lifecycle struct {
	affiliates []RegisterAffiliate
	accounts   []RegisterAccount
	facts      []stripeFact
	// actions are customer commands run after all facts, in order.
	actions []func(ctx context.Context, s *Service) error
	erase   []string
}

const lifecycleBase = "2026-01-01T00:00:00Z"

func drawLifecycle(t *rapid.T) lifecycle {
	base, _ := time.Parse(time.RFC3339, lifecycleBase)
	var lc lifecycle
	nAff := rapid.IntRange(1, 2).Draw(t, "affiliates")
	for i := range nAff {
		lc.affiliates = append(lc.affiliates, RegisterAffiliate{Name: fmt.Sprintf("Partner %d", i), Email: fmt.Sprintf("p%d@example.com", i),
			CommissionRateBps: rapid.IntRange(0, 5000).Draw(t, "rate"), RecurringMonths: rapid.IntRange(0, 4).Draw(t, "months")})
	}
	affiliate := func() string {
		switch i := rapid.IntRange(-1, nAff).Draw(t, "affiliate"); {
		case i < 0:
			return ""
		case i == nAff:
			return "affaffaf-0000-4000-8000-0000000000ff" // not registered
		default:
			return idN(i + 1)
		}
	}
	add := func(at time.Time, label string, apply func(ctx context.Context, s *Service) error) {
		lc.facts = append(lc.facts, stripeFact{at: at, label: label, apply: apply})
	}
	hours := func(label string, max int) time.Duration {
		return time.Duration(rapid.IntRange(0, max).Draw(t, label)) * time.Hour
	}
	nAcc := rapid.IntRange(1, 2).Draw(t, "accounts")
	for a := range nAcc {
		acc := idN(nAff + a + 1)
		lc.accounts = append(lc.accounts, RegisterAccount{Name: fmt.Sprintf("Customer %d", a), Email: fmt.Sprintf("c%d@example.com", a), Password: testPasswords[0]})
		for k := range rapid.IntRange(0, 2).Draw(t, "licenses") {
			drawLicense(t, add, hours, acc, affiliate(), fmt.Sprintf("pi_L%d_%d", a, k), base.Add(hours("license_at", 24*40)))
		}
		for k := range rapid.IntRange(0, 2).Draw(t, "subscriptions") {
			drawSubscription(t, &lc, add, hours, acc, affiliate(), fmt.Sprintf("sub_%d_%d", a, k), base.Add(hours("sub_at", 24*40)))
		}
		if rapid.IntRange(0, 3).Draw(t, "erase") == 0 {
			lc.erase = append(lc.erase, acc)
		}
	}
	return lc
}

type addFact func(at time.Time, label string, apply func(ctx context.Context, s *Service) error)

func drawLicense(t *rapid.T, add addFact, hours func(string, int) time.Duration, acc, aff, pi string, at time.Time) {
	amount := rapid.Int64Range(1, 100_000).Draw(t, "license_amount")
	paid := RecordCheckoutPaid{SessionID: "cs_" + pi, PaymentIntentID: pi, AccountID: acc, ProductID: "prod_app",
		Quantity: rapid.IntRange(1, 5).Draw(t, "quantity"), AffiliateID: aff, Amount: amount, Currency: "eur", OccurredAt: at}
	add(at, "checkout.session.completed "+pi, func(ctx context.Context, s *Service) error {
		_, _, err := s.RecordCheckoutPaid(ctx, paid)
		return err
	})
	drawReversals(t, add, hours, pi, amount, at)
}

// drawReversals adds refunds (increasing cumulative totals of one charge)
// and possibly a dispute of a payment.
func drawReversals(t *rapid.T, add addFact, hours func(string, int) time.Duration, pi string, amount int64, at time.Time) {
	var total int64
	when := at
	for range rapid.IntRange(0, 3).Draw(t, "refunds") {
		if total >= amount {
			break
		}
		total += rapid.Int64Range(1, amount-total).Draw(t, "refund")
		when = when.Add(time.Hour + hours("refund_after", 24*20))
		r := RecordRefund{ChargeID: "ch_" + pi, PaymentIntentID: pi, AmountRefundedTotal: total, Currency: "eur", OccurredAt: when}
		add(when, fmt.Sprintf("charge.refunded %s %d", pi, total), func(ctx context.Context, s *Service) error {
			_, _, err := s.RecordRefund(ctx, r)
			return err
		})
		if rapid.IntRange(0, 4).Draw(t, "refund_reported_again") == 0 {
			// Another event (an update of the refund) reports the same
			// total later; the refund counts once, at its first time.
			again := r
			again.OccurredAt = when.Add(time.Minute + hours("reported_again_after", 48))
			add(again.OccurredAt, fmt.Sprintf("charge.refunded %s %d again", pi, total), func(ctx context.Context, s *Service) error {
				_, _, err := s.RecordRefund(ctx, again)
				return err
			})
		}
	}
	if rapid.IntRange(0, 3).Draw(t, "dispute") != 0 {
		return
	}
	opened := at.Add(time.Hour + hours("dispute_after", 24*30))
	d := RecordDispute{DisputeID: "dp_" + pi, PaymentIntentID: pi, Amount: rapid.Int64Range(1, amount).Draw(t, "dispute_amount"),
		Currency: "eur", Status: rapid.SampledFrom([]string{"needs_response", "warning_needs_response"}).Draw(t, "dispute_status"), OpenedAt: opened}
	add(opened, "charge.dispute.created "+pi, func(ctx context.Context, s *Service) error {
		_, _, err := s.RecordDispute(ctx, d)
		return err
	})
	if rapid.Bool().Draw(t, "dispute_closed") {
		c := d
		c.Closed, c.Status = true, rapid.SampledFrom([]string{DisputeWon, DisputeLost, DisputeWarningClosed}).Draw(t, "dispute_outcome")
		closed := opened.Add(24*time.Hour + hours("dispute_closed_after", 24*60))
		add(closed, "charge.dispute.closed "+pi, func(ctx context.Context, s *Service) error {
			_, _, err := s.RecordDispute(ctx, c)
			return err
		})
	}
}

func drawSubscription(t *rapid.T, lc *lifecycle, add addFact, hours func(string, int) time.Duration, acc, aff, stripeID string, start time.Time) {
	plans := []struct {
		id     string
		amount int64
	}{{"plan_pro", 1000}, {"plan_team", 3000}}
	n := rapid.IntRange(1, 6).Draw(t, "invoices")
	changeAt := rapid.IntRange(1, 8).Draw(t, "plan_change_at") // > n: no change
	trial := rapid.IntRange(0, 4).Draw(t, "trial") == 0
	period := func(i int) time.Time { return start.AddDate(0, i, 0) }
	planAt := func(i int) int {
		if i >= changeAt {
			return 1
		}
		return 0
	}
	snap := func(change, status string, at time.Time, i int, cancel bool) {
		p := plans[planAt(i)]
		c := RecordSubscriptionChange{SubscriptionID: stripeID, Change: change, Status: status, AccountID: acc, ProductID: p.id,
			AffiliateID: aff, Amount: p.amount, Currency: "eur", CancelAtPeriodEnd: cancel, CurrentPeriodEnd: period(i + 1), StartedAt: start, OccurredAt: at}
		if change == StripeChangeDeleted {
			c.EndedAt = at
		}
		add(at, fmt.Sprintf("customer.subscription.%s %s %s", change, stripeID, status), func(ctx context.Context, s *Service) error {
			_, _, err := s.RecordSubscriptionChange(ctx, c)
			return err
		})
	}
	if rapid.IntRange(0, 4).Draw(t, "checkout") != 0 {
		co := RecordSubscriptionCheckout{SessionID: "cs_" + stripeID, SubscriptionID: stripeID, AccountID: acc, ProductID: plans[0].id,
			AffiliateID: aff, Amount: plans[0].amount, Currency: "eur", OccurredAt: start}
		add(start, "checkout.session.completed "+stripeID, func(ctx context.Context, s *Service) error {
			_, _, err := s.RecordSubscriptionCheckout(ctx, co)
			return err
		})
	}
	snap(StripeChangeCreated, "active", start, 0, false)
	lastPaid := -1
	for i := range n {
		ps := period(i)
		if i == changeAt {
			snap(StripeChangeUpdated, "active", ps.Add(-24*time.Hour), i-1, false)
		}
		paidAt := ps.Add(time.Minute)
		fails := i > 0 && rapid.IntRange(0, 3).Draw(t, "fails") == 0
		if fails {
			inv, sub := fmt.Sprintf("in_%s_%d", stripeID, i), stripeID
			add(ps.Add(time.Minute), "invoice.payment_failed "+inv, func(ctx context.Context, s *Service) error {
				_, _, err := s.RecordInvoicePaymentFailed(ctx, RecordInvoicePaymentFailed{InvoiceID: inv, SubscriptionID: sub, OccurredAt: ps.Add(time.Minute)})
				return err
			})
			if i == n-1 && rapid.Bool().Draw(t, "stays_unpaid") {
				snap(StripeChangeUpdated, "past_due", ps.Add(time.Minute), i-1, false)
				break
			}
			paidAt = ps.Add(48 * time.Hour)
		}
		p := plans[planAt(i)]
		reason, amount, pi := BillingReasonCycle, p.amount, fmt.Sprintf("pi_%s_%d", stripeID, i)
		if i == 0 {
			reason = BillingReasonCreate
			if trial {
				amount, pi = 0, ""
			}
		}
		inv := RecordInvoicePaid{InvoiceID: fmt.Sprintf("in_%s_%d", stripeID, i), SubscriptionID: stripeID, PaymentIntentID: pi,
			BillingReason: reason, AccountID: acc, ProductID: p.id, AffiliateID: aff, Amount: amount, Currency: "eur",
			PeriodStart: ps, PeriodEnd: period(i + 1), OccurredAt: paidAt}
		add(paidAt, "invoice.paid "+inv.InvoiceID, func(ctx context.Context, s *Service) error {
			_, _, err := s.RecordInvoicePaid(ctx, inv)
			return err
		})
		if amount > 0 && rapid.IntRange(0, 4).Draw(t, "invoice_reversals") == 0 {
			drawReversals(t, add, hours, pi, amount, paidAt)
		}
		lastPaid = i
	}
	if lastPaid >= 0 && rapid.Bool().Draw(t, "cancel_at_period_end") {
		at := period(lastPaid).Add(time.Hour + hours("cancel_after", 24*20))
		snap(StripeChangeUpdated, "active", at, lastPaid, true)
		if rapid.Bool().Draw(t, "reactivated") {
			snap(StripeChangeUpdated, "active", at.Add(time.Hour+hours("reactivate_after", 24*5)), lastPaid, false)
		} else if rapid.Bool().Draw(t, "ended") {
			snap(StripeChangeDeleted, "canceled", period(lastPaid+1), lastPaid, true)
		}
	}
	id := keys{secret: testSecret}.id("subscription", stripeID)
	switch rapid.IntRange(0, 3).Draw(t, "customer_action") {
	case 1:
		lc.actions = append(lc.actions, func(ctx context.Context, s *Service) error {
			_, _, err := s.CancelSubscription(ctx, CancelSubscription{SubscriptionID: id, AtPeriodEnd: true})
			return err
		})
	case 2:
		lc.actions = append(lc.actions, func(ctx context.Context, s *Service) error {
			_, _, err := s.CancelSubscription(ctx, CancelSubscription{SubscriptionID: id})
			return err
		})
	case 3:
		lc.actions = append(lc.actions, func(ctx context.Context, s *Service) error {
			_, _, err := s.ReactivateSubscription(ctx, ReactivateSubscription{SubscriptionID: id})
			return err
		})
	}
}

// expected reports whether err is a refusal the generated lifecycle may
// provoke (an action on a subscription that ended, was never started, or
// whose period is over).
func expected(err error) bool {
	switch ErrorCode(err) {
	case CodeSubscriptionEnded, CodePeriodOver, CodeNotFound, CodeCommissionNotDue, CodeErasureNotDue:
		return true
	}
	return err == nil
}

// runLifecycle applies lc with the facts in the given order, by workers
// concurrent deliverers, and returns the store.
func runLifecycle(t *rapid.T, lc lifecycle, order []stripeFact, workers int) *memStore {
	ctx := context.Background()
	f := newFixture(t)
	base, _ := time.Parse(time.RFC3339, lifecycleBase)
	f.now = base.Add(-24 * time.Hour)
	for _, a := range lc.affiliates {
		if _, _, err := f.svc.RegisterAffiliate(ctx, a); err != nil {
			t.Fatalf("register affiliate: %v", err)
		}
	}
	for _, a := range lc.accounts {
		if _, _, err := f.svc.RegisterAccount(ctx, a); err != nil {
			t.Fatalf("register account: %v", err)
		}
	}
	f.tick = time.Second
	if err := deliver(ctx, f.svc, order, workers); err != nil {
		t.Fatal(err)
	}
	f.tick = 0
	f.now = base.AddDate(0, 0, 45)
	for _, act := range lc.actions {
		if err := act(ctx, f.svc); !expected(err) {
			t.Fatalf("customer action: %v", err)
		}
	}
	f.now = base.AddDate(2, 0, 0)
	for _, stream := range f.store.streamNames("sale-") {
		if _, _, err := f.svc.ApproveCommission(ctx, ApproveCommission{SaleID: strings.TrimPrefix(stream, "sale-")}); !expected(err) {
			t.Fatalf("approve %s: %v", stream, err)
		}
	}
	for _, stream := range f.store.streamNames("account-") {
		if _, _, err := f.svc.EraseIfDue(ctx, EraseIfDue{AccountID: strings.TrimPrefix(stream, "account-")}); !expected(err) {
			t.Fatalf("erase if due %s: %v", stream, err)
		}
	}
	for _, id := range lc.erase {
		if _, _, err := f.svc.RequestErasure(ctx, RequestErasure{AccountID: id}); err != nil {
			t.Fatalf("erase %s: %v", id, err)
		}
	}
	for _, stream := range f.store.streamNames("account-") {
		if a, _, _ := load(ctx, f.svc, stream, newAccount); a.Status == AccountStatusErased {
			f.store.forget(a.ID)
		}
	}
	return f.store
}

// deliver applies facts as Stripe's webhooks would: by workers concurrent
// deliverers, each retrying a fact that failed on a version conflict.
func deliver(ctx context.Context, s *Service, facts []stripeFact, workers int) error {
	queue := make(chan stripeFact)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for fact := range queue {
				err := fact.apply(ctx, s)
				for retry := 0; ErrorKind(err) == KindConflict && retry < 50; retry++ {
					err = fact.apply(ctx, s)
				}
				if err != nil {
					select {
					case errs <- fmt.Errorf("%s: %w", fact.label, err):
					default:
					}
				}
			}
		}()
	}
	for _, fact := range facts {
		queue <- fact
	}
	close(queue)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

// aggregateOf loads the aggregate of a stream, whatever its kind.
func aggregateOf(t *rapid.T, store *memStore, stream string) any {
	ctx := context.Background()
	s := &Service{store: store}
	var a any
	var err error
	switch {
	case strings.HasPrefix(stream, "account-"):
		a, _, err = load(ctx, s, stream, newAccount)
	case strings.HasPrefix(stream, "reservation-"):
		a, _, err = load(ctx, s, stream, newReservation)
	case strings.HasPrefix(stream, "license-"):
		a, _, err = load(ctx, s, stream, newLicense)
	case strings.HasPrefix(stream, "subscription-"):
		a, _, err = load(ctx, s, stream, newSubscription)
	case strings.HasPrefix(stream, "sale-"):
		a, _, err = load(ctx, s, stream, newSale)
	case strings.HasPrefix(stream, "affiliate-"):
		a, _, err = load(ctx, s, stream, newAffiliate)
	default:
		t.Fatalf("unknown stream %s", stream)
	}
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// sameState fails t unless both stores hold the same streams and every
// aggregate folds to the same state.
func sameState(t *rapid.T, want, got *memStore, what string) {
	ws, gs := want.streamNames(""), got.streamNames("")
	if !reflect.DeepEqual(ws, gs) {
		t.Fatalf("%s: streams differ:\n in order: %v\n %s: %v", what, ws, what, gs)
	}
	for _, stream := range ws {
		a, b := aggregateOf(t, want, stream), aggregateOf(t, got, stream)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%s: %s differs:\n in order: %+v\n %s: %+v", what, stream, a, what, b)
		}
	}
}

// shuffled returns the facts in an order rapid draws, with some delivered
// more than once.
func shuffled(t *rapid.T, facts []stripeFact, label string) []stripeFact {
	out := rapid.Permutation(facts).Draw(t, label)
	for range rapid.IntRange(0, len(facts)/2+1).Draw(t, label+"_duplicates") {
		if len(facts) == 0 {
			break
		}
		dup := facts[rapid.IntRange(0, len(facts)-1).Draw(t, label+"_duplicate")]
		at := rapid.IntRange(0, len(out)).Draw(t, label+"_duplicate_at")
		out = append(out[:at], append([]stripeFact{dup}, out[at:]...)...)
	}
	return out
}

func TestStripeFactsInAnyOrderGiveTheSameState(t *testing.T) {
	if f := flag.Lookup("rapid.checks"); f != nil {
		set := false
		flag.Visit(func(v *flag.Flag) { set = set || v.Name == "rapid.checks" })
		if !set {
			_ = f.Value.Set("1000")
		}
	}
	rapid.Check(t, func(t *rapid.T) {
		lc := drawLifecycle(t)
		inOrder := append([]stripeFact(nil), lc.facts...)
		sort.SliceStable(inOrder, func(i, j int) bool { return inOrder[i].at.Before(inOrder[j].at) })
		want := runLifecycle(t, lc, inOrder, 1)
		for i := range 2 {
			label := fmt.Sprintf("shuffle_%d", i)
			sameState(t, want, runLifecycle(t, lc, shuffled(t, lc.facts, label), 1), label)
		}
		// The same again with concurrent deliveries: the interleaving is the
		// scheduler's, so this part is a smoke test of the retries rather
		// than a reproducible case.
		sameState(t, want, runLifecycle(t, lc, shuffled(t, lc.facts, "concurrent"), 4), "concurrent")
	})
}

// GoString keeps rapid's reports of drawn orders readable.
func (f stripeFact) GoString() string { return fmt.Sprintf("%q", f.label) }
