package domain

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"
)

const plan = "plan_pro"

var ctxb = context.Background()

// month returns the start of the n-th monthly period of the test subscription.
func month(n int) time.Time { return t0.AddDate(0, n, 0) }

func subID(stripeID string) string { return tk.id("subscription", stripeID) }

func subCheckoutCmd(affiliate string) RecordSubscriptionCheckout {
	return RecordSubscriptionCheckout{SessionID: "cs_sub_1", SubscriptionID: "sub_1", AccountID: accA, ProductID: plan,
		AffiliateID: affiliate, Amount: 1000, Currency: "eur", OccurredAt: t0}
}

func invoicePaid(n int, affiliate string) RecordInvoicePaid {
	reason := BillingReasonCycle
	if n == 0 {
		reason = BillingReasonCreate
	}
	return RecordInvoicePaid{InvoiceID: fmt.Sprintf("in_%d", n), SubscriptionID: "sub_1", PaymentIntentID: fmt.Sprintf("pi_in_%d", n),
		BillingReason: reason, AccountID: accA, ProductID: plan, AffiliateID: affiliate, Amount: 1000, Currency: "eur",
		PeriodStart: month(n), PeriodEnd: month(n + 1), OccurredAt: month(n).Add(time.Minute)}
}

func snapshot(change, status string, cancel bool, at time.Time) RecordSubscriptionChange {
	return RecordSubscriptionChange{SubscriptionID: "sub_1", Change: change, Status: status, AccountID: accA, ProductID: plan,
		Amount: 1000, Currency: "eur", CancelAtPeriodEnd: cancel, CurrentPeriodEnd: month(1), StartedAt: t0, OccurredAt: at}
}

func must[T any](t testing.TB) func(T, Result, error) T {
	return func(v T, _ Result, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func setupSub(t *testing.T, f *fixture, affiliate string, invoices ...int) {
	must[*Subscription](t)(f.svc.RecordSubscriptionCheckout(ctxb, subCheckoutCmd(affiliate)))
	for _, n := range invoices {
		must[*Subscription](t)(f.svc.RecordInvoicePaid(ctxb, invoicePaid(n, affiliate)))
	}
}

func givenAccountAndAffiliate(rate, months int) []on {
	return append(liveAccount(), affiliateX(rate, months))
}

func loadSub(t *testing.T, f *fixture) *Subscription {
	t.Helper()
	s, err := f.svc.Subscription(ctxb, subID("sub_1"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// wantTypes checks the types of the events the case's command appended to stream.
func wantTypes(t *testing.T, f *fixture, stream string, want ...string) {
	t.Helper()
	got := eventTypes(f.store.since(f.mark)[stream])
	if len(want) == 0 && len(got) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: events %v, want %v", stream, got, want)
	}
}

// sales returns the recorded sales, by id.
func sales(t *testing.T, f *fixture) map[string]*Sale {
	out := map[string]*Sale{}
	for _, name := range f.store.streamNames("sale-") {
		s, err := f.svc.Sale(ctxb, name[len("sale-"):])
		if err != nil {
			t.Fatal(err)
		}
		out[s.ID] = s
	}
	return out
}

func TestSubscriptionFacts(t *testing.T) {
	invoice := func(n int) func(f *fixture) error {
		return func(f *fixture) error {
			_, _, err := f.svc.RecordInvoicePaid(ctxb, invoicePaid(n, affX))
			return err
		}
	}
	runGWT(t, []gwt{
		{
			name:  "checkout_starts_the_subscription_and_makes_no_sale",
			given: liveAccount(),
			when: func(f *fixture) error {
				_, _, err := f.svc.RecordSubscriptionCheckout(ctxb, subCheckoutCmd(""))
				return err
			},
			check: func(t *testing.T, f *fixture) {
				wantTypes(t, f, SubscriptionStream(subID("sub_1")), "subscription.checkout_completed.v1", "subscription.started.v1", "subscription.stripe_linked.v1")
				wantTypes(t, f, AccountStream(accA), "account.subscription_noted.v1")
				if n := len(f.store.streamNames("sale-")); n != 0 {
					t.Fatalf("%d sales", n)
				}
				want := SubscriptionView{AccountID: accA, ProductID: plan, Status: SubscriptionStatusActive, Amount: 1000, Currency: "eur", StartedAt: t0}
				if v := loadSub(t, f).View(); v != want {
					t.Fatalf("view %+v, want %+v", v, want)
				}
				evs := f.store.since(f.mark)[SubscriptionStream(subID("sub_1"))]
				if ev := evs[1].(SubscriptionStarted); ev.View != want || ev.StripeSubscriptionID != "" {
					t.Fatalf("started %+v: the Stripe id must not stand in plain", ev)
				}
				if ev := evs[2].(SubscriptionStripeLinked); ev.StripeSubscriptionID != "sub_1" || ev.DataSubject() != accA {
					t.Fatalf("linked %+v: the Stripe id is kept under the account's key", ev)
				}
				if got := loadSub(t, f).StripeSubscriptionID; got != "sub_1" {
					t.Fatalf("the aggregate's Stripe id is %q", got)
				}
			},
		},
		{
			name:  "first_invoice_makes_one_sale_with_its_commission",
			given: givenAccountAndAffiliate(2000, 0),
			setup: func(t *testing.T, f *fixture) { setupSub(t, f, affX) },
			when:  invoice(0),
			check: func(t *testing.T, f *fixture) {
				s := sales(t, f)[saleIDOf("pi_in_0")]
				if s == nil || s.Kind != SaleKindSale || !s.Earned || s.Commission != 200 || s.Source != SaleSourceSubscription {
					t.Fatalf("sale %+v", s)
				}
				v := loadSub(t, f).View()
				if !v.CurrentPeriodEnd.Equal(month(1)) || v.Status != SubscriptionStatusActive {
					t.Fatalf("view %+v", v)
				}
			},
		},
		{
			name:  "first_payment_as_checkout_and_invoice_and_their_duplicates_counts_once",
			given: givenAccountAndAffiliate(2000, 0),
			setup: func(t *testing.T, f *fixture) { setupSub(t, f, affX, 0) },
			when: func(f *fixture) error {
				if _, _, err := f.svc.RecordSubscriptionCheckout(ctxb, subCheckoutCmd(affX)); err != nil {
					return err
				}
				return invoice(0)(f)
			},
			then: nil,
			check: func(t *testing.T, f *fixture) {
				if n := len(sales(t, f)); n != 1 {
					t.Fatalf("%d sales", n)
				}
			},
		},
		{
			name:  "renewal_paid_on_the_day_recurring_months_end_earns_and_a_later_one_does_not",
			given: givenAccountAndAffiliate(2000, 2),
			setup: func(t *testing.T, f *fixture) { setupSub(t, f, affX, 0, 1, 2) },
			when:  invoice(3),
			check: func(t *testing.T, f *fixture) {
				all := sales(t, f)
				// Invoice 2 is paid exactly two months after the first
				// payment: "no later than" includes that instant.
				for n, want := range []bool{true, true, true, false} {
					s := all[saleIDOf(fmt.Sprintf("pi_in_%d", n))]
					if s == nil || s.Earned != want {
						t.Fatalf("invoice %d: sale %+v, want earned %v", n, s, want)
					}
				}
				if all[saleIDOf("pi_in_1")].Kind != SaleKindRenewal || all[saleIDOf("pi_in_0")].Kind != SaleKindSale {
					t.Fatal("the first payment is not the sale, or the second not a renewal")
				}
			},
		},
		{
			name:  "payment_known_before_an_earlier_one_is_the_sale_until_the_earlier_arrives",
			given: givenAccountAndAffiliate(2000, 12),
			setup: func(t *testing.T, f *fixture) {
				must[*Subscription](t)(f.svc.RecordInvoicePaid(ctxb, invoicePaid(1, affX)))
				if s := sales(t, f)[saleIDOf("pi_in_1")]; s == nil || s.Kind != SaleKindSale || !s.Earned {
					t.Fatalf("the only payment known is not the earning sale: %+v", s)
				}
			},
			when: invoice(0),
			check: func(t *testing.T, f *fixture) {
				all := sales(t, f)
				for n, kind := range []SaleKind{SaleKindSale, SaleKindRenewal} {
					if s := all[saleIDOf(fmt.Sprintf("pi_in_%d", n))]; !s.Earned || s.Kind != kind {
						t.Fatalf("invoice %d: %+v, want earned %s", n, s, kind)
					}
				}
				if a := loadSub(t, f).AnchorAt; !a.Equal(month(0).Add(time.Minute)) {
					t.Fatalf("window starts at %s, want the first payment's time", a)
				}
			},
		},
		{
			name:  "earlier_payment_arriving_late_withdraws_a_commission_now_outside_the_window",
			given: givenAccountAndAffiliate(2000, 1),
			setup: func(t *testing.T, f *fixture) {
				must[*Subscription](t)(f.svc.RecordInvoicePaid(ctxb, invoicePaid(2, affX)))
				must[*Subscription](t)(f.svc.RecordInvoicePaid(ctxb, invoicePaid(1, affX)))
				must[*Sale](t)(f.svc.RecordRefund(ctxb, RecordRefund{ChargeID: "ch_2", PaymentIntentID: "pi_in_2", AmountRefundedTotal: 500,
					Currency: "eur", OccurredAt: month(2).Add(time.Hour)}))
				if s := sales(t, f)[saleIDOf("pi_in_2")]; !s.Earned || len(s.Reversals) != 1 {
					t.Fatalf("invoice 2 before the first payment is known: %+v", s)
				}
			},
			when: invoice(0),
			check: func(t *testing.T, f *fixture) {
				all := sales(t, f)
				for n, want := range []bool{true, true, false} {
					if s := all[saleIDOf(fmt.Sprintf("pi_in_%d", n))]; s.Earned != want {
						t.Fatalf("invoice %d: %+v, want earned %v", n, s, want)
					}
				}
				if s := all[saleIDOf("pi_in_2")]; s.Kind != SaleKindRenewal || s.Reversals != nil || s.Commission != 0 || s.AffiliateID != "" {
					t.Fatalf("withdrawn commission left %+v", s)
				}
				wantTypes(t, f, SaleStream(saleIDOf("pi_in_1")), SaleReclassified{}.EventType())
				wantTypes(t, f, SaleStream(saleIDOf("pi_in_2")), CommissionReversalAdjusted{}.EventType(), CommissionWithdrawn{}.EventType())
			},
		},
		{
			name:  "trial_invoice_of_zero_makes_no_sale_and_the_first_paid_invoice_is_the_sale",
			given: givenAccountAndAffiliate(2000, 1),
			setup: func(t *testing.T, f *fixture) {
				trial := invoicePaid(0, affX)
				trial.Amount, trial.PaymentIntentID = 0, ""
				must[*Subscription](t)(f.svc.RecordInvoicePaid(ctxb, trial))
				setupSub(t, f, affX, 1, 2)
			},
			when: invoice(3),
			check: func(t *testing.T, f *fixture) {
				all := sales(t, f)
				if len(all) != 3 {
					t.Fatalf("%d sales, want 3 (none for the trial)", len(all))
				}
				for n, want := range map[int]struct {
					kind   SaleKind
					earned bool
				}{1: {SaleKindSale, true}, 2: {SaleKindRenewal, true}, 3: {SaleKindRenewal, false}} {
					if s := all[saleIDOf(fmt.Sprintf("pi_in_%d", n))]; s.Kind != want.kind || s.Earned != want.earned {
						t.Fatalf("invoice %d: %+v, want %+v", n, s, want)
					}
				}
			},
		},
		{
			name:  "window_from_a_payment_on_january_31_ends_on_the_last_day_of_february",
			given: givenAccountAndAffiliate(2000, 1),
			setup: func(t *testing.T, f *fixture) {
				for n, at := range []time.Time{
					time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC),
					time.Date(2026, 2, 28, 10, 0, 0, 0, time.UTC),
				} {
					cmd := invoicePaid(n, affX)
					cmd.PeriodStart, cmd.PeriodEnd, cmd.OccurredAt = at, at.AddDate(0, 0, 28), at
					must[*Subscription](t)(f.svc.RecordInvoicePaid(ctxb, cmd))
				}
			},
			when: func(f *fixture) error {
				// Go's AddDate gives March 3; the clamped month ends on
				// February 28 at 10:00.
				cmd := invoicePaid(2, affX)
				at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
				cmd.PeriodStart, cmd.PeriodEnd, cmd.OccurredAt = at, at.AddDate(0, 1, 0), at
				_, _, err := f.svc.RecordInvoicePaid(ctxb, cmd)
				return err
			},
			check: func(t *testing.T, f *fixture) {
				all := sales(t, f)
				for n, want := range []bool{true, true, false} {
					if s := all[saleIDOf(fmt.Sprintf("pi_in_%d", n))]; s.Earned != want {
						t.Fatalf("invoice %d: %+v, want earned %v", n, s, want)
					}
				}
			},
		},
		{
			name:  "zero_amount_trial_invoice_makes_no_sale",
			given: givenAccountAndAffiliate(2000, 12),
			when: func(f *fixture) error {
				cmd := invoicePaid(0, affX)
				cmd.Amount, cmd.PaymentIntentID = 0, ""
				_, _, err := f.svc.RecordInvoicePaid(ctxb, cmd)
				return err
			},
			check: func(t *testing.T, f *fixture) {
				if n := len(sales(t, f)); n != 0 {
					t.Fatalf("%d sales", n)
				}
				if loadSub(t, f).Paid {
					t.Fatal("a free invoice made the subscription paid")
				}
			},
		},
		{
			name:  "failed_payment_makes_it_past_due_without_cutting_the_paid_period",
			given: liveAccount(),
			setup: func(t *testing.T, f *fixture) { setupSub(t, f, "", 0) },
			when: func(f *fixture) error {
				_, _, err := f.svc.RecordInvoicePaymentFailed(ctxb, RecordInvoicePaymentFailed{InvoiceID: "in_1", SubscriptionID: "sub_1", OccurredAt: month(1)})
				return err
			},
			check: func(t *testing.T, f *fixture) {
				s := loadSub(t, f)
				if s.Status != SubscriptionStatusPastDue || !s.CurrentPeriodEnd.Equal(month(1)) {
					t.Fatalf("view %+v", s.View())
				}
				if !s.HasAccess(month(1).Add(-time.Hour)) || s.HasAccess(month(1).Add(time.Hour)) {
					t.Fatal("access should last exactly through the paid period")
				}
			},
		},
		{
			name:  "past_due_keeps_access_through_the_paid_period_only_even_when_stripe_shows_the_next_one",
			given: liveAccount(),
			setup: func(t *testing.T, f *fixture) { setupSub(t, f, "", 0) },
			when: func(f *fixture) error {
				if _, _, err := f.svc.RecordInvoicePaymentFailed(ctxb, RecordInvoicePaymentFailed{InvoiceID: "in_1", SubscriptionID: "sub_1", OccurredAt: month(1)}); err != nil {
					return err
				}
				next := snapshot(StripeChangeUpdated, "past_due", false, month(1).Add(time.Minute))
				next.CurrentPeriodEnd = month(2)
				_, _, err := f.svc.RecordSubscriptionChange(ctxb, next)
				return err
			},
			check: func(t *testing.T, f *fixture) {
				s := loadSub(t, f)
				if s.Status != SubscriptionStatusPastDue || !s.PaidThrough().Equal(month(1)) {
					t.Fatalf("status %s, paid through %v; want past_due through %v", s.Status, s.PaidThrough(), month(1))
				}
				if !s.HasAccess(month(1).Add(-time.Hour)) || s.HasAccess(month(1).Add(10*24*time.Hour)) {
					t.Fatal("access should last through the paid period and not into the unpaid one")
				}
			},
		},
		{
			name:  "paying_the_failed_invoice_makes_it_active_again",
			given: liveAccount(),
			setup: func(t *testing.T, f *fixture) {
				setupSub(t, f, "", 0)
				must[*Subscription](t)(f.svc.RecordInvoicePaymentFailed(ctxb, RecordInvoicePaymentFailed{InvoiceID: "in_1", SubscriptionID: "sub_1", OccurredAt: month(1)}))
			},
			when: invoice(1),
			check: func(t *testing.T, f *fixture) {
				if s := loadSub(t, f); s.Status != SubscriptionStatusActive || !s.CurrentPeriodEnd.Equal(month(2)) {
					t.Fatalf("view %+v", s.View())
				}
			},
		},
		{
			name:  "plan_change_from_stripe_records_plan_changed",
			given: liveAccount(),
			setup: func(t *testing.T, f *fixture) { setupSub(t, f, "", 0) },
			when: func(f *fixture) error {
				c := snapshot(StripeChangeUpdated, "active", false, t0.Add(time.Hour))
				c.ProductID, c.Amount = "plan_team", 3000
				_, _, err := f.svc.RecordSubscriptionChange(ctxb, c)
				return err
			},
			check: func(t *testing.T, f *fixture) {
				wantTypes(t, f, SubscriptionStream(subID("sub_1")), "subscription.synced.v1", "subscription.plan_changed.v1")
				if s := loadSub(t, f); s.ProductID != "plan_team" || s.Amount != 3000 {
					t.Fatalf("view %+v", s.View())
				}
			},
		},
		{
			name:  "stale_snapshot_does_not_undo_a_newer_plan_or_cancellation",
			given: liveAccount(),
			setup: func(t *testing.T, f *fixture) {
				setupSub(t, f, "", 0)
				must[*Subscription](t)(f.svc.CancelSubscription(ctxb, CancelSubscription{SubscriptionID: subID("sub_1"), AtPeriodEnd: true}))
			},
			when: func(f *fixture) error {
				_, _, err := f.svc.RecordSubscriptionChange(ctxb, snapshot(StripeChangeCreated, "active", false, t0))
				return err
			},
			check: func(t *testing.T, f *fixture) {
				if s := loadSub(t, f); !s.CancelAtPeriodEnd {
					t.Fatalf("older snapshot undid the cancellation: %+v", s.View())
				}
			},
		},
		{
			name:  "deletion_by_stripe_ends_it_and_schedules_the_account_erasure",
			given: liveAccount(),
			setup: func(t *testing.T, f *fixture) { setupSub(t, f, "", 0) },
			when: func(f *fixture) error {
				c := snapshot(StripeChangeDeleted, "canceled", false, month(1))
				c.EndedAt = month(1)
				_, _, err := f.svc.RecordSubscriptionChange(ctxb, c)
				return err
			},
			check: func(t *testing.T, f *fixture) {
				wantTypes(t, f, SubscriptionStream(subID("sub_1")), "subscription.synced.v1", "subscription.ended.v1")
				s := loadSub(t, f)
				if s.Status != SubscriptionStatusEnded || !s.EndedAt.Equal(month(1)) || s.HasAccess(month(1)) {
					t.Fatalf("view %+v", s.View())
				}
				a, _ := f.svc.Account(ctxb, accA)
				if !a.ErasureDueAt.Equal(month(1).Add(testGrace)) {
					t.Fatalf("erasure due %v, want %v", a.ErasureDueAt, month(1).Add(testGrace))
				}
			},
		},
		{
			name:  "end_of_a_never_paid_subscription_schedules_no_erasure",
			given: liveAccount(),
			setup: func(t *testing.T, f *fixture) { setupSub(t, f, "") },
			when: func(f *fixture) error {
				_, _, err := f.svc.RecordSubscriptionChange(ctxb, snapshot(StripeChangeDeleted, "canceled", false, month(1)))
				return err
			},
			check: func(t *testing.T, f *fixture) {
				if a, _ := f.svc.Account(ctxb, accA); !a.ErasureDueAt.IsZero() {
					t.Fatalf("erasure scheduled at %v", a.ErasureDueAt)
				}
			},
		},
		{
			name: "a_new_subscription_unschedules_the_erasure",
			given: append(liveAccount(), on{AccountStream(accA), []Event{
				AccountSubscriptionNoted{AccountID: accA, SubscriptionID: "old", Note: SubscriptionNote{Paid: true, Ended: true, EndedAt: t0}},
				AccountErasureScheduled{AccountID: accA, DueAt: t0.Add(testGrace)},
			}}),
			when: func(f *fixture) error {
				_, _, err := f.svc.RecordSubscriptionCheckout(ctxb, subCheckoutCmd(""))
				return err
			},
			check: func(t *testing.T, f *fixture) {
				wantTypes(t, f, AccountStream(accA), "account.subscription_noted.v1", "account.erasure_unscheduled.v1")
			},
		},
		{
			name:  "snapshot_with_an_unknown_change_is_refused",
			given: liveAccount(),
			when: func(f *fixture) error {
				_, _, err := f.svc.RecordSubscriptionChange(ctxb, snapshot("paused", "active", false, t0))
				return err
			},
			code: CodeValidationFailed,
		},
		{
			name: "invoice_without_product_is_refused",
			when: func(f *fixture) error {
				c := invoicePaid(0, "")
				c.ProductID = ""
				_, _, err := f.svc.RecordInvoicePaid(ctxb, c)
				return err
			},
			code: CodeValidationFailed,
		},
	})
}

func TestSubscriptionCustomerCommands(t *testing.T) {
	id := subID("sub_1")
	cancel := func(atPeriodEnd bool) func(f *fixture) error {
		return func(f *fixture) error {
			_, _, err := f.svc.CancelSubscription(ctxb, CancelSubscription{SubscriptionID: id, AtPeriodEnd: atPeriodEnd})
			return err
		}
	}
	reactivate := func(f *fixture) error {
		_, _, err := f.svc.ReactivateSubscription(ctxb, ReactivateSubscription{SubscriptionID: id})
		return err
	}
	paid := func(t *testing.T, f *fixture) { setupSub(t, f, "", 0) }
	cancelled := func(t *testing.T, f *fixture) {
		setupSub(t, f, "", 0)
		must[*Subscription](t)(f.svc.CancelSubscription(ctxb, CancelSubscription{SubscriptionID: id, AtPeriodEnd: true}))
	}
	ended := func(t *testing.T, f *fixture) {
		setupSub(t, f, "", 0)
		must[*Subscription](t)(f.svc.CancelSubscription(ctxb, CancelSubscription{SubscriptionID: id}))
	}
	runGWT(t, []gwt{
		{
			name:  "cancellation_at_period_end_keeps_access_until_then",
			given: liveAccount(),
			setup: paid,
			when:  cancel(true),
			check: func(t *testing.T, f *fixture) {
				wantTypes(t, f, SubscriptionStream(id), "subscription.cancellation_requested.v1")
				s := loadSub(t, f)
				if !s.CancelAtPeriodEnd || s.Status != SubscriptionStatusActive || !s.HasAccess(month(1).Add(-time.Second)) {
					t.Fatalf("view %+v", s.View())
				}
				ev := f.store.since(f.mark)[SubscriptionStream(id)][0].(SubscriptionCancellationRequested)
				if !ev.View.CancelAtPeriodEnd || !ev.RequestedAt.Equal(testStart) {
					t.Fatalf("event %+v", ev)
				}
			},
		},
		{
			name:  "cancelling_at_period_end_twice_records_nothing",
			given: liveAccount(),
			setup: cancelled,
			when:  cancel(true),
			then:  nil,
		},
		{
			name:  "cancellation_now_ends_it_and_schedules_erasure_after_the_grace",
			given: liveAccount(),
			setup: paid,
			when:  cancel(false),
			check: func(t *testing.T, f *fixture) {
				wantTypes(t, f, SubscriptionStream(id), "subscription.canceled.v1", "subscription.ended.v1")
				if s := loadSub(t, f); s.Status != SubscriptionStatusEnded || !s.EndedAt.Equal(testStart) {
					t.Fatalf("view %+v", s.View())
				}
				if a, _ := f.svc.Account(ctxb, accA); !a.ErasureDueAt.Equal(testStart.Add(testGrace)) {
					t.Fatalf("erasure due %v", a.ErasureDueAt)
				}
			},
		},
		{
			name:  "cancelling_an_ended_subscription_now_records_nothing",
			given: liveAccount(),
			setup: ended,
			when:  cancel(false),
			then:  nil,
		},
		{
			name:  "cancelling_an_ended_subscription_at_period_end_is_refused",
			given: liveAccount(),
			setup: ended,
			when:  cancel(true),
			code:  CodeSubscriptionEnded,
		},
		{
			name: "cancelling_an_unknown_subscription_is_not_found",
			when: cancel(true),
			code: CodeNotFound,
		},
		{
			name:  "reactivation_before_the_period_ends_withdraws_the_cancellation",
			given: liveAccount(),
			setup: cancelled,
			at:    testStart.Add(time.Hour),
			when:  reactivate,
			check: func(t *testing.T, f *fixture) {
				wantTypes(t, f, SubscriptionStream(id), "subscription.reactivated.v1")
				if s := loadSub(t, f); s.CancelAtPeriodEnd {
					t.Fatalf("view %+v", s.View())
				}
			},
		},
		{
			name:  "reactivating_what_is_not_cancelled_records_nothing",
			given: liveAccount(),
			setup: paid,
			when:  reactivate,
			then:  nil,
		},
		{
			name:  "reactivation_after_the_period_is_refused",
			given: liveAccount(),
			setup: cancelled,
			at:    month(1),
			when:  reactivate,
			code:  CodePeriodOver,
		},
		{
			name:  "reactivating_an_ended_subscription_is_refused",
			given: liveAccount(),
			setup: ended,
			when:  reactivate,
			code:  CodeSubscriptionEnded,
		},
	})
}
