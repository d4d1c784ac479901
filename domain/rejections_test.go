package domain

import (
	"math"
	"testing"
	"time"
)

// Rejected Stripe facts and receipts: bad input changes nothing.
func TestMalformedStripeFactsAreRefused(t *testing.T) {
	run := func(fn func(s *Service) error) func(f *fixture) error {
		return func(f *fixture) error { return fn(f.svc) }
	}
	runGWT(t, []gwt{
		{
			name: "subscription_checkout_without_account_is_refused",
			when: run(func(s *Service) error {
				c := subCheckoutCmd("")
				c.AccountID = ""
				_, _, err := s.RecordSubscriptionCheckout(ctxb, c)
				return err
			}),
			code: CodeValidationFailed,
		},
		{
			name: "failed_payment_without_time_is_refused",
			when: run(func(s *Service) error {
				_, _, err := s.RecordInvoicePaymentFailed(ctxb, RecordInvoicePaymentFailed{InvoiceID: "in_1", SubscriptionID: "sub_1"})
				return err
			}),
			code: CodeValidationFailed,
		},
		{
			name: "invoice_whose_period_ends_before_it_starts_is_refused",
			when: run(func(s *Service) error {
				c := invoicePaid(1, "")
				c.PeriodEnd = c.PeriodStart.Add(-time.Hour)
				_, _, err := s.RecordInvoicePaid(ctxb, c)
				return err
			}),
			code: CodeValidationFailed,
		},
		{
			name: "negative_amount_is_refused",
			when: run(func(s *Service) error {
				_, _, err := s.RecordCheckoutPaid(ctxb, checkoutPaid("pi_1", -1, ""))
				return err
			}),
			code: CodeValidationFailed,
		},
		{
			name: "dispute_without_status_is_refused",
			when: run(func(s *Service) error {
				_, _, err := s.RecordDispute(ctxb, RecordDispute{DisputeID: "dp_1", PaymentIntentID: "pi_1", Amount: 5, Currency: "eur", OpenedAt: t0})
				return err
			}),
			code: CodeValidationFailed,
		},
		{
			name: "stripe_event_without_id_is_refused",
			when: run(func(s *Service) error {
				_, _, err := s.RecordStripeEvent(ctxb, RecordStripeEvent{Type: "invoice.paid"})
				return err
			}),
			code: CodeValidationFailed,
		},
	})
}

func TestCommissionArithmetic(t *testing.T) {
	cases := []struct {
		amount int64
		bps    int
		want   int64
	}{
		{10000, 2500, 2500},
		{9999, 333, 332}, // 332.9667 rounds toward zero
		{1, 9999, 0},
		{maxAmount, maxRateBps, maxAmount},
		{maxAmount, 1, maxAmount / 10000},
	}
	for _, c := range cases {
		if got := commissionOf(c.amount, c.bps); got != c.want {
			t.Errorf("commissionOf(%d, %d) = %d, want %d", c.amount, c.bps, got, c.want)
		}
	}
	// Cumulative proportions never overflow and reverse exactly the whole
	// commission once the whole amount is reversed.
	if got := proportion(maxAmount, maxAmount, maxAmount); got != maxAmount {
		t.Errorf("proportion at the limits = %d", got)
	}
	if got := proportion(math.MaxInt64/2, math.MaxInt64/2, math.MaxInt64/2); got != math.MaxInt64/2 {
		t.Errorf("proportion of huge values = %d", got)
	}
	s := &Sale{ID: saleIDOf("pi_1"), Recorded: true, Earned: true, Amount: 1000, RateBps: 3333, Commission: 333,
		refunds: map[string]refundFact{"a": {Charge: "c", Total: 1, At: t0}, "b": {Charge: "c", Total: 2, At: t0.Add(time.Hour)}, "c": {Charge: "c", Total: 1000, At: t0.Add(2 * time.Hour)}}}
	var sum, sumC int64
	for _, r := range s.desiredReversals() {
		sum += r.Amount
		sumC += r.CommissionAmount
	}
	if sum != -1000 || sumC != -333 {
		t.Errorf("full refund in three parts reverses %d and %d, want -1000 and -333", sum, sumC)
	}
	// A partial refund's row is the rounded commission of the amount
	// refunded (API.md): 4800 * 1250 / 10000 = 600, where the sale's
	// rounded commission taken in proportion would give 1837 * 4800 /
	// 14700 = 599.
	s = &Sale{ID: saleIDOf("pi_1"), Recorded: true, Earned: true, Amount: 14700, RateBps: 1250, Commission: 1837,
		refunds: map[string]refundFact{"a": {Charge: "c", Total: 4800, At: t0}}}
	for _, r := range s.desiredReversals() {
		if r.Amount != -4800 || r.CommissionAmount != -600 {
			t.Errorf("refund of 4800 of 14700 at 1250 bps reverses %d and %d, want -4800 and -600", r.Amount, r.CommissionAmount)
		}
	}
}
