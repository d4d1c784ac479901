package domain

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// CancelSubscription cancels a subscription at the end of the paid period
// (AtPeriodEnd) or at once.
type CancelSubscription struct {
	SubscriptionID string
	AtPeriodEnd    bool
}

// ReactivateSubscription withdraws a cancellation at period end.
type ReactivateSubscription struct {
	SubscriptionID string
}

// Subscription returns a subscription; 404 until it has started.
func (s *Service) Subscription(ctx context.Context, id string) (*Subscription, error) {
	x, _, err := load(ctx, s, SubscriptionStream(id), newSubscription)
	if err != nil {
		return nil, err
	}
	if !x.Started {
		return nil, notFound("subscription")
	}
	return x, nil
}

// CancelSubscription records the customer's cancellation; the caller tells
// Stripe. A cancellation at period end keeps access until the period ends.
func (s *Service) CancelSubscription(ctx context.Context, cmd CancelSubscription) (*Subscription, Result, error) {
	sub, pos, err := execute(ctx, s, SubscriptionStream(cmd.SubscriptionID), newSubscription, func(x *Subscription) error {
		return x.cancel(cmd.AtPeriodEnd, s.clock())
	})
	if err != nil {
		return nil, Result{}, err
	}
	return s.afterSubscription(ctx, sub, "", pos)
}

// ReactivateSubscription withdraws a cancellation at period end before the
// period ends; the caller tells Stripe.
func (s *Service) ReactivateSubscription(ctx context.Context, cmd ReactivateSubscription) (*Subscription, Result, error) {
	sub, pos, err := execute(ctx, s, SubscriptionStream(cmd.SubscriptionID), newSubscription, func(x *Subscription) error {
		return x.reactivate(s.clock())
	})
	return sub, Result{Position: pos}, err
}

// RecordSubscriptionCheckout is a completed Checkout Session in subscription
// mode: it starts the subscription and makes no sale (the invoice does).
type RecordSubscriptionCheckout struct {
	SessionID      string
	SubscriptionID string // Stripe's
	AccountID      string
	ProductID      string
	AffiliateID    string
	Amount         int64
	Currency       string
	OccurredAt     time.Time
}

// RecordSubscriptionCheckout records the checkout that created a subscription.
func (s *Service) RecordSubscriptionCheckout(ctx context.Context, cmd RecordSubscriptionCheckout) (*Subscription, Result, error) {
	var v validator
	v.check(validID(cmd.SessionID), "session_id", FieldRequired)
	v.check(validID(cmd.SubscriptionID), "subscription_id", FieldRequired)
	v.check(validID(cmd.AccountID), "account_id", FieldRequired)
	v.check(validID(cmd.ProductID), "product_id", FieldRequired)
	v.check(cmd.AffiliateID == "" || validID(cmd.AffiliateID), "affiliate_id", FieldInvalid)
	checkMoney(&v, cmd.Amount, cmd.Currency)
	checkTime(&v, "occurred_at", cmd.OccurredAt)
	if err := v.err(); err != nil {
		return nil, Result{}, err
	}
	id := s.SubscriptionIDFor(cmd.SubscriptionID)
	sub, pos, err := execute(ctx, s, SubscriptionStream(id), newSubscription, func(x *Subscription) error {
		x.observe(SubscriptionCheckoutCompleted{SubscriptionID: id,
			SessionKey: s.keys.digest("checkout_session", cmd.SessionID), AccountID: cmd.AccountID, ProductID: cmd.ProductID,
			AffiliateID: cmd.AffiliateID, Amount: cmd.Amount, Currency: cmd.Currency, OccurredAt: utc(cmd.OccurredAt)})
		return s.linkStripe(ctx, x, cmd.SubscriptionID)
	})
	if err != nil {
		return nil, Result{}, err
	}
	return s.afterSubscription(ctx, sub, "", pos)
}

// RecordSubscriptionChange is a snapshot of a subscription from
// customer.subscription.created, .updated or .deleted. Status is Stripe's
// status; Amount is the plan's price times the quantity.
type RecordSubscriptionChange struct {
	SubscriptionID    string // Stripe's
	Change            string // created, updated or deleted
	Status            string
	AccountID         string
	ProductID         string
	AffiliateID       string
	Amount            int64
	Currency          string
	CancelAtPeriodEnd bool
	CurrentPeriodEnd  time.Time
	StartedAt         time.Time
	EndedAt           time.Time
	OccurredAt        time.Time
}

// RecordSubscriptionChange records a Stripe snapshot of a subscription.
func (s *Service) RecordSubscriptionChange(ctx context.Context, cmd RecordSubscriptionChange) (*Subscription, Result, error) {
	var v validator
	v.check(validID(cmd.SubscriptionID), "subscription_id", FieldRequired)
	v.check(cmd.Change == StripeChangeCreated || cmd.Change == StripeChangeUpdated || cmd.Change == StripeChangeDeleted, "change", FieldInvalid)
	v.check(validID(cmd.Status), "status", FieldRequired)
	v.check(cmd.AccountID == "" || validID(cmd.AccountID), "account_id", FieldInvalid)
	v.check(cmd.ProductID == "" || validID(cmd.ProductID), "product_id", FieldInvalid)
	v.check(cmd.AffiliateID == "" || validID(cmd.AffiliateID), "affiliate_id", FieldInvalid)
	v.check(validAmount(cmd.Amount), "amount", FieldRange)
	v.check(cmd.Currency == "" || validCurrency(cmd.Currency), "currency", FieldInvalid)
	checkTime(&v, "occurred_at", cmd.OccurredAt)
	if err := v.err(); err != nil {
		return nil, Result{}, err
	}
	id := s.SubscriptionIDFor(cmd.SubscriptionID)
	e := SubscriptionSynced{SubscriptionID: id, Change: cmd.Change,
		StripeStatus: cmd.Status, AccountID: cmd.AccountID, ProductID: cmd.ProductID, AffiliateID: cmd.AffiliateID,
		Amount: cmd.Amount, Currency: cmd.Currency, CancelAtPeriodEnd: cmd.CancelAtPeriodEnd,
		CurrentPeriodEnd: utc(cmd.CurrentPeriodEnd), StartedAt: utc(cmd.StartedAt), EndedAt: utc(cmd.EndedAt), OccurredAt: utc(cmd.OccurredAt)}
	e.SnapshotKey = s.keys.digest("subscription_snapshot", strings.Join([]string{cmd.SubscriptionID, e.Change, e.StripeStatus,
		e.AccountID, e.ProductID, e.AffiliateID, fmt.Sprint(e.Amount), e.Currency, fmt.Sprint(e.CancelAtPeriodEnd),
		stamp(e.CurrentPeriodEnd), stamp(e.StartedAt), stamp(e.EndedAt), stamp(e.OccurredAt)}, "\x00"))
	sub, pos, err := execute(ctx, s, SubscriptionStream(id), newSubscription, func(x *Subscription) error {
		x.observe(e)
		return s.linkStripe(ctx, x, cmd.SubscriptionID)
	})
	if err != nil {
		return nil, Result{}, err
	}
	return s.afterSubscription(ctx, sub, "", pos)
}

// RecordInvoicePaid is a paid subscription invoice (invoice.paid). The
// period is the subscription line's period (lines.data[].period), not the
// invoice's period_start/period_end; ProductID is that line's product.
type RecordInvoicePaid struct {
	InvoiceID       string
	SubscriptionID  string // Stripe's
	PaymentIntentID string
	BillingReason   string
	AccountID       string
	ProductID       string
	AffiliateID     string
	Amount          int64
	Currency        string
	PeriodStart     time.Time
	PeriodEnd       time.Time
	OccurredAt      time.Time
}

// RecordInvoicePaid records a paid subscription invoice: on the
// subscription, as a sale (when money was paid) and as commission where an
// affiliate earns it. The first payment arrives both as
// checkout.session.completed and as invoice.paid; only the invoice makes a
// sale, so it counts once.
func (s *Service) RecordInvoicePaid(ctx context.Context, cmd RecordInvoicePaid) (*Subscription, Result, error) {
	var v validator
	v.check(validID(cmd.InvoiceID), "invoice_id", FieldRequired)
	v.check(validID(cmd.SubscriptionID), "subscription_id", FieldRequired)
	v.check(cmd.PaymentIntentID == "" || validID(cmd.PaymentIntentID), "payment_intent_id", FieldInvalid)
	v.check(validID(cmd.BillingReason), "billing_reason", FieldRequired)
	v.check(cmd.AccountID == "" || validID(cmd.AccountID), "account_id", FieldInvalid)
	v.check(validID(cmd.ProductID), "product_id", FieldRequired)
	v.check(cmd.AffiliateID == "" || validID(cmd.AffiliateID), "affiliate_id", FieldInvalid)
	checkMoney(&v, cmd.Amount, cmd.Currency)
	checkTime(&v, "period_start", cmd.PeriodStart)
	checkTime(&v, "period_end", cmd.PeriodEnd)
	v.check(!cmd.PeriodEnd.Before(cmd.PeriodStart), "period_end", FieldInvalid)
	checkTime(&v, "occurred_at", cmd.OccurredAt)
	if err := v.err(); err != nil {
		return nil, Result{}, err
	}
	id := s.SubscriptionIDFor(cmd.SubscriptionID)
	key := s.keys.digest("invoice", cmd.InvoiceID)
	sub, pos, err := execute(ctx, s, SubscriptionStream(id), newSubscription, func(x *Subscription) error {
		x.observe(SubscriptionRenewed{SubscriptionID: id, InvoiceKey: key,
			SaleID: s.keys.id("sale", paymentRef(cmd.PaymentIntentID, "invoice", cmd.InvoiceID)), BillingReason: cmd.BillingReason,
			AccountID: cmd.AccountID, ProductID: cmd.ProductID, AffiliateID: cmd.AffiliateID, Amount: cmd.Amount,
			Currency: cmd.Currency, PeriodStart: utc(cmd.PeriodStart), PeriodEnd: utc(cmd.PeriodEnd), PaidAt: utc(cmd.OccurredAt)})
		return s.linkStripe(ctx, x, cmd.SubscriptionID)
	})
	if err != nil {
		return nil, Result{}, err
	}
	return s.afterSubscription(ctx, sub, key, pos)
}

// RecordInvoicePaymentFailed is a failed invoice payment (invoice.payment_failed).
type RecordInvoicePaymentFailed struct {
	InvoiceID      string
	SubscriptionID string // Stripe's
	OccurredAt     time.Time
}

// RecordInvoicePaymentFailed records a failed invoice payment: the
// subscription is past due, and keeps the period already paid.
func (s *Service) RecordInvoicePaymentFailed(ctx context.Context, cmd RecordInvoicePaymentFailed) (*Subscription, Result, error) {
	var v validator
	v.check(validID(cmd.InvoiceID), "invoice_id", FieldRequired)
	v.check(validID(cmd.SubscriptionID), "subscription_id", FieldRequired)
	checkTime(&v, "occurred_at", cmd.OccurredAt)
	if err := v.err(); err != nil {
		return nil, Result{}, err
	}
	id := s.SubscriptionIDFor(cmd.SubscriptionID)
	sub, pos, err := execute(ctx, s, SubscriptionStream(id), newSubscription, func(x *Subscription) error {
		x.observe(SubscriptionPaymentFailed{SubscriptionID: id,
			InvoiceKey: s.keys.digest("invoice", cmd.InvoiceID), FailedAt: utc(cmd.OccurredAt)})
		return s.linkStripe(ctx, x, cmd.SubscriptionID)
	})
	if err != nil {
		return nil, Result{}, err
	}
	return s.afterSubscription(ctx, sub, "", pos)
}

// linkStripe records the subscription's Stripe id, encrypted under its
// account's key, once the account is known, unless the account is erased
// (a fact delivered after the erasure is still recorded, without the id).
func (s *Service) linkStripe(ctx context.Context, x *Subscription, stripeID string) error {
	if !x.needsLink() {
		return nil
	}
	acc, _, err := load(ctx, s, AccountStream(x.AccountID), newAccount)
	if err != nil {
		return err
	}
	if acc.Status != AccountStatusErased {
		x.link(stripeID)
	}
	return nil
}

// afterSubscription brings the other aggregates in line with a
// subscription's current state (not with the last change alone, so that a
// retry after a failure half way completes the work): the sales of its
// payments and their commissions (subscriptionSales), and the account's
// note of the subscription (which schedules erasure after the last paid
// subscription ends).
func (s *Service) afterSubscription(ctx context.Context, sub *Subscription, invoiceKey string, pos uint64) (*Subscription, Result, error) {
	p, err := s.subscriptionSales(ctx, sub, invoiceKey)
	if err != nil {
		return nil, Result{}, err
	}
	pos = maxPos(pos, p)
	if sub.AccountID != "" {
		acc, p, err := execute(ctx, s, AccountStream(sub.AccountID), newAccount, func(a *Account) error {
			if !a.exists() {
				return nil
			}
			return a.noteSubscription(sub.ID, sub.Note(), s.grace)
		})
		if err != nil {
			return nil, Result{}, err
		}
		pos = maxPos(pos, p)
		// The last paid subscription ended: card data goes now, the rest
		// of the account after the grace.
		if acc != nil && !acc.ErasureDueAt.IsZero() {
			p, err := s.detachPaymentMethods(ctx, acc, "paid service ended "+stamp(acc.ErasureDueAt), 0)
			if err != nil {
				return nil, Result{}, err
			}
			pos = maxPos(pos, p)
		}
	}
	return sub, Result{Position: pos}, nil
}
