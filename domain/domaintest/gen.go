package domaintest

import (
	"fmt"
	"slices"
	"time"

	"pgregory.net/rapid"

	"github.com/aseptsoft/subledger/domain"
)

// Lifecycles returns a generator of lifecycles within limits.
//
// What it draws, as Stripe sends it: payments in eur, usd and chf; dates
// at month ends (29 to 31 January) as well as others, with monthly
// periods anchored on the start's day (31 January, 28 February, 31
// March, ...); license payments paid at once or asynchronously
// (checkout.session.completed unpaid, then async_payment_succeeded or
// async_payment_failed); every event with its own Stripe event id (a
// redelivery in Orders reuses it); trials (an invoice of 0), plan and
// quantity changes with their proration invoices (billing_reason
// subscription_update); failed payments, recovered or retried until
// Stripe cancels the subscription; refunds in parts, reported again;
// inquiries (warning_needs_response, then warning_closed) and disputes
// (needs_response, then won or lost); and re-signups with the e-mail of
// an erased account.
//
// Times are drawn so that no two paid invoices of a subscription, and no
// two reversals of a payment, share an instant: their order is then the
// same for every reader (the domain breaks such ties by keyed digests).
func Lifecycles(limits Limits) *rapid.Generator[Lifecycle] {
	limits = limits.withDefaults()
	return rapid.Custom(func(t *rapid.T) Lifecycle {
		g := &gen{t: t, limits: limits}
		return g.lifecycle()
	})
}

// Currencies are the currencies lifecycles pay in.
var Currencies = []string{"eur", "usd", "chf"}

// gen draws one lifecycle.
type gen struct {
	t      *rapid.T
	limits Limits
	lc     Lifecycle
	events int
}

func (g *gen) hours(label string, maxHours int) time.Duration {
	return time.Duration(rapid.IntRange(0, maxHours).Draw(g.t, label)) * time.Hour
}

// add adds a fact of Stripe event type typ with a new event id; cmd is
// nil for an event that subledger acknowledges and ignores.
func (g *gen) add(f Fact, typ string) {
	g.events++
	f.EventID, f.Type = fmt.Sprintf("evt_%05d", g.events), typ
	if f.Label == "" {
		f.Label = typ
	}
	g.lc.Facts = append(g.lc.Facts, f)
}

// start draws when something starts: half the time at a month's end (29
// to 31 January, at a whole hour), else within the first 40 days.
func (g *gen) start(label string) time.Time {
	if rapid.Bool().Draw(g.t, label+"_at_month_end") {
		day := rapid.IntRange(29, 31).Draw(g.t, label+"_day")
		return time.Date(2026, 1, day, 0, 0, 0, 0, time.UTC).Add(g.hours(label+"_hour", 23))
	}
	return Base.Add(g.hours(label+"_at", 24*40))
}

// AddMonths returns t plus n calendar months, the day clamped to the end
// of a shorter month: how Stripe moves a monthly period anchored on t.
func AddMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, time.UTC)
	last := time.Date(first.Year(), first.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day()
	return time.Date(first.Year(), first.Month(), min(d, last), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

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
		reg := domain.RegisterAccount{Name: fmt.Sprintf("Customer %d", a),
			Company: rapid.SampledFrom([]string{"", "Acme Ltd"}).Draw(t, "company"), Email: fmt.Sprintf("c%d@example.com", a),
			Password: Password, MarketingConsent: rapid.Bool().Draw(t, "marketing_consent")}
		g.lc.Accounts = append(g.lc.Accounts, reg)
		for k := range rapid.IntRange(0, g.limits.Licenses).Draw(t, "licenses") {
			g.license(acc, affiliate(), fmt.Sprintf("pi_L%d_%d", a, k), g.start("license"))
		}
		var accActions []Action
		for k := range rapid.IntRange(0, g.limits.Subscriptions).Draw(t, "subscriptions") {
			accActions = append(accActions, g.subscription(acc, affiliate(), fmt.Sprintf("sub_%d_%d", a, k), g.start("sub"))...)
		}
		if rapid.IntRange(0, 5).Draw(t, "close") == 5 {
			accActions = append(accActions, Action{Kind: CloseAccount, At: Base.Add(g.hours("close_at", 24*240)), AccountID: acc})
		}
		if rapid.IntRange(0, 3).Draw(t, "erase") == 3 {
			// A customer acts no more once erased.
			at := Base.Add(g.hours("erase_at", 24*300))
			accActions = slices.DeleteFunc(accActions, func(a Action) bool { return !a.At.Before(at) })
			accActions = append(accActions, Action{Kind: RequestErasure, At: at, AccountID: acc})
			if rapid.Bool().Draw(t, "resignup") {
				// Someone signs up again with the erased account's
				// address, and buys a license.
				again := reg
				again.Name = fmt.Sprintf("Customer %d again", a)
				id := ID(nAff + nAcc + len(g.lc.Resignups) + 1)
				g.lc.Resignups = append(g.lc.Resignups, again)
				signup := at.Add(time.Hour + g.hours("resignup_after", 48))
				accActions = append(accActions, Action{Kind: SignUp, At: signup, AccountID: id, SignUp: again})
				if rapid.Bool().Draw(t, "resignup_buys") {
					g.license(id, affiliate(), fmt.Sprintf("pi_R%d", a), signup.Add(time.Hour+g.hours("resignup_license_after", 48)))
				}
			}
		}
		actions = append(actions, accActions...)
	}
	slices.SortStableFunc(actions, func(a, b Action) int { return a.At.Compare(b.At) })
	g.lc.Actions = actions
	g.renumberResignups(nAff + nAcc)
	return g.lc
}

// renumberResignups gives the re-signups their ids in the order they
// happen (the order the Service hands ids out in), after the first first
// ids, in the actions, in Resignups and in the facts of their licenses.
func (g *gen) renumberResignups(first int) {
	ids := map[string]string{}
	var order []domain.RegisterAccount
	for i, a := range g.lc.Actions {
		if a.Kind == SignUp {
			ids[a.AccountID] = ID(first + len(order) + 1)
			order = append(order, a.SignUp)
			g.lc.Actions[i].AccountID = ids[a.AccountID]
		}
	}
	g.lc.Resignups = order
	for i, f := range g.lc.Facts {
		id, ok := ids[f.AccountID]
		if !ok {
			continue
		}
		g.lc.Facts[i].AccountID = id
		if c, ok := f.Command.(domain.RecordCheckoutPaid); ok { // a re-signup only buys licenses
			c.AccountID = id
			g.lc.Facts[i].Command = c
		}
	}
}

func (g *gen) license(acc, aff, pi string, at time.Time) {
	t := g.t
	amount := rapid.Int64Range(1, 100_000).Draw(t, "license_amount")
	currency := rapid.SampledFrom(Currencies).Draw(t, "license_currency")
	paid := domain.RecordCheckoutPaid{SessionID: "cs_" + pi, PaymentIntentID: pi, AccountID: acc, ProductID: "prod_app",
		Quantity: rapid.IntRange(1, 5).Draw(t, "quantity"), AffiliateID: aff, Amount: amount, Currency: currency, OccurredAt: at}
	switch rapid.IntRange(0, 3).Draw(t, "license_payment") {
	case 2, 3:
		// An asynchronous method: the session completes unpaid, and the
		// payment succeeds or fails later.
		g.add(Fact{At: at, Label: "checkout.session.completed unpaid " + pi, AccountID: acc}, "checkout.session.completed")
		later := at.Add(time.Hour + g.hours("async_after", 72))
		if rapid.IntRange(0, 3).Draw(t, "async_fails") == 0 {
			g.add(Fact{At: later, Label: "checkout.session.async_payment_failed " + pi, AccountID: acc}, "checkout.session.async_payment_failed")
			return
		}
		paid.OccurredAt = later
		g.add(Fact{At: later, Label: "checkout.session.async_payment_succeeded " + pi, AccountID: acc, Command: paid}, "checkout.session.async_payment_succeeded")
	default:
		g.add(Fact{At: at, Label: "checkout.session.completed " + pi, AccountID: acc, Command: paid}, "checkout.session.completed")
	}
	g.reversals(acc, pi, amount, currency, paid.OccurredAt)
}

// reversals adds refunds (increasing cumulative totals of one charge, at
// whole hours after the payment) and possibly an inquiry or a dispute
// (opened at a half hour, so never at a refund's instant) of a payment.
func (g *gen) reversals(acc, pi string, amount int64, currency string, at time.Time) {
	t := g.t
	var total int64
	when := at
	for range rapid.IntRange(0, 3).Draw(t, "refunds") {
		if total >= amount {
			break
		}
		total += rapid.Int64Range(1, amount-total).Draw(t, "refund")
		when = when.Add(time.Hour + g.hours("refund_after", 24*20))
		r := domain.RecordRefund{ChargeID: "ch_" + pi, PaymentIntentID: pi, AmountRefundedTotal: total, Currency: currency, OccurredAt: when}
		g.add(Fact{At: when, Label: fmt.Sprintf("charge.refunded %s %d", pi, total), AccountID: acc, Command: r}, "charge.refunded")
		if rapid.IntRange(0, 4).Draw(t, "refund_reported_again") == 4 {
			// Another event (an update of the refund) reports the same
			// total later; the refund counts once, at its first time.
			again := r
			again.OccurredAt = when.Add(time.Minute + g.hours("reported_again_after", 48))
			g.add(Fact{At: again.OccurredAt, Label: fmt.Sprintf("charge.refunded %s %d again", pi, total), AccountID: acc, Command: again}, "charge.refunded")
		}
	}
	if rapid.IntRange(0, 3).Draw(t, "dispute") != 3 {
		return
	}
	opened := at.Add(time.Hour + 30*time.Minute + g.hours("dispute_after", 24*30))
	open, outcomes := "needs_response", []string{domain.DisputeWon, domain.DisputeLost}
	if rapid.Bool().Draw(t, "inquiry") {
		open, outcomes = "warning_needs_response", []string{domain.DisputeWarningClosed}
	}
	d := domain.RecordDispute{DisputeID: "dp_" + pi, PaymentIntentID: pi, Amount: rapid.Int64Range(1, amount).Draw(t, "dispute_amount"),
		Currency: currency, Status: open, OpenedAt: opened}
	g.add(Fact{At: opened, Label: fmt.Sprintf("charge.dispute.created %s %s", pi, open), AccountID: acc, Command: d}, "charge.dispute.created")
	if rapid.Bool().Draw(t, "dispute_closed") {
		c := d
		c.Closed, c.Status = true, rapid.SampledFrom(outcomes).Draw(t, "dispute_outcome")
		closed := opened.Add(24*time.Hour + g.hours("dispute_closed_after", 24*60))
		g.add(Fact{At: closed, Label: fmt.Sprintf("charge.dispute.closed %s %s", pi, c.Status), AccountID: acc, Command: c}, "charge.dispute.closed")
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
	currency := rapid.SampledFrom(Currencies).Draw(t, "sub_currency")
	n := rapid.IntRange(1, g.limits.Invoices).Draw(t, "invoices")
	changeAt := rapid.IntRange(1, g.limits.Invoices+2).Draw(t, "plan_change_at") // > n: no change
	quantityChange := rapid.Bool().Draw(t, "quantity_change")                    // else a plan change
	quantity := rapid.IntRange(1, 3).Draw(t, "quantity")
	newQuantity := quantity + rapid.IntRange(1, 2).Draw(t, "quantity_added")
	trial := rapid.IntRange(0, 4).Draw(t, "trial") == 4
	period := func(i int) time.Time { return AddMonths(start, i) }
	// price is what period i costs: the plan's price times the quantity.
	price := func(i int) (string, int64) {
		p, q := plans[0], quantity
		if i >= changeAt {
			if quantityChange {
				q = newQuantity
			} else {
				p = plans[1]
			}
		}
		return p.id, p.amount * int64(q)
	}
	add := func(at time.Time, typ, label string, cmd any) {
		g.add(Fact{At: at, Label: label, AccountID: acc, StripeSubscriptionID: stripeID, Command: cmd}, typ)
	}
	snap := func(change, status string, at time.Time, i int, cancel bool) {
		product, amount := price(i)
		c := domain.RecordSubscriptionChange{SubscriptionID: stripeID, Change: change, Status: status, AccountID: acc, ProductID: product,
			AffiliateID: aff, Amount: amount, Currency: currency, CancelAtPeriodEnd: cancel, CurrentPeriodEnd: period(i + 1), StartedAt: start, OccurredAt: at}
		if change == domain.StripeChangeDeleted {
			c.EndedAt = at
		}
		add(at, "customer.subscription."+change, fmt.Sprintf("customer.subscription.%s %s %s cancel=%t", change, stripeID, status, cancel), c)
	}
	paid := func(i int, reason, pi string, amount int64, from, to, at time.Time) {
		product, _ := price(max(i, 0))
		inv := domain.RecordInvoicePaid{InvoiceID: fmt.Sprintf("in_%s_%d", stripeID, i), SubscriptionID: stripeID, PaymentIntentID: pi,
			BillingReason: reason, AccountID: acc, ProductID: product, AffiliateID: aff, Amount: amount, Currency: currency,
			PeriodStart: from, PeriodEnd: to, OccurredAt: at}
		if reason == domain.BillingReasonUpdate {
			inv.InvoiceID += "_proration"
		}
		add(at, "invoice.paid", fmt.Sprintf("invoice.paid %s %s %d", inv.InvoiceID, reason, amount), inv)
		if amount > 0 && rapid.IntRange(0, 4).Draw(t, "invoice_reversals") == 4 {
			g.reversals(acc, pi, amount, currency, at)
		}
	}
	failed := func(i int, at time.Time) {
		inv := fmt.Sprintf("in_%s_%d", stripeID, i)
		add(at, "invoice.payment_failed", "invoice.payment_failed "+inv,
			domain.RecordInvoicePaymentFailed{InvoiceID: inv, SubscriptionID: stripeID, OccurredAt: at})
	}
	if rapid.IntRange(0, 4).Draw(t, "checkout") != 0 {
		product, amount := price(0)
		add(start, "checkout.session.completed", "checkout.session.completed "+stripeID, domain.RecordSubscriptionCheckout{SessionID: "cs_" + stripeID,
			SubscriptionID: stripeID, AccountID: acc, ProductID: product, AffiliateID: aff, Amount: amount, Currency: currency, OccurredAt: start})
	}
	snap(domain.StripeChangeCreated, "active", start, 0, false)
	lastPaid, canceled := -1, false
	for i := range n {
		ps := period(i)
		if i == changeAt {
			// The change a day before the period: a snapshot with the new
			// price and a proration invoice for the rest of the period
			// (of 0 when the credit covers it).
			at := ps.Add(-24 * time.Hour)
			snap(domain.StripeChangeUpdated, "active", at, i, false)
			_, amount := price(i)
			prorated := rapid.Int64Range(0, amount).Draw(t, "proration")
			pi := ""
			if prorated > 0 {
				pi = fmt.Sprintf("pi_%s_%d_proration", stripeID, i)
			}
			paid(i, domain.BillingReasonUpdate, pi, prorated, at, ps, at.Add(time.Minute))
		}
		paidAt := ps.Add(time.Minute)
		if i > 0 && rapid.IntRange(0, 3).Draw(t, "fails") == 3 {
			failed(i, ps.Add(time.Minute))
			if i == n-1 && rapid.Bool().Draw(t, "stays_unpaid") {
				snap(domain.StripeChangeUpdated, "past_due", ps.Add(time.Minute), i-1, false)
				if rapid.Bool().Draw(t, "canceled_after_retries") {
					// Stripe retries on days 3, 5 and 7, then cancels.
					for _, d := range []int{3, 5, 7} {
						failed(i, ps.Add(time.Duration(d)*24*time.Hour))
					}
					snap(domain.StripeChangeDeleted, "canceled", ps.Add(7*24*time.Hour+time.Minute), i-1, false)
					canceled = true
				}
				break
			}
			// Paid on a retry one to three days later: around the end of
			// a recurring window that starts on a month's last days.
			paidAt = ps.Add(24*time.Hour + g.hours("paid_after_failure", 48))
		}
		_, amount := price(i)
		reason, pi := domain.BillingReasonCycle, fmt.Sprintf("pi_%s_%d", stripeID, i)
		if i == 0 {
			reason = domain.BillingReasonCreate
			if trial {
				amount, pi = 0, ""
			}
		}
		paid(i, reason, pi, amount, ps, period(i+1), paidAt)
		lastPaid = i
	}
	if lastPaid >= 0 && !canceled && rapid.Bool().Draw(t, "cancel_at_period_end") {
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
