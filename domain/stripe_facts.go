package domain

import (
	"time"
)

// Stripe facts are the commands the API layer translates from verified
// webhook events: RecordCheckoutPaid (license_commands.go), the
// subscription's checkout, snapshots and invoices (subscription_commands.go),
// RecordRefund and RecordDispute (sale_commands.go) and RecordStripeEvent
// (stripe_receipt.go). OccurredAt is always the Stripe event's created time.
// Every fact is applied once, keyed by its Stripe object (session, invoice,
// charge and refunded total, dispute), and may arrive in any order. This
// file holds what they share: checks of money and times, and the ids
// derived from Stripe's.

// checkMoney checks an amount and its currency.
func checkMoney(v *validator, amount int64, currency string) {
	v.check(validAmount(amount), "amount", FieldRange)
	v.check(validCurrency(currency), "currency", FieldInvalid)
}

// checkTime checks that a required time is set.
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

// stamp formats a time for a digest or a reason, in UTC.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
