// Package domaintest generates customer lifecycles for property tests of the
// domain and of what is built on it (projections, reports): affiliates and
// sign-ups, the Stripe facts of license purchases and of subscriptions with
// renewals, plan changes, payment failures, cancellations, reactivations and
// ends, refunds and disputes of every payment, and the customers' own
// commands (cancel at period end or now, reactivate, close the account,
// request erasure) at times among those facts.
//
// A Lifecycle is drawn with [Lifecycles]. [Lifecycle.InOrder] gives its
// steps in time order; [Lifecycle.Orders] draws other delivery orders as
// Stripe may produce them: any order, some facts delivered more than once,
// with the customer commands kept causally valid (see [Action]). A
// [Deliverer] registers the lifecycle's affiliates and accounts on a
// *domain.Service, delivers the steps of an order, and settles the
// lifecycle (commission approvals, due erasures).
//
// Ids: the Service must hand out ids with [NewIDs], so that the affiliates
// get ID(1)..ID(a) and the accounts the ids after those, whatever the order;
// every other id is derived from a Stripe id by the domain.
//
// The domain's own order test (domain/order_test.go) keeps an in-package
// copy of the fact generator, because the domain package's internal tests
// cannot import this package (it imports domain).
package domaintest

import (
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"pgregory.net/rapid"

	"github.com/aseptsoft/subledger/domain"
)

// Base is the time lifecycles start from; the accounts and affiliates are
// registered a day before.
var Base = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// RegisteredAt is when the lifecycle's affiliates and accounts are
// registered (the clock a Deliverer's Register sets).
var RegisteredAt = Base.Add(-24 * time.Hour)

// Password is the password of every generated account.
const Password = "correct horse battery"

// UnknownAffiliate is an affiliate id that no lifecycle registers: a sale
// that names it earns no commission.
const UnknownAffiliate = "affaffaf-0000-4000-8000-0000000000ff"

// ID returns the n-th id (from 1) that NewIDs hands out.
func ID(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

// NewIDs returns a domain.Config.NewID that hands out ID(1), ID(2), ... It
// is safe for concurrent use.
func NewIDs() func() string {
	var n atomic.Int64
	return func() string { return ID(int(n.Add(1))) }
}

// Limits bounds the size of generated lifecycles. A zero field takes its
// default.
type Limits struct {
	// Affiliates registered: 1 to Affiliates (default 2).
	Affiliates int
	// Accounts registered: 1 to Accounts (default 2).
	Accounts int
	// Licenses bought per account: 0 to Licenses (default 2).
	Licenses int
	// Subscriptions per account: 0 to Subscriptions (default 2).
	Subscriptions int
	// Invoices per subscription: 1 to Invoices (default 6).
	Invoices int
}

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.Affiliates, 2)
	def(&l.Accounts, 2)
	def(&l.Licenses, 2)
	def(&l.Subscriptions, 2)
	def(&l.Invoices, 6)
	return l
}

// Lifecycle is a generated history: affiliates and accounts registered
// first, then Stripe facts and customer actions.
type Lifecycle struct {
	// Affiliates are registered first: affiliate i gets ID(i+1).
	Affiliates []domain.RegisterAffiliate
	// Accounts are registered next: account i gets ID(len(Affiliates)+i+1).
	Accounts []domain.RegisterAccount
	// Facts are the Stripe facts, in the order they were drawn.
	Facts []Fact
	// Actions are the customers' commands, in time order.
	Actions []Action
}

// AffiliateIDs returns the ids of the lifecycle's affiliates.
func (lc Lifecycle) AffiliateIDs() []string {
	out := make([]string, len(lc.Affiliates))
	for i := range out {
		out[i] = ID(i + 1)
	}
	return out
}

// AccountIDs returns the ids of the lifecycle's accounts.
func (lc Lifecycle) AccountIDs() []string {
	out := make([]string, len(lc.Accounts))
	for i := range out {
		out[i] = ID(len(lc.Affiliates) + i + 1)
	}
	return out
}

// PaymentIntents returns the payment intents of the lifecycle's payments
// (license checkouts and paid invoices with an amount), sorted: each is a
// sale (domain.Service.SaleIDForPaymentIntent).
func (lc Lifecycle) PaymentIntents() []string {
	var out []string
	for _, f := range lc.Facts {
		switch c := f.Command.(type) {
		case domain.RecordCheckoutPaid:
			out = append(out, c.PaymentIntentID)
		case domain.RecordInvoicePaid:
			if c.PaymentIntentID != "" {
				out = append(out, c.PaymentIntentID)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// PaymentIntentsOf returns the payment intents of the license purchases of
// an account, sorted (domain.Service.LicenseIDForPaymentIntent gives their
// licenses).
func (lc Lifecycle) PaymentIntentsOf(accountID string) []string {
	var out []string
	for _, f := range lc.Facts {
		if c, ok := f.Command.(domain.RecordCheckoutPaid); ok && c.AccountID == accountID {
			out = append(out, c.PaymentIntentID)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// StripeSubscriptions returns the Stripe ids of the lifecycle's
// subscriptions, sorted.
func (lc Lifecycle) StripeSubscriptions() []string {
	var out []string
	for _, f := range lc.Facts {
		if f.StripeSubscriptionID != "" {
			out = append(out, f.StripeSubscriptionID)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Lifecycles returns a generator of lifecycles within limits.
func Lifecycles(limits Limits) *rapid.Generator[Lifecycle] {
	limits = limits.withDefaults()
	return rapid.Custom(func(t *rapid.T) Lifecycle {
		g := &gen{t: t, limits: limits}
		return g.lifecycle()
	})
}

// gen draws one lifecycle.
type gen struct {
	t      *rapid.T
	limits Limits
	lc     Lifecycle
}

func (g *gen) hours(label string, maxHours int) time.Duration {
	return time.Duration(rapid.IntRange(0, maxHours).Draw(g.t, label)) * time.Hour
}

func (g *gen) add(f Fact) { g.lc.Facts = append(g.lc.Facts, f) }

func (g *gen) lifecycle() Lifecycle {
	t := g.t
	nAff := rapid.IntRange(1, g.limits.Affiliates).Draw(t, "affiliates")
	for i := range nAff {
		g.lc.Affiliates = append(g.lc.Affiliates, domain.RegisterAffiliate{Name: fmt.Sprintf("Partner %d", i), Email: fmt.Sprintf("p%d@example.com", i),
			CommissionRateBps: rapid.IntRange(0, 5000).Draw(t, "rate"), RecurringMonths: rapid.IntRange(0, 4).Draw(t, "months")})
	}
	affiliate := func() string {
		switch i := rapid.IntRange(-1, nAff).Draw(t, "affiliate"); {
		case i < 0:
			return ""
		case i == nAff:
			return UnknownAffiliate
		default:
			return ID(i + 1)
		}
	}
	nAcc := rapid.IntRange(1, g.limits.Accounts).Draw(t, "accounts")
	var actions []Action
	for a := range nAcc {
		acc := ID(nAff + a + 1)
		g.lc.Accounts = append(g.lc.Accounts, domain.RegisterAccount{Name: fmt.Sprintf("Customer %d", a),
			Company: rapid.SampledFrom([]string{"", "Acme Ltd"}).Draw(t, "company"), Email: fmt.Sprintf("c%d@example.com", a),
			Password: Password, MarketingConsent: rapid.Bool().Draw(t, "marketing_consent")})
		for k := range rapid.IntRange(0, g.limits.Licenses).Draw(t, "licenses") {
			g.license(acc, affiliate(), fmt.Sprintf("pi_L%d_%d", a, k), Base.Add(g.hours("license_at", 24*40)))
		}
		var accActions []Action
		for k := range rapid.IntRange(0, g.limits.Subscriptions).Draw(t, "subscriptions") {
			accActions = append(accActions, g.subscription(acc, affiliate(), fmt.Sprintf("sub_%d_%d", a, k), Base.Add(g.hours("sub_at", 24*40)))...)
		}
		if rapid.IntRange(0, 5).Draw(t, "close") == 5 {
			accActions = append(accActions, Action{Kind: CloseAccount, At: Base.Add(g.hours("close_at", 24*240)), AccountID: acc})
		}
		if rapid.IntRange(0, 3).Draw(t, "erase") == 3 {
			// A customer acts no more once erased.
			at := Base.Add(g.hours("erase_at", 24*300))
			accActions = slices.DeleteFunc(accActions, func(a Action) bool { return !a.At.Before(at) })
			accActions = append(accActions, Action{Kind: RequestErasure, At: at, AccountID: acc})
		}
		actions = append(actions, accActions...)
	}
	slices.SortStableFunc(actions, func(a, b Action) int { return a.At.Compare(b.At) })
	g.lc.Actions = actions
	return g.lc
}

func (g *gen) license(acc, aff, pi string, at time.Time) {
	t := g.t
	amount := rapid.Int64Range(1, 100_000).Draw(t, "license_amount")
	g.add(Fact{At: at, Label: "checkout.session.completed " + pi, AccountID: acc, Command: domain.RecordCheckoutPaid{
		SessionID: "cs_" + pi, PaymentIntentID: pi, AccountID: acc, ProductID: "prod_app",
		Quantity: rapid.IntRange(1, 5).Draw(t, "quantity"), AffiliateID: aff, Amount: amount, Currency: "eur", OccurredAt: at}})
	g.reversals(acc, pi, amount, at)
}

// reversals adds refunds (increasing cumulative totals of one charge) and
// possibly a dispute of a payment.
func (g *gen) reversals(acc, pi string, amount int64, at time.Time) {
	t := g.t
	var total int64
	when := at
	for range rapid.IntRange(0, 3).Draw(t, "refunds") {
		if total >= amount {
			break
		}
		total += rapid.Int64Range(1, amount-total).Draw(t, "refund")
		when = when.Add(time.Hour + g.hours("refund_after", 24*20))
		r := domain.RecordRefund{ChargeID: "ch_" + pi, PaymentIntentID: pi, AmountRefundedTotal: total, Currency: "eur", OccurredAt: when}
		g.add(Fact{At: when, Label: fmt.Sprintf("charge.refunded %s %d", pi, total), AccountID: acc, Command: r})
		if rapid.IntRange(0, 4).Draw(t, "refund_reported_again") == 4 {
			// Another event (an update of the refund) reports the same
			// total later; the refund counts once, at its first time.
			again := r
			again.OccurredAt = when.Add(time.Minute + g.hours("reported_again_after", 48))
			g.add(Fact{At: again.OccurredAt, Label: fmt.Sprintf("charge.refunded %s %d again", pi, total), AccountID: acc, Command: again})
		}
	}
	if rapid.IntRange(0, 3).Draw(t, "dispute") != 3 {
		return
	}
	opened := at.Add(time.Hour + g.hours("dispute_after", 24*30))
	d := domain.RecordDispute{DisputeID: "dp_" + pi, PaymentIntentID: pi, Amount: rapid.Int64Range(1, amount).Draw(t, "dispute_amount"),
		Currency: "eur", Status: rapid.SampledFrom([]string{"needs_response", "warning_needs_response"}).Draw(t, "dispute_status"), OpenedAt: opened}
	g.add(Fact{At: opened, Label: "charge.dispute.created " + pi, AccountID: acc, Command: d})
	if rapid.Bool().Draw(t, "dispute_closed") {
		c := d
		c.Closed, c.Status = true, rapid.SampledFrom([]string{domain.DisputeWon, domain.DisputeLost, domain.DisputeWarningClosed}).Draw(t, "dispute_outcome")
		closed := opened.Add(24*time.Hour + g.hours("dispute_closed_after", 24*60))
		g.add(Fact{At: closed, Label: "charge.dispute.closed " + pi, AccountID: acc, Command: c})
	}
}

// subscription adds the facts of one subscription and returns the
// customer's actions on it.
func (g *gen) subscription(acc, aff, stripeID string, start time.Time) []Action {
	t := g.t
	plans := []struct {
		id     string
		amount int64
	}{{"plan_pro", 1000}, {"plan_team", 3000}}
	n := rapid.IntRange(1, g.limits.Invoices).Draw(t, "invoices")
	changeAt := rapid.IntRange(1, g.limits.Invoices+2).Draw(t, "plan_change_at") // > n: no change
	trial := rapid.IntRange(0, 4).Draw(t, "trial") == 4
	period := func(i int) time.Time { return start.AddDate(0, i, 0) }
	planAt := func(i int) int {
		if i >= changeAt {
			return 1
		}
		return 0
	}
	add := func(at time.Time, label string, cmd any) {
		g.add(Fact{At: at, Label: label, AccountID: acc, StripeSubscriptionID: stripeID, Command: cmd})
	}
	snap := func(change, status string, at time.Time, i int, cancel bool) {
		p := plans[planAt(i)]
		c := domain.RecordSubscriptionChange{SubscriptionID: stripeID, Change: change, Status: status, AccountID: acc, ProductID: p.id,
			AffiliateID: aff, Amount: p.amount, Currency: "eur", CancelAtPeriodEnd: cancel, CurrentPeriodEnd: period(i + 1), StartedAt: start, OccurredAt: at}
		if change == domain.StripeChangeDeleted {
			c.EndedAt = at
		}
		add(at, fmt.Sprintf("customer.subscription.%s %s %s cancel=%t", change, stripeID, status, cancel), c)
	}
	if rapid.IntRange(0, 4).Draw(t, "checkout") != 0 {
		add(start, "checkout.session.completed "+stripeID, domain.RecordSubscriptionCheckout{SessionID: "cs_" + stripeID, SubscriptionID: stripeID,
			AccountID: acc, ProductID: plans[0].id, AffiliateID: aff, Amount: plans[0].amount, Currency: "eur", OccurredAt: start})
	}
	snap(domain.StripeChangeCreated, "active", start, 0, false)
	lastPaid := -1
	for i := range n {
		ps := period(i)
		if i == changeAt {
			snap(domain.StripeChangeUpdated, "active", ps.Add(-24*time.Hour), i-1, false)
		}
		paidAt := ps.Add(time.Minute)
		if i > 0 && rapid.IntRange(0, 3).Draw(t, "fails") == 3 {
			inv := fmt.Sprintf("in_%s_%d", stripeID, i)
			add(ps.Add(time.Minute), "invoice.payment_failed "+inv,
				domain.RecordInvoicePaymentFailed{InvoiceID: inv, SubscriptionID: stripeID, OccurredAt: ps.Add(time.Minute)})
			if i == n-1 && rapid.Bool().Draw(t, "stays_unpaid") {
				snap(domain.StripeChangeUpdated, "past_due", ps.Add(time.Minute), i-1, false)
				break
			}
			paidAt = ps.Add(48 * time.Hour)
		}
		p := plans[planAt(i)]
		reason, amount, pi := domain.BillingReasonCycle, p.amount, fmt.Sprintf("pi_%s_%d", stripeID, i)
		if i == 0 {
			reason = domain.BillingReasonCreate
			if trial {
				amount, pi = 0, ""
			}
		}
		inv := domain.RecordInvoicePaid{InvoiceID: fmt.Sprintf("in_%s_%d", stripeID, i), SubscriptionID: stripeID, PaymentIntentID: pi,
			BillingReason: reason, AccountID: acc, ProductID: p.id, AffiliateID: aff, Amount: amount, Currency: "eur",
			PeriodStart: ps, PeriodEnd: period(i + 1), OccurredAt: paidAt}
		add(paidAt, "invoice.paid "+inv.InvoiceID, inv)
		if amount > 0 && rapid.IntRange(0, 4).Draw(t, "invoice_reversals") == 4 {
			g.reversals(acc, pi, amount, paidAt)
		}
		lastPaid = i
	}
	if lastPaid >= 0 && rapid.Bool().Draw(t, "cancel_at_period_end") {
		at := period(lastPaid).Add(time.Hour + g.hours("cancel_after", 24*20))
		snap(domain.StripeChangeUpdated, "active", at, lastPaid, true)
		if rapid.Bool().Draw(t, "reactivated") {
			snap(domain.StripeChangeUpdated, "active", at.Add(time.Hour+g.hours("reactivate_after", 24*5)), lastPaid, false)
		} else if rapid.Bool().Draw(t, "ended") {
			snap(domain.StripeChangeDeleted, "canceled", period(lastPaid+1), lastPaid, true)
		}
	}
	// The customer's own requests, at times from before the subscription
	// is known to after its last period.
	var out []Action
	for range rapid.IntRange(0, 2).Draw(t, "customer_actions") {
		kind := rapid.SampledFrom([]ActionKind{CancelAtPeriodEnd, CancelNow, Reactivate}).Draw(t, "customer_action")
		at := start.Add(-24*time.Hour + g.hours("customer_action_at", 24*32*(n+1)))
		out = append(out, Action{Kind: kind, At: at, AccountID: acc, StripeSubscriptionID: stripeID})
	}
	return out
}
