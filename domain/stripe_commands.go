package domain

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aseptsoft/subledger/domain/licensekey"
)

// Stripe facts, translated by the API layer from verified webhook events.
// OccurredAt is always the Stripe event's created time. Every fact is
// applied once, keyed by its Stripe object (session, invoice, charge and
// refunded total, dispute), and may arrive in any order.

// RecordCheckoutPaid is a paid Checkout Session in payment mode: a license
// sale (checkout.session.completed with payment_status paid, or
// checkout.session.async_payment_succeeded).
type RecordCheckoutPaid struct {
	SessionID       string
	PaymentIntentID string
	AccountID       string
	ProductID       string
	Quantity        int
	AffiliateID     string
	Amount          int64
	Currency        string
	OccurredAt      time.Time
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

// RecordInvoicePaymentFailed is a failed invoice payment (invoice.payment_failed).
type RecordInvoicePaymentFailed struct {
	InvoiceID      string
	SubscriptionID string // Stripe's
	OccurredAt     time.Time
}

// RecordRefund is a charge's refunded total (charge.refunded with the
// charge's amount_refunded, the cumulative total so far).
type RecordRefund struct {
	ChargeID            string
	PaymentIntentID     string
	AmountRefundedTotal int64
	Currency            string
	OccurredAt          time.Time
}

// RecordDispute is a dispute (charge.dispute.created or .closed). OpenedAt
// is the dispute's own created time, the same in both events.
type RecordDispute struct {
	DisputeID       string
	PaymentIntentID string
	Amount          int64
	Currency        string
	Status          string
	Closed          bool
	OpenedAt        time.Time
}

// RecordStripeEvent records the receipt of one Stripe webhook event.
type RecordStripeEvent struct {
	EventID   string
	Type      string
	CreatedAt time.Time
}

func checkMoney(v *validator, amount int64, currency string) {
	v.check(validAmount(amount), "amount", FieldRange)
	v.check(validCurrency(currency), "currency", FieldInvalid)
}

func checkTime(v *validator, field string, t time.Time) {
	v.check(!t.IsZero(), field, FieldRequired)
}

// paymentRef names the Stripe payment a fact belongs to: its payment intent,
// or the object that stands for it when there is none (nothing was charged).
func paymentRef(paymentIntentID, kind, fallback string) string {
	if paymentIntentID != "" {
		return "payment_intent:" + paymentIntentID
	}
	return kind + ":" + fallback
}

// SaleIDForPaymentIntent returns the id of the sale of a payment intent.
func (s *Service) SaleIDForPaymentIntent(paymentIntentID string) string {
	return s.keys.id("sale", paymentRef(paymentIntentID, "", ""))
}

// LicenseIDForPaymentIntent returns the id of the license bought with a
// payment intent.
func (s *Service) LicenseIDForPaymentIntent(paymentIntentID string) string {
	return s.keys.id("license", paymentRef(paymentIntentID, "", ""))
}

// SubscriptionIDFor returns our id of a Stripe subscription.
func (s *Service) SubscriptionIDFor(stripeSubscriptionID string) string {
	return s.keys.id("subscription", stripeSubscriptionID)
}

// RecordCheckoutPaid records a license sale: the license (with its signed
// key, unless the account was erased), the sale and, when an affiliate
// referred it, the commission. A refund that arrived first is applied.
func (s *Service) RecordCheckoutPaid(ctx context.Context, cmd RecordCheckoutPaid) (*License, Result, error) {
	var v validator
	v.check(validID(cmd.SessionID), "session_id", FieldRequired)
	v.check(cmd.PaymentIntentID == "" || validID(cmd.PaymentIntentID), "payment_intent_id", FieldInvalid)
	v.check(validID(cmd.AccountID), "account_id", FieldRequired)
	v.check(validID(cmd.ProductID), "product_id", FieldRequired)
	v.check(cmd.Quantity >= 1 && cmd.Quantity <= maxQuantity, "quantity", FieldRange)
	v.check(cmd.AffiliateID == "" || validID(cmd.AffiliateID), "affiliate_id", FieldInvalid)
	checkMoney(&v, cmd.Amount, cmd.Currency)
	checkTime(&v, "occurred_at", cmd.OccurredAt)
	if err := v.err(); err != nil {
		return nil, Result{}, err
	}
	ref := paymentRef(cmd.PaymentIntentID, "checkout_session", cmd.SessionID)
	licenseID, saleID := s.keys.id("license", ref), s.keys.id("sale", ref)
	owner, _, err := load(ctx, s, AccountStream(cmd.AccountID), newAccount)
	if err != nil {
		return nil, Result{}, err
	}
	lic, pos, err := execute(ctx, s, LicenseStream(licenseID), newLicense, func(l *License) error {
		l.purchase(LicensePurchased{LicenseID: licenseID, SaleID: saleID, AccountID: cmd.AccountID, ProductID: cmd.ProductID,
			Quantity: cmd.Quantity, Amount: cmd.Amount, Currency: cmd.Currency, PurchasedAt: utc(cmd.OccurredAt)})
		if owner.Status == AccountStatusErased {
			// The key is personal data of the owner, whose data key is gone:
			// the issue is recorded without a key, as the key of a license
			// bought before the erasure reads after it, so the license is
			// the same whichever of purchase and erasure Stripe delivers
			// first.
			return l.issueKey("")
		}
		if l.KeyIssued {
			return nil
		}
		key, err := s.signLicense(l)
		if err != nil {
			return err
		}
		return l.issueKey(key)
	})
	if err != nil {
		return nil, Result{}, err
	}
	if lic.Amount == 0 {
		return lic, Result{Position: pos}, nil
	}
	aff, err := s.affiliateFor(ctx, cmd.AffiliateID)
	if err != nil {
		return nil, Result{}, err
	}
	sale, p, err := s.ensureSale(ctx, SaleRecorded{SaleID: lic.SaleID, Kind: SaleKindSale, Source: SaleSourceLicense,
		LicenseID: lic.ID, ProductID: lic.ProductID, Amount: lic.Amount, Currency: lic.Currency, OccurredAt: lic.PurchasedAt}, aff)
	if err != nil {
		return nil, Result{}, err
	}
	pos = maxPos(pos, p)
	lic, p, err = s.reconcileLicense(ctx, sale, lic)
	if err != nil {
		return nil, Result{}, err
	}
	pos = maxPos(pos, p)
	// A license-only customer's payment has settled: no paid service goes
	// on, so the saved card data goes.
	acc, _, err := load(ctx, s, AccountStream(cmd.AccountID), newAccount)
	if err != nil {
		return nil, Result{}, err
	}
	if len(acc.Subscriptions) == 0 {
		if p, err = s.detachPaymentMethods(ctx, acc, "license paid "+lic.ID, DetachWait); err != nil {
			return nil, Result{}, err
		}
		pos = maxPos(pos, p)
	}
	return lic, Result{Position: pos}, nil
}

// signLicense returns the license's key. It depends only on the license's
// recorded facts, so any retry signs the same key.
func (s *Service) signLicense(l *License) (string, error) {
	key, err := licensekey.Sign(s.signingKey, licensekey.Claims{LicenseID: l.ID, ProductID: l.ProductID, Quantity: l.Quantity, IssuedAt: l.PurchasedAt})
	if err != nil {
		return "", fmt.Errorf("sign license key: %w", err)
	}
	return key, nil
}

// reconcileLicense marks a license sale's license refunded once the sale is
// refunded in full.
func (s *Service) reconcileLicense(ctx context.Context, sale *Sale, lic *License) (*License, uint64, error) {
	at := sale.FullyRefundedAt()
	if sale.Source != SaleSourceLicense || at.IsZero() || (lic != nil && lic.Refunded && !at.Before(lic.RefundedAt)) {
		return lic, 0, nil
	}
	return execute(ctx, s, LicenseStream(sale.LicenseID), newLicense, func(l *License) error {
		l.markRefunded(at)
		return nil
	})
}

// ensureSale records a sale unless it is recorded and, with aff, the
// affiliate's commission on it unless it is earned.
func (s *Service) ensureSale(ctx context.Context, rec SaleRecorded, aff *Affiliate) (*Sale, uint64, error) {
	return execute(ctx, s, SaleStream(rec.SaleID), newSale, func(x *Sale) error {
		x.recordSale(rec)
		if aff != nil {
			x.earn(aff.ID, aff.RateBps)
		}
		return nil
	})
}

// affiliateFor returns a registered affiliate, or nil for "" or an unknown id
// (a sale attributed to an unknown affiliate earns no commission).
func (s *Service) affiliateFor(ctx context.Context, id string) (*Affiliate, error) {
	if id == "" {
		return nil, nil
	}
	a, _, err := load(ctx, s, AffiliateStream(id), newAffiliate)
	if err != nil || a.ID == "" {
		return nil, err
	}
	return a, nil
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
		x.recordCheckout(SubscriptionCheckoutCompleted{SubscriptionID: id,
			SessionKey: s.keys.digest("checkout_session", cmd.SessionID), AccountID: cmd.AccountID, ProductID: cmd.ProductID,
			AffiliateID: cmd.AffiliateID, Amount: cmd.Amount, Currency: cmd.Currency, OccurredAt: utc(cmd.OccurredAt)})
		return s.linkStripe(ctx, x, cmd.SubscriptionID)
	})
	if err != nil {
		return nil, Result{}, err
	}
	return s.afterSubscription(ctx, sub, "", pos)
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
		x.sync(e)
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

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

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
		x.recordInvoicePaid(SubscriptionRenewed{SubscriptionID: id, InvoiceKey: key,
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
		x.recordPaymentFailed(SubscriptionPaymentFailed{SubscriptionID: id,
			InvoiceKey: s.keys.digest("invoice", cmd.InvoiceID), FailedAt: utc(cmd.OccurredAt)})
		return s.linkStripe(ctx, x, cmd.SubscriptionID)
	})
	if err != nil {
		return nil, Result{}, err
	}
	return s.afterSubscription(ctx, sub, "", pos)
}

// afterSubscription brings the other aggregates in line with a
// subscription's current state (not with the last change alone, so that a
// retry after a failure half way completes the work): the sales of its
// payments and their commissions (subscriptionSales), and the account's note of the subscription (which schedules erasure after the
// last paid subscription ends).
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

// RecordRefund records a charge's refunded total on its sale. The change
// since the last known total is one reversal row of the commission; a
// license refunded in full becomes refunded. A refund before its sale is
// kept and applied when the sale arrives.
func (s *Service) RecordRefund(ctx context.Context, cmd RecordRefund) (*Sale, Result, error) {
	var v validator
	v.check(validID(cmd.ChargeID), "charge_id", FieldRequired)
	v.check(validID(cmd.PaymentIntentID), "payment_intent_id", FieldRequired)
	v.check(cmd.AmountRefundedTotal > 0 && cmd.AmountRefundedTotal <= maxAmount, "amount_refunded", FieldRange)
	v.check(validCurrency(cmd.Currency), "currency", FieldInvalid)
	checkTime(&v, "occurred_at", cmd.OccurredAt)
	if err := v.err(); err != nil {
		return nil, Result{}, err
	}
	saleID := s.SaleIDForPaymentIntent(cmd.PaymentIntentID)
	sale, pos, err := execute(ctx, s, SaleStream(saleID), newSale, func(x *Sale) error {
		x.observeRefund(SaleRefundObserved{SaleID: saleID,
			RefundKey: s.keys.digest("refund", cmd.ChargeID+"\x00"+fmt.Sprint(cmd.AmountRefundedTotal)),
			ChargeKey: s.keys.digest("charge", cmd.ChargeID), AmountRefundedTotal: cmd.AmountRefundedTotal,
			Currency: cmd.Currency, OccurredAt: utc(cmd.OccurredAt)})
		return nil
	})
	if err != nil {
		return nil, Result{}, err
	}
	_, p, err := s.reconcileLicense(ctx, sale, nil)
	return sale, Result{Position: maxPos(pos, p)}, err
}

// RecordDispute records a dispute on its sale: unless the merchant wins it
// (or it is an inquiry), its amount is reversed like a refund.
func (s *Service) RecordDispute(ctx context.Context, cmd RecordDispute) (*Sale, Result, error) {
	var v validator
	v.check(validID(cmd.DisputeID), "dispute_id", FieldRequired)
	v.check(validID(cmd.PaymentIntentID), "payment_intent_id", FieldRequired)
	checkMoney(&v, cmd.Amount, cmd.Currency)
	v.check(validID(cmd.Status) && len(cmd.Status) <= disputeStatusMaxBytes, "status", FieldRequired)
	checkTime(&v, "opened_at", cmd.OpenedAt)
	if err := v.err(); err != nil {
		return nil, Result{}, err
	}
	saleID := s.SaleIDForPaymentIntent(cmd.PaymentIntentID)
	sale, pos, err := execute(ctx, s, SaleStream(saleID), newSale, func(x *Sale) error {
		x.observeDispute(SaleDisputeObserved{SaleID: saleID, DisputeKey: s.keys.digest("dispute", cmd.DisputeID),
			Amount: cmd.Amount, Currency: cmd.Currency, Status: cmd.Status, Closed: cmd.Closed, OpenedAt: utc(cmd.OpenedAt)})
		return nil
	})
	return sale, Result{Position: pos}, err
}

// RecordStripeEvent records the receipt of a Stripe event once. Record it
// after the event's fact was applied: facts are idempotent on their own, so
// a duplicate event may safely be applied again, and a receipt recorded
// before a failed apply would hide the redelivery's work. Duplicate reports
// whether the event was already recorded.
func (s *Service) RecordStripeEvent(ctx context.Context, cmd RecordStripeEvent) (duplicate bool, res Result, err error) {
	var v validator
	v.check(validID(cmd.EventID), "event_id", FieldRequired)
	v.check(validID(cmd.Type), "type", FieldRequired)
	if err := v.err(); err != nil {
		return false, Result{}, err
	}
	key := s.keys.digest("stripe_event", cmd.EventID)
	_, pos, err := execute(ctx, s, StripeEventStream(key), newStripeReceipt, func(r *stripeReceipt) error {
		duplicate = r.Received
		r.receive(StripeEventReceived{EventKey: key, Type: cmd.Type, CreatedAt: utc(cmd.CreatedAt), ReceivedAt: s.clock()})
		return nil
	})
	return duplicate, Result{Position: pos}, err
}
