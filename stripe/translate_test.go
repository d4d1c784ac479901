package stripe_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/stripe"
)

var translator = stripe.NewTranslator(domain.ExampleCatalog())

var (
	licenseSold = domain.RecordCheckoutPaid{SessionID: licenseSession, PaymentIntentID: licensePI, AccountID: accountID,
		ProductID: "app-license", Quantity: 3, AffiliateID: affiliateID, Amount: 14700, Currency: "usd", OccurredAt: jan5}
	firstPaid = domain.RecordInvoicePaid{InvoiceID: firstInvoice, SubscriptionID: stripeSub, PaymentIntentID: firstPI,
		BillingReason: "subscription_create", AccountID: accountID, ProductID: "pro-monthly", AffiliateID: affiliateID,
		Amount: 900, Currency: "usd", PeriodStart: jan5, PeriodEnd: feb5, OccurredAt: jan5.Add(10 * time.Second)}
	subCreated = domain.RecordSubscriptionChange{SubscriptionID: stripeSub, Change: domain.StripeChangeCreated, Status: "active",
		AccountID: accountID, ProductID: "pro-monthly", AffiliateID: affiliateID, Amount: 900, Currency: "usd",
		CurrentPeriodEnd: feb5, StartedAt: jan5, OccurredAt: jan5.Add(3 * time.Second)}
	refunded = domain.RecordRefund{ChargeID: licenseCharge, PaymentIntentID: licensePI, AmountRefundedTotal: 4900,
		Currency: "usd", OccurredAt: jan20}
	disputeOpened = domain.RecordDispute{DisputeID: disputeID, PaymentIntentID: firstPI, Amount: 900, Currency: "usd",
		Status: "needs_response", OpenedAt: feb10}
)

// with returns c changed by f.
func with[C any](c C, f func(*C)) C {
	f(&c)
	return c
}

func TestTranslate(t *testing.T) {
	invoiceMeta := func(value any) []edit {
		return []edit{set("data.object.subscription_details.metadata", value), set("data.object.lines.data.0.metadata", value)}
	}
	tests := []struct {
		name      string
		file      string
		edits     []edit
		noCatalog bool
		want      any // the command; nil: ignored
		tie       stripe.Tie
		ref       stripe.Ref
		ignored   stripe.IgnoreReason
		malformed bool
	}{
		// checkout.session.completed and .async_payment_succeeded
		{name: "a paid license checkout is a license sale", file: "checkout.session.completed.payment",
			want: licenseSold, tie: stripe.TieMetadata},
		{name: "a license checkout without quantity metadata sells one seat", file: "checkout.session.completed.payment",
			edits: []edit{set("data.object.metadata.quantity", remove)},
			want:  with(licenseSold, func(c *domain.RecordCheckoutPaid) { c.Quantity = 1 }), tie: stripe.TieMetadata},
		{name: "a license checkout without affiliate is a sale without affiliate", file: "checkout.session.completed.payment",
			edits: []edit{set("data.object.metadata.affiliate_id", remove)},
			want:  with(licenseSold, func(c *domain.RecordCheckoutPaid) { c.AffiliateID = "" }), tie: stripe.TieMetadata},
		{name: "a free license checkout (no payment required) is a sale of 0 without payment intent", file: "checkout.session.completed.payment",
			edits: []edit{set("data.object.payment_status", "no_payment_required"), set("data.object.amount_total", 0), set("data.object.payment_intent", nil)},
			want:  with(licenseSold, func(c *domain.RecordCheckoutPaid) { c.Amount, c.PaymentIntentID = 0, "" }), tie: stripe.TieMetadata},
		{name: "an unpaid license checkout waits for its async payment", file: "checkout.session.completed.unpaid",
			ignored: stripe.IgnoredNotPaid},
		{name: "an async payment that succeeded is the license sale, at its own time", file: "checkout.session.async_payment_succeeded",
			want: with(licenseSold, func(c *domain.RecordCheckoutPaid) { c.OccurredAt = jan5.Add(72 * time.Hour) }), tie: stripe.TieMetadata},
		{name: "a subscription checkout starts the subscription", file: "checkout.session.completed.subscription",
			want: domain.RecordSubscriptionCheckout{SessionID: subSession, SubscriptionID: stripeSub, AccountID: accountID,
				ProductID: "pro-monthly", AffiliateID: affiliateID, Amount: 900, Currency: "usd", OccurredAt: jan5.Add(5 * time.Second)},
			tie: stripe.TieMetadata},
		{name: "a setup checkout is ignored", file: "checkout.session.completed.subscription",
			edits: []edit{set("data.object.mode", "setup")}, ignored: stripe.IgnoredMode},
		{name: "a checkout without our metadata is another system's", file: "checkout.session.completed.payment",
			edits: []edit{set("data.object.metadata", map[string]any{})}, ignored: stripe.IgnoredNotOurs},
		{name: "a checkout with null metadata is another system's", file: "checkout.session.completed.payment",
			edits: []edit{set("data.object.metadata", nil)}, ignored: stripe.IgnoredNotOurs},
		{name: "a quantity that is not a number is malformed", file: "checkout.session.completed.payment",
			edits: []edit{set("data.object.metadata.quantity", "three")}, malformed: true},
		{name: "an amount that is not a number is malformed", file: "checkout.session.completed.payment",
			edits: []edit{set("data.object.amount_total", "lots")}, malformed: true},
		{name: "a checkout event carrying an invoice is malformed", file: "checkout.session.completed.payment",
			edits: []edit{set("data.object.object", "invoice")}, malformed: true},

		// invoice.paid and invoice.payment_failed
		{name: "the first paid invoice has the line's period, not the invoice's", file: "invoice.paid.create",
			want: firstPaid, tie: stripe.TieMetadata, ref: stripe.Ref{Kind: stripe.RefSubscription, ID: stripeSub}},
		{name: "a renewal invoice is subscription_cycle", file: "invoice.paid.cycle",
			want: with(firstPaid, func(c *domain.RecordInvoicePaid) {
				c.InvoiceID, c.PaymentIntentID, c.BillingReason = cycleInvoice, cyclePI, "subscription_cycle"
				c.PeriodStart, c.PeriodEnd, c.OccurredAt = feb5, mar5, feb5.Add(time.Hour)
			}), tie: stripe.TieMetadata, ref: stripe.Ref{Kind: stripe.RefSubscription, ID: stripeSub}},
		{name: "an invoice of 0 (a trial) is recorded with amount 0", file: "invoice.paid.create",
			edits: []edit{set("data.object.amount_paid", 0), set("data.object.payment_intent", nil)},
			want:  with(firstPaid, func(c *domain.RecordInvoicePaid) { c.Amount, c.PaymentIntentID = 0, "" }),
			tie:   stripe.TieMetadata, ref: stripe.Ref{Kind: stripe.RefSubscription, ID: stripeSub}},
		{name: "a plan changed at Stripe is named by the line's price", file: "invoice.paid.cycle",
			edits: []edit{set("data.object.lines.data.0.price.id", "price_pro_yearly")},
			want: with(firstPaid, func(c *domain.RecordInvoicePaid) {
				c.InvoiceID, c.PaymentIntentID, c.BillingReason, c.ProductID = cycleInvoice, cyclePI, "subscription_cycle", "pro-yearly"
				c.PeriodStart, c.PeriodEnd, c.OccurredAt = feb5, mar5, feb5.Add(time.Hour)
			}), tie: stripe.TieMetadata, ref: stripe.Ref{Kind: stripe.RefSubscription, ID: stripeSub}},
		{name: "a price the catalogue does not list falls back to product_id metadata", file: "invoice.paid.create",
			edits: []edit{set("data.object.lines.data.0.price.id", "price_retired")},
			want:  firstPaid, tie: stripe.TieMetadata, ref: stripe.Ref{Kind: stripe.RefSubscription, ID: stripeSub}},
		{name: "without a catalogue the product is the metadata's", file: "invoice.paid.create", noCatalog: true,
			edits: []edit{set("data.object.lines.data.0.metadata.product_id", "pro-legacy"), set("data.object.subscription_details.metadata.product_id", "pro-legacy")},
			want:  with(firstPaid, func(c *domain.RecordInvoicePaid) { c.ProductID = "pro-legacy" }),
			tie:   stripe.TieMetadata, ref: stripe.Ref{Kind: stripe.RefSubscription, ID: stripeSub}},
		{name: "the line's metadata ties an invoice without subscription_details", file: "invoice.paid.create",
			edits: []edit{set("data.object.subscription_details", nil)},
			want:  firstPaid, tie: stripe.TieMetadata, ref: stripe.Ref{Kind: stripe.RefSubscription, ID: stripeSub}},
		{name: "a proration line does not stand for the plan", file: "invoice.paid.create",
			edits: []edit{set("data.object.lines.data", []any{
				map[string]any{"id": "il_proration", "object": "line_item", "type": "invoiceitem", "proration": true, "amount": -300,
					"period": map[string]any{"start": feb20.Unix(), "end": mar5.Unix()}, "metadata": map[string]any{}},
				map[string]any{"id": "il_plan", "object": "line_item", "type": "subscription", "proration": false, "amount": 900,
					"period": map[string]any{"start": jan5.Unix(), "end": feb5.Unix()}, "metadata": map[string]any{},
					"price": map[string]any{"id": "price_pro_monthly", "object": "price"}},
			})},
			want: firstPaid, tie: stripe.TieMetadata, ref: stripe.Ref{Kind: stripe.RefSubscription, ID: stripeSub}},
		{name: "an invoice without our metadata is ours only if its subscription is known", file: "invoice.paid.create",
			edits: invoiceMeta(map[string]any{}),
			want:  with(firstPaid, func(c *domain.RecordInvoicePaid) { c.AccountID, c.AffiliateID = "", "" }),
			tie:   stripe.TieIfKnown, ref: stripe.Ref{Kind: stripe.RefSubscription, ID: stripeSub}},
		{name: "an invoice without a subscription is another system's", file: "invoice.paid.create",
			edits: []edit{set("data.object.subscription", nil)}, ignored: stripe.IgnoredNotOurs},
		{name: "an invoice without lines is malformed", file: "invoice.paid.create",
			edits: []edit{set("data.object.lines.data", []any{})}, malformed: true},
		{name: "a failed invoice payment is recorded", file: "invoice.payment_failed",
			want: domain.RecordInvoicePaymentFailed{InvoiceID: thirdInvoice, SubscriptionID: stripeSub, OccurredAt: mar5.Add(time.Hour)},
			tie:  stripe.TieMetadata, ref: stripe.Ref{Kind: stripe.RefSubscription, ID: stripeSub}},
		{name: "a failed invoice payment without metadata is ours only if its subscription is known", file: "invoice.payment_failed",
			edits: invoiceMeta(nil),
			want:  domain.RecordInvoicePaymentFailed{InvoiceID: thirdInvoice, SubscriptionID: stripeSub, OccurredAt: mar5.Add(time.Hour)},
			tie:   stripe.TieIfKnown, ref: stripe.Ref{Kind: stripe.RefSubscription, ID: stripeSub}},

		// customer.subscription.*
		{name: "a created subscription is a snapshot", file: "customer.subscription.created",
			want: subCreated, tie: stripe.TieMetadata, ref: stripe.Ref{Kind: stripe.RefSubscription, ID: stripeSub}},
		{name: "the plan amount is the price times the quantity", file: "customer.subscription.created",
			edits: []edit{set("data.object.items.data.0.quantity", 3)},
			want:  with(subCreated, func(c *domain.RecordSubscriptionChange) { c.Amount = 2700 }),
			tie:   stripe.TieMetadata, ref: stripe.Ref{Kind: stripe.RefSubscription, ID: stripeSub}},
		{name: "a cancellation at period end is an updated snapshot", file: "customer.subscription.updated",
			want: with(subCreated, func(c *domain.RecordSubscriptionChange) {
				c.Change, c.CancelAtPeriodEnd, c.CurrentPeriodEnd, c.OccurredAt = domain.StripeChangeUpdated, true, mar5, feb20
			}), tie: stripe.TieMetadata, ref: stripe.Ref{Kind: stripe.RefSubscription, ID: stripeSub}},
		{name: "a past-due subscription keeps Stripe's status", file: "customer.subscription.updated",
			edits: []edit{set("data.object.status", "past_due"), set("data.object.cancel_at_period_end", false)},
			want: with(subCreated, func(c *domain.RecordSubscriptionChange) {
				c.Change, c.Status, c.CurrentPeriodEnd, c.OccurredAt = domain.StripeChangeUpdated, "past_due", mar5, feb20
			}), tie: stripe.TieMetadata, ref: stripe.Ref{Kind: stripe.RefSubscription, ID: stripeSub}},
		{name: "a deleted subscription ended at its ended_at", file: "customer.subscription.deleted",
			want: with(subCreated, func(c *domain.RecordSubscriptionChange) {
				c.Change, c.Status, c.CancelAtPeriodEnd, c.CurrentPeriodEnd = domain.StripeChangeDeleted, "canceled", true, mar5
				c.EndedAt, c.OccurredAt = mar5, mar5.Add(5*time.Second)
			}), tie: stripe.TieMetadata, ref: stripe.Ref{Kind: stripe.RefSubscription, ID: stripeSub}},
		{name: "a subscription without our metadata is ours only if known", file: "customer.subscription.created",
			edits: []edit{set("data.object.metadata", map[string]any{})},
			want: with(subCreated, func(c *domain.RecordSubscriptionChange) {
				c.AccountID, c.AffiliateID = "", ""
			}), tie: stripe.TieIfKnown, ref: stripe.Ref{Kind: stripe.RefSubscription, ID: stripeSub}},

		// charge.refunded
		{name: "a partial refund is the charge's refunded total", file: "charge.refunded",
			want: refunded, tie: stripe.TieMetadata, ref: stripe.Ref{Kind: stripe.RefPaymentIntent, ID: licensePI}},
		{name: "a second refund is the cumulative total", file: "charge.refunded.full",
			want: with(refunded, func(c *domain.RecordRefund) { c.AmountRefundedTotal, c.OccurredAt = 14700, jan20.Add(24*time.Hour) }),
			tie:  stripe.TieMetadata, ref: stripe.Ref{Kind: stripe.RefPaymentIntent, ID: licensePI}},
		{name: "a refund of an invoice's charge is kept by its payment intent", file: "charge.refunded",
			edits: []edit{set("data.object.metadata", map[string]any{}), set("data.object.invoice", firstInvoice)},
			want:  refunded, tie: stripe.TieReference, ref: stripe.Ref{Kind: stripe.RefPaymentIntent, ID: licensePI}},
		{name: "a refund without metadata or invoice is kept by its payment intent too", file: "charge.refunded",
			edits: []edit{set("data.object.metadata", map[string]any{})},
			want:  refunded, tie: stripe.TieReference, ref: stripe.Ref{Kind: stripe.RefPaymentIntent, ID: licensePI}},
		{name: "a refund of a charge without payment intent is another system's", file: "charge.refunded",
			edits: []edit{set("data.object.metadata", map[string]any{}), set("data.object.payment_intent", nil)}, ignored: stripe.IgnoredNotOurs},

		// charge.dispute.*
		{name: "an opened dispute stands at its own created time", file: "charge.dispute.created",
			want: disputeOpened, tie: stripe.TieReference, ref: stripe.Ref{Kind: stripe.RefPaymentIntent, ID: firstPI}},
		{name: "an inquiry is recorded with its warning status", file: "charge.dispute.created",
			edits: []edit{set("data.object.status", "warning_needs_response")},
			want:  with(disputeOpened, func(c *domain.RecordDispute) { c.Status = "warning_needs_response" }),
			tie:   stripe.TieReference, ref: stripe.Ref{Kind: stripe.RefPaymentIntent, ID: firstPI}},
		{name: "a lost dispute is closed, still at its opening time", file: "charge.dispute.closed",
			want: with(disputeOpened, func(c *domain.RecordDispute) { c.Status, c.Closed = "lost", true }),
			tie:  stripe.TieReference, ref: stripe.Ref{Kind: stripe.RefPaymentIntent, ID: firstPI}},
		{name: "a won dispute is closed as won", file: "charge.dispute.closed",
			edits: []edit{set("data.object.status", "won")},
			want:  with(disputeOpened, func(c *domain.RecordDispute) { c.Status, c.Closed = "won", true }),
			tie:   stripe.TieReference, ref: stripe.Ref{Kind: stripe.RefPaymentIntent, ID: firstPI}},
		{name: "a dispute of a charge without payment intent is another system's", file: "charge.dispute.created",
			edits: []edit{set("data.object.payment_intent", nil)}, ignored: stripe.IgnoredNotOurs},

		// others
		{name: "an unhandled type is ignored", file: "payment_intent.succeeded", ignored: stripe.IgnoredType},
		{name: "an unhandled type whose members read otherwise than the handled types' is ignored", file: "payment_intent.succeeded",
			edits: []edit{set("data.object.lines", "a string where an invoice has a list"), set("data.object.subscription", 7)}, ignored: stripe.IgnoredType},
		{name: "a subscription whose items do not read as a list is malformed", file: "customer.subscription.updated",
			edits: []edit{set("data.object.items", "three")}, malformed: true},
		{name: "an event of a connected account is another system's", file: "charge.refunded",
			edits: []edit{set("account", "acct_1PLq2ZrConnected")}, ignored: stripe.IgnoredNotOurs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := translator
			if tt.noCatalog {
				tr = nil // a nil *Translator takes products from metadata
			}
			// A malformed object is refused by the Verifier's read or
			// by the Translator: either way before the domain sees it.
			ev, err := verified(t, payload(t, tt.file, tt.edits...))
			var f stripe.Fact
			if err == nil {
				f, err = tr.Translate(ev)
			}
			if tt.malformed {
				if !errors.Is(err, stripe.ErrMalformedEvent) {
					t.Fatalf("Translate: got %v, want a malformed event", err)
				}
				assertNoPersonalData(t, err)
				return
			}
			if err != nil {
				t.Fatalf("Translate: %v", err)
			}
			if f.EventID != ev.ID || f.Type != string(ev.Type) || !f.CreatedAt.Equal(time.Unix(ev.Created, 0)) {
				t.Errorf("fact names event %s %s %s", f.EventID, f.Type, f.CreatedAt)
			}
			if f.Ignored != tt.ignored {
				t.Fatalf("Ignored = %q, want %q", f.Ignored, tt.ignored)
			}
			if !reflect.DeepEqual(f.Command, tt.want) {
				t.Fatalf("Command:\n got %#v\nwant %#v", f.Command, tt.want)
			}
			if f.Tie != tt.tie || f.Ref != tt.ref {
				t.Fatalf("tie %s %+v, want %s %+v", f.Tie, f.Ref, tt.tie, tt.ref)
			}
		})
	}
}

// Every handled type translates to a command of the domain; HandledTypes
// lists exactly the types API.md names.
func TestHandledTypesAreAPIsList(t *testing.T) {
	want := []string{"checkout.session.completed", "checkout.session.async_payment_succeeded", "invoice.paid",
		"invoice.payment_failed", "customer.subscription.created", "customer.subscription.updated",
		"customer.subscription.deleted", "charge.refunded", "charge.dispute.created", "charge.dispute.closed"}
	var got []string
	for _, h := range stripe.HandledTypes {
		got = append(got, string(h))
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("HandledTypes = %v", got)
	}
}

// A closed dispute's event comes days after the dispute opened: the fact
// stands at the opening (API.md: the row stands at the time it was opened).
func TestClosedDisputeStandsAtItsOpening(t *testing.T) {
	f, err := translator.Translate(event(t, payload(t, "charge.dispute.closed")))
	if err != nil {
		t.Fatal(err)
	}
	d, ok := f.Command.(domain.RecordDispute)
	if !ok || !f.CreatedAt.Equal(feb14) || !d.OpenedAt.Equal(feb10) {
		t.Fatalf("event at %s, dispute %+v", f.CreatedAt, f.Command)
	}
}
