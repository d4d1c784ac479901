package domain

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aseptsoft/subledger/domain/licensekey"
)

const (
	affX    = "affaffaf-0000-4000-8000-00000000000a"
	product = "prod_app"
)

var (
	tk = keys{secret: testSecret}
	t0 = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
)

func licenseIDOf(pi string) string { return tk.id("license", "payment_intent:"+pi) }
func saleIDOf(pi string) string    { return tk.id("sale", "payment_intent:"+pi) }
func refundKeyOf(charge string, total int64) string {
	return tk.digest("refund", charge+"\x00"+fmt.Sprint(total))
}
func reversalIDOf(pi, factKey string) string { return rowID(saleIDOf(pi), factKey) }

func affiliateX(rate, months int) on {
	return on{AffiliateStream(affX), []Event{AffiliateRegistered{AffiliateID: affX, Name: "Partner", Email: "p@example.com",
		Code: "PARTNER1", RateBps: rate, RecurringMonths: months, RegisteredAt: t0.Add(-48 * time.Hour)}}}
}

func checkoutPaid(pi string, amount int64, affiliate string) RecordCheckoutPaid {
	return RecordCheckoutPaid{SessionID: "cs_" + pi, PaymentIntentID: pi, AccountID: accA, ProductID: product, Quantity: 2,
		AffiliateID: affiliate, Amount: amount, Currency: "eur", OccurredAt: t0}
}

func purchased(pi string, amount int64) LicensePurchased {
	return LicensePurchased{LicenseID: licenseIDOf(pi), SaleID: saleIDOf(pi), AccountID: accA, ProductID: product,
		Quantity: 2, Amount: amount, Currency: "eur", PurchasedAt: t0}
}

func keyIssued(t testing.TB, pi string) LicenseKeyIssued {
	key, err := licensekey.Sign(testSignKey, licensekey.Claims{LicenseID: licenseIDOf(pi), ProductID: product, Quantity: 2, IssuedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	return LicenseKeyIssued{LicenseID: licenseIDOf(pi), AccountID: accA, Key: key, IssuedAt: t0}
}

func licenseSale(pi string, amount int64) SaleRecorded {
	return SaleRecorded{SaleID: saleIDOf(pi), Kind: SaleKindSale, Source: SaleSourceLicense, LicenseID: licenseIDOf(pi),
		ProductID: product, Amount: amount, Currency: "eur", OccurredAt: t0}
}

func earned(pi string, amount int64, rate int) CommissionEarned {
	return CommissionEarned{SaleID: saleIDOf(pi), AffiliateID: affX, Kind: SaleKindSale, ProductID: product, Amount: amount,
		Currency: "eur", RateBps: rate, CommissionAmount: amount * int64(rate) / 10000, OccurredAt: t0}
}

func refundObserved(pi, charge string, total int64, at time.Time) SaleRefundObserved {
	return SaleRefundObserved{SaleID: saleIDOf(pi), RefundKey: refundKeyOf(charge, total), ChargeKey: tk.digest("charge", charge),
		AmountRefundedTotal: total, Currency: "eur", OccurredAt: at}
}

func reversed(pi, key, reason string, amount, commission int64, at time.Time) CommissionReversed {
	return CommissionReversed{SaleID: saleIDOf(pi), ReversalID: reversalIDOf(pi, key), AffiliateID: affX, Reason: reason,
		ProductID: product, Amount: amount, Currency: "eur", CommissionAmount: commission, OccurredAt: at}
}

// soldLicense is a license sale of 10000 with 25% commission.
func soldLicense(t testing.TB, pi string) []on {
	return []on{
		affiliateX(2500, 0),
		{LicenseStream(licenseIDOf(pi)), []Event{purchased(pi, 10000), keyIssued(t, pi)}},
		{SaleStream(saleIDOf(pi)), []Event{licenseSale(pi, 10000), earned(pi, 10000, 2500)}},
	}
}

func TestRecordCheckoutPaid(t *testing.T) {
	ctx := context.Background()
	pay := func(cmd RecordCheckoutPaid) func(f *fixture) error {
		return func(f *fixture) error {
			_, _, err := f.svc.RecordCheckoutPaid(ctx, cmd)
			return err
		}
	}
	runGWT(t, []gwt{
		{
			name:  "paid_checkout_records_the_license_its_key_and_the_sale",
			given: liveAccount(),
			when:  pay(checkoutPaid("pi_1", 10000, "")),
			then: []on{
				{LicenseStream(licenseIDOf("pi_1")), []Event{purchased("pi_1", 10000), keyIssued(t, "pi_1")}},
				{SaleStream(saleIDOf("pi_1")), []Event{licenseSale("pi_1", 10000)}},
			},
			check: func(t *testing.T, f *fixture) {
				l, err := f.svc.License(ctx, licenseIDOf("pi_1"))
				if err != nil || l.Status() != LicenseStatusActive {
					t.Fatalf("license %+v, %v", l, err)
				}
				c, err := licensekey.Verify(f.pub, l.Key)
				if err != nil || c.LicenseID != l.ID || c.Quantity != 2 || c.ProductID != product || !c.IssuedAt.Equal(t0) {
					t.Fatalf("key claims %+v, %v", c, err)
				}
			},
		},
		{
			name:  "referred_checkout_earns_the_affiliate_its_rate_rounded_toward_zero",
			given: append(liveAccount(), affiliateX(333, 0)),
			when:  pay(checkoutPaid("pi_1", 9999, affX)),
			then: []on{
				{LicenseStream(licenseIDOf("pi_1")), []Event{purchased("pi_1", 9999), keyIssued(t, "pi_1")}},
				{SaleStream(saleIDOf("pi_1")), []Event{licenseSale("pi_1", 9999), earned("pi_1", 9999, 333)}},
			},
			check: func(t *testing.T, f *fixture) {
				s, _ := f.svc.Sale(ctx, saleIDOf("pi_1"))
				if s.Commission != 332 || f.svc.CommissionStatus(s) != CommissionStatusPending {
					t.Fatalf("commission %d %s, want 332 pending", s.Commission, f.svc.CommissionStatus(s))
				}
			},
		},
		{
			name:  "unknown_affiliate_earns_nothing",
			given: liveAccount(),
			when:  pay(checkoutPaid("pi_1", 10000, affX)),
			then: []on{
				{LicenseStream(licenseIDOf("pi_1")), []Event{purchased("pi_1", 10000), keyIssued(t, "pi_1")}},
				{SaleStream(saleIDOf("pi_1")), []Event{licenseSale("pi_1", 10000)}},
			},
		},
		{
			name:  "duplicate_paid_checkout_records_nothing",
			given: append(liveAccount(), soldLicense(t, "pi_1")...),
			when:  pay(checkoutPaid("pi_1", 10000, affX)),
			then:  nil,
		},
		{
			name: "refund_before_sale_is_kept_and_applied_later",
			given: append(append(liveAccount(), affiliateX(2500, 0)),
				on{SaleStream(saleIDOf("pi_1")), []Event{refundObserved("pi_1", "ch_1", 10000, t0.Add(time.Hour))}}),
			when: pay(checkoutPaid("pi_1", 10000, affX)),
			then: []on{
				{LicenseStream(licenseIDOf("pi_1")), []Event{purchased("pi_1", 10000), keyIssued(t, "pi_1"),
					LicenseRefunded{LicenseID: licenseIDOf("pi_1"), RefundedAt: t0.Add(time.Hour)}}},
				{SaleStream(saleIDOf("pi_1")), []Event{licenseSale("pi_1", 10000), earned("pi_1", 10000, 2500),
					reversed("pi_1", refundKeyOf("ch_1", 10000), ReversalRefund, -10000, -2500, t0.Add(time.Hour))}},
			},
			check: func(t *testing.T, f *fixture) {
				l, _ := f.svc.License(ctx, licenseIDOf("pi_1"))
				s, _ := f.svc.Sale(ctx, saleIDOf("pi_1"))
				if l.Status() != LicenseStatusRefunded || f.svc.CommissionStatus(s) != CommissionStatusReversed {
					t.Fatalf("license %s, commission %s", l.Status(), f.svc.CommissionStatus(s))
				}
			},
		},
		{
			name:  "checkout_for_an_erased_account_records_the_issue_without_a_key",
			given: []on{{AccountStream(accA), []Event{registered(accA, mailA), AccountErased{AccountID: accA, ErasedAt: t0}}}},
			when: func(f *fixture) error {
				f.store.forget(accA)
				return pay(checkoutPaid("pi_1", 10000, ""))(f)
			},
			then: []on{
				{LicenseStream(licenseIDOf("pi_1")), []Event{purchased("pi_1", 10000),
					LicenseKeyIssued{LicenseID: licenseIDOf("pi_1"), AccountID: accA, IssuedAt: t0}}},
				{SaleStream(saleIDOf("pi_1")), []Event{licenseSale("pi_1", 10000)}},
			},
		},
		{
			name:  "free_checkout_records_a_license_and_no_sale",
			given: liveAccount(),
			when: pay(RecordCheckoutPaid{SessionID: "cs_free", AccountID: accA, ProductID: product, Quantity: 1,
				Currency: "eur", OccurredAt: t0}),
			check: func(t *testing.T, f *fixture) {
				got := f.store.since(0)
				id := tk.id("license", "checkout_session:cs_free")
				if len(got[LicenseStream(id)]) != 2 || len(f.store.streamNames("sale-")) != 0 {
					t.Fatalf("got %v", describe(got))
				}
			},
		},
		{
			name: "checkout_without_quantity_or_currency_is_refused",
			when: pay(RecordCheckoutPaid{SessionID: "cs_1", AccountID: accA, ProductID: product, Amount: 100, Currency: "EUR", OccurredAt: t0}),
			code: CodeValidationFailed,
		},
	})
}

func TestRecordRefundAndDispute(t *testing.T) {
	ctx := context.Background()
	refund := func(charge string, total int64, at time.Time) func(f *fixture) error {
		return func(f *fixture) error {
			_, _, err := f.svc.RecordRefund(ctx, RecordRefund{ChargeID: charge, PaymentIntentID: "pi_1", AmountRefundedTotal: total, Currency: "eur", OccurredAt: at})
			return err
		}
	}
	dispute := func(status string, closed bool) func(f *fixture) error {
		return func(f *fixture) error {
			_, _, err := f.svc.RecordDispute(ctx, RecordDispute{DisputeID: "dp_1", PaymentIntentID: "pi_1", Amount: 10000, Currency: "eur", Status: status, Closed: closed, OpenedAt: t0.Add(3 * time.Hour)})
			return err
		}
	}
	h := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
	dk := tk.digest("dispute", "dp_1")
	disputeSeen := func(status string, closed bool) SaleDisputeObserved {
		return SaleDisputeObserved{SaleID: saleIDOf("pi_1"), DisputeKey: dk, Amount: 10000, Currency: "eur", Status: status, Closed: closed, OpenedAt: h(3)}
	}
	withRefund := func(total int64, at time.Time) []on {
		return append(soldLicense(t, "pi_1"), on{SaleStream(saleIDOf("pi_1")), []Event{
			refundObserved("pi_1", "ch_1", total, at),
			reversed("pi_1", refundKeyOf("ch_1", total), ReversalRefund, -total, -total/4, at)}})
	}
	runGWT(t, []gwt{
		{
			name:  "partial_refund_reverses_the_commission_in_proportion",
			given: soldLicense(t, "pi_1"),
			when:  refund("ch_1", 3333, h(1)),
			then: []on{{SaleStream(saleIDOf("pi_1")), []Event{
				refundObserved("pi_1", "ch_1", 3333, h(1)),
				reversed("pi_1", refundKeyOf("ch_1", 3333), ReversalRefund, -3333, -833, h(1)),
			}}},
			check: func(t *testing.T, f *fixture) {
				l, _ := f.svc.License(ctx, licenseIDOf("pi_1"))
				if l.Status() != LicenseStatusActive {
					t.Fatalf("partially refunded license is %s", l.Status())
				}
			},
		},
		{
			name:  "larger_refunded_total_reverses_the_difference",
			given: withRefund(4000, h(1)),
			when:  refund("ch_1", 6000, h(2)),
			then: []on{{SaleStream(saleIDOf("pi_1")), []Event{
				refundObserved("pi_1", "ch_1", 6000, h(2)),
				reversed("pi_1", refundKeyOf("ch_1", 6000), ReversalRefund, -2000, -500, h(2)),
			}}},
		},
		{
			name:  "smaller_total_arriving_late_splits_the_reversal_as_if_in_order",
			given: withRefund(6000, h(2)),
			when:  refund("ch_1", 4000, h(1)),
			then: []on{{SaleStream(saleIDOf("pi_1")), []Event{
				refundObserved("pi_1", "ch_1", 4000, h(1)),
				reversed("pi_1", refundKeyOf("ch_1", 4000), ReversalRefund, -4000, -1000, h(1)),
				CommissionReversalAdjusted{SaleID: saleIDOf("pi_1"), ReversalID: reversalIDOf("pi_1", refundKeyOf("ch_1", 6000)), AffiliateID: affX,
					Reason: ReversalRefund, Amount: -2000, CommissionAmount: -500, OccurredAt: h(2)},
			}}},
		},
		{
			name:  "full_refund_marks_the_license_refunded",
			given: withRefund(4000, h(1)),
			when:  refund("ch_1", 10000, h(2)),
			then: []on{
				{SaleStream(saleIDOf("pi_1")), []Event{
					refundObserved("pi_1", "ch_1", 10000, h(2)),
					reversed("pi_1", refundKeyOf("ch_1", 10000), ReversalRefund, -6000, -1500, h(2)),
				}},
				{LicenseStream(licenseIDOf("pi_1")), []Event{LicenseRefunded{LicenseID: licenseIDOf("pi_1"), RefundedAt: h(2)}}},
			},
		},
		{
			name:  "duplicate_refund_records_nothing",
			given: withRefund(4000, h(1)),
			when:  refund("ch_1", 4000, h(1)),
			then:  nil,
		},
		{
			name: "refund_of_an_unknown_payment_is_kept_for_later",
			when: refund("ch_9", 500, h(1)),
			then: []on{{SaleStream(saleIDOf("pi_1")), []Event{refundObserved("pi_1", "ch_9", 500, h(1))}}},
		},
		{
			name: "refund_without_payment_intent_is_refused",
			when: func(f *fixture) error {
				_, _, err := f.svc.RecordRefund(ctx, RecordRefund{ChargeID: "ch_1", AmountRefundedTotal: 5, Currency: "eur", OccurredAt: t0})
				return err
			},
			code: CodeValidationFailed,
		},
		{
			name:  "dispute_reverses_the_disputed_amount",
			given: soldLicense(t, "pi_1"),
			when:  dispute("needs_response", false),
			then: []on{{SaleStream(saleIDOf("pi_1")), []Event{
				disputeSeen("needs_response", false),
				reversed("pi_1", dk, ReversalDispute, -10000, -2500, h(3)),
			}}},
		},
		{
			name: "won_dispute_takes_its_reversal_back",
			given: append(soldLicense(t, "pi_1"), on{SaleStream(saleIDOf("pi_1")), []Event{
				disputeSeen("needs_response", false), reversed("pi_1", dk, ReversalDispute, -10000, -2500, h(3))}}),
			when: dispute("won", true),
			then: []on{{SaleStream(saleIDOf("pi_1")), []Event{
				disputeSeen("won", true),
				CommissionReversalAdjusted{SaleID: saleIDOf("pi_1"), ReversalID: reversalIDOf("pi_1", dk), AffiliateID: affX, Reason: ReversalDispute, OccurredAt: h(3)},
			}}},
			check: func(t *testing.T, f *fixture) {
				s, _ := f.svc.Sale(ctx, saleIDOf("pi_1"))
				if len(s.Reversals) != 0 {
					t.Fatalf("reversals left: %+v", s.Reversals)
				}
			},
		},
		{
			name:  "won_dispute_arriving_first_reverses_nothing",
			given: soldLicense(t, "pi_1"),
			when:  dispute("won", true),
			then:  []on{{SaleStream(saleIDOf("pi_1")), []Event{disputeSeen("won", true)}}},
		},
		{
			name:  "open_dispute_after_its_closing_records_nothing",
			given: append(soldLicense(t, "pi_1"), on{SaleStream(saleIDOf("pi_1")), []Event{disputeSeen("won", true)}}),
			when:  dispute("needs_response", false),
			then:  nil,
		},
		{
			name:  "inquiry_reverses_nothing",
			given: soldLicense(t, "pi_1"),
			when:  dispute("warning_needs_response", false),
			then:  []on{{SaleStream(saleIDOf("pi_1")), []Event{disputeSeen("warning_needs_response", false)}}},
		},
		{
			name:  "refund_and_dispute_together_reverse_at_most_the_sale",
			given: withRefund(6000, h(1)),
			when:  dispute("lost", true),
			then: []on{{SaleStream(saleIDOf("pi_1")), []Event{
				disputeSeen("lost", true),
				reversed("pi_1", dk, ReversalDispute, -4000, -1000, h(3)),
			}}},
		},
	})
}

func TestApproveCommission(t *testing.T) {
	ctx := context.Background()
	approve := func(f *fixture) error {
		_, _, err := f.svc.ApproveCommission(ctx, ApproveCommission{SaleID: saleIDOf("pi_1")})
		return err
	}
	runGWT(t, []gwt{
		{
			name:  "commission_is_approved_once_the_hold_has_passed",
			given: soldLicense(t, "pi_1"),
			at:    t0.Add(testHold + time.Minute),
			when:  approve,
			then:  []on{{SaleStream(saleIDOf("pi_1")), []Event{CommissionApproved{SaleID: saleIDOf("pi_1"), AffiliateID: affX, ApprovedAt: t0.Add(testHold)}}}},
		},
		{
			name:  "commission_within_the_hold_is_not_due",
			given: soldLicense(t, "pi_1"),
			at:    t0.Add(testHold - time.Second),
			when:  approve,
			code:  CodeCommissionNotDue,
		},
		{
			name: "approved_commission_is_not_approved_again",
			given: append(soldLicense(t, "pi_1"), on{SaleStream(saleIDOf("pi_1")), []Event{
				CommissionApproved{SaleID: saleIDOf("pi_1"), AffiliateID: affX, ApprovedAt: t0.Add(testHold)}}}),
			at:   t0.Add(2 * testHold),
			when: approve,
			then: nil,
		},
		{
			name:  "sale_without_commission_has_none_to_approve",
			given: []on{{SaleStream(saleIDOf("pi_1")), []Event{licenseSale("pi_1", 100)}}},
			at:    t0.Add(2 * testHold),
			when:  approve,
			code:  CodeNotFound,
		},
	})
}

func TestLicenseCommands(t *testing.T) {
	ctx := context.Background()
	revoke := func(reason string) func(f *fixture) error {
		return func(f *fixture) error {
			_, _, err := f.svc.RevokeLicense(ctx, RevokeLicense{LicenseID: licenseIDOf("pi_1"), Reason: reason})
			return err
		}
	}
	issue := func(f *fixture) error {
		_, _, err := f.svc.IssueLicenseKey(ctx, IssueLicenseKey{LicenseID: licenseIDOf("pi_1")})
		return err
	}
	runGWT(t, []gwt{
		{
			name:  "license_is_revoked_for_a_known_reason",
			given: soldLicense(t, "pi_1"),
			when:  revoke(RevokeChargeback),
			then:  []on{{LicenseStream(licenseIDOf("pi_1")), []Event{LicenseRevoked{LicenseID: licenseIDOf("pi_1"), Reason: RevokeChargeback, RevokedAt: testStart}}}},
			check: func(t *testing.T, f *fixture) {
				l, _ := f.svc.License(ctx, licenseIDOf("pi_1"))
				if l.Status() != LicenseStatusRevoked {
					t.Fatalf("status %s", l.Status())
				}
			},
		},
		{
			name:  "revoking_a_revoked_license_records_nothing",
			given: append(soldLicense(t, "pi_1"), on{LicenseStream(licenseIDOf("pi_1")), []Event{LicenseRevoked{LicenseID: licenseIDOf("pi_1"), Reason: RevokeFraud}}}),
			when:  revoke(RevokeOther),
			then:  nil,
		},
		{
			name:  "unknown_reason_is_refused",
			given: soldLicense(t, "pi_1"),
			when:  revoke("because"),
			code:  CodeValidationFailed,
		},
		{
			name: "unknown_license_is_not_found",
			when: revoke(RevokeFraud),
			code: CodeNotFound,
		},
		{
			name:  "missing_key_is_issued",
			given: append(liveAccount(), on{LicenseStream(licenseIDOf("pi_1")), []Event{purchased("pi_1", 10000)}}),
			when:  issue,
			then:  []on{{LicenseStream(licenseIDOf("pi_1")), []Event{keyIssued(t, "pi_1")}}},
		},
		{
			name:  "issued_key_is_not_issued_again",
			given: append(liveAccount(), soldLicense(t, "pi_1")...),
			when:  issue,
			then:  nil,
		},
		{
			name: "no_key_is_issued_for_an_erased_owner",
			given: []on{
				{AccountStream(accA), []Event{registered(accA, mailA), AccountErased{AccountID: accA}}},
				{LicenseStream(licenseIDOf("pi_1")), []Event{purchased("pi_1", 10000)}},
			},
			when: issue,
			code: CodeAccountErased,
		},
	})
}
