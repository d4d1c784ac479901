// How a subscription's state is derived from the facts it knows (see the
// top of subscription.go), and what can be asked of it.

package domain

import (
	"sort"
	"time"
)

// Ranks break ties between facts with the same time: a customer's own
// request says more than a snapshot from Stripe, a snapshot more than an
// invoice, an invoice more than a checkout, a checkout more than a failure.
const (
	rankFailure = iota
	rankCheckout
	rankInvoice
	rankSnapshot
	rankIntent
)

// latest picks, among candidates, the one with the greatest (time, rank, key).
type latest struct {
	at   time.Time
	rank int
	key  string
	set  bool
}

// offer takes a candidate when it is greater than every one offered so
// far, and reports whether it did.
func (l *latest) offer(at time.Time, rank int, key string) bool {
	if l.set && (at.Before(l.at) || (at.Equal(l.at) && (rank < l.rank || (rank == l.rank && key <= l.key)))) {
		return false
	}
	l.at, l.rank, l.key, l.set = at, rank, key, true
	return true
}

// minString keeps the smallest non-empty value: the same whatever the order.
func minString(cur, v string) string {
	if v != "" && (cur == "" || v < cur) {
		return v
	}
	return cur
}

// minTime keeps the earliest non-zero time.
func minTime(cur, v time.Time) time.Time {
	if !v.IsZero() && (cur.IsZero() || v.Before(cur)) {
		return v
	}
	return cur
}

// maxTime keeps the latest time.
func maxTime(cur, v time.Time) time.Time {
	if v.After(cur) {
		return v
	}
	return cur
}

// endingStatus reports whether a Stripe status means the subscription
// ended.
func endingStatus(status string) bool {
	return status == "canceled" || status == "incomplete_expired"
}

// troubledStatus reports whether a Stripe status means a payment is
// overdue.
func troubledStatus(status string) bool {
	return status == "past_due" || status == "unpaid" || status == "incomplete"
}

// refresh derives the state from the facts. Every choice is a function of
// the set of facts (latest by time, rank and key; earliest; smallest),
// never of their arrival order.
func (s *Subscription) refresh() {
	var v SubscriptionView
	var affiliate string
	// The latest fact that says anything of the plan, of the price, of
	// cancellation at period end, and of whether a payment is overdue.
	var product, amount, cancel, health latest
	var ended, troubled bool
	var endedAt time.Time

	for k, c := range s.checkouts {
		v.AccountID, affiliate = minString(v.AccountID, c.AccountID), minString(affiliate, c.AffiliateID)
		if c.ProductID != "" && product.offer(c.At, rankCheckout, k) {
			v.ProductID = c.ProductID
		}
		if c.Amount > 0 && amount.offer(c.At, rankCheckout, k) {
			v.Amount, v.Currency = c.Amount, c.Currency
		}
		v.StartedAt = minTime(v.StartedAt, c.At)
	}
	for k, i := range s.invoices {
		v.AccountID, affiliate = minString(v.AccountID, i.AccountID), minString(affiliate, i.AffiliateID)
		if i.ProductID != "" && product.offer(i.PaidAt, rankInvoice, k) {
			v.ProductID = i.ProductID
		}
		// A proration or a $0 invoice says nothing of the price.
		if i.Amount > 0 && (i.BillingReason == BillingReasonCreate || i.BillingReason == BillingReasonCycle) && amount.offer(i.PaidAt, rankInvoice, k) {
			v.Amount, v.Currency = i.Amount, i.Currency
		}
		v.StartedAt = minTime(v.StartedAt, i.PeriodStart)
		v.CurrentPeriodEnd = maxTime(v.CurrentPeriodEnd, i.PeriodEnd)
		if health.offer(i.PaidAt, rankInvoice, k) {
			troubled = false
		}
	}
	for k, at := range s.failures {
		// A failed invoice that was paid since is no trouble.
		if _, paid := s.invoices[k]; !paid && health.offer(at, rankFailure, k) {
			troubled = true
		}
	}
	for k, n := range s.snapshots {
		v.AccountID, affiliate = minString(v.AccountID, n.AccountID), minString(affiliate, n.AffiliateID)
		if n.ProductID != "" && product.offer(n.At, rankSnapshot, k) {
			v.ProductID = n.ProductID
		}
		if n.Amount > 0 && amount.offer(n.At, rankSnapshot, k) {
			v.Amount, v.Currency = n.Amount, n.Currency
		}
		v.StartedAt = minTime(v.StartedAt, n.StartedAt)
		v.CurrentPeriodEnd = maxTime(v.CurrentPeriodEnd, n.CurrentPeriodEnd)
		if cancel.offer(n.At, rankSnapshot, k) {
			v.CancelAtPeriodEnd = n.CancelAtPeriodEnd
		}
		if health.offer(n.At, rankSnapshot, k) {
			troubled = troubledStatus(n.Status)
		}
		if n.Change == StripeChangeDeleted || endingStatus(n.Status) {
			ended = true
			end := n.EndedAt
			if end.IsZero() {
				end = n.At
			}
			endedAt = minTime(endedAt, end)
		}
	}
	for k, i := range s.intents {
		switch i.Kind {
		case intentCancelAtPeriodEnd:
			if cancel.offer(i.At, rankIntent, k) {
				v.CancelAtPeriodEnd = true
			}
		case intentReactivate:
			if cancel.offer(i.At, rankIntent, k) {
				v.CancelAtPeriodEnd = false
			}
		case intentCancelNow:
			ended = true
			endedAt = minTime(endedAt, i.At)
		}
	}
	switch {
	case ended:
		v.Status, v.EndedAt = SubscriptionStatusEnded, endedAt
	case troubled:
		v.Status = SubscriptionStatusPastDue
	default:
		v.Status = SubscriptionStatusActive
	}
	s.SubscriptionView, s.AffiliateID = v, affiliate
	s.first, s.AnchorAt = s.firstPayment()
	s.Paid = s.first != ""
}

// firstPayment returns the key and paid time of the first payment: the
// earliest paid invoice with an amount above 0, by paid time, then key;
// "" while there is none.
func (s *Subscription) firstPayment() (key string, at time.Time) {
	for k, i := range s.invoices {
		if i.Amount > 0 && (key == "" || i.PaidAt.Before(at) || (i.PaidAt.Equal(at) && k < key)) {
			key, at = k, i.PaidAt
		}
	}
	return key, at
}

// known reports whether the subscription's account and plan are known.
func (s *Subscription) known() bool { return s.AccountID != "" && s.ProductID != "" }

// View returns the subscription as the API shows it.
func (s *Subscription) View() SubscriptionView { return s.SubscriptionView }

// Note returns what the subscription's account needs to know of it.
func (s *Subscription) Note() SubscriptionNote {
	return SubscriptionNote{Paid: s.Paid, Ended: s.Status == SubscriptionStatusEnded, EndedAt: s.EndedAt}
}

// HasAccess reports whether the subscription grants access at now: while it
// is active (a pending cancellation at period end keeps it active until
// then), and, when a payment failed, through the last period a paid
// invoice covers, never into the unpaid period that Stripe already shows
// as current.
func (s *Subscription) HasAccess(now time.Time) bool {
	switch s.Status {
	case SubscriptionStatusEnded:
		return false
	case SubscriptionStatusActive:
		return true
	}
	return now.Before(s.PaidThrough())
}

// PaidThrough is the end of the latest period covered by a paid invoice;
// zero when no invoice is paid.
func (s *Subscription) PaidThrough() time.Time {
	var t time.Time
	for _, i := range s.invoices {
		t = maxTime(t, i.PeriodEnd)
	}
	return t
}

// Invoices returns the paid invoices, oldest period first.
func (s *Subscription) Invoices() []SubscriptionInvoice {
	out := make([]SubscriptionInvoice, 0, len(s.invoices))
	for _, i := range s.invoices {
		out = append(out, i)
	}
	sort.Slice(out, func(a, b int) bool {
		if !out[a].PeriodStart.Equal(out[b].PeriodStart) {
			return out[a].PeriodStart.Before(out[b].PeriodStart)
		}
		return out[a].Key < out[b].Key
	})
	return out
}
