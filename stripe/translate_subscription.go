// Translation of a subscription's invoices and of its snapshots.

package stripe

import (
	"fmt"
	"math"

	stripeapi "github.com/stripe/stripe-go/v76"

	"github.com/aseptsoft/subledger/domain"
)

func (t *Translator) invoice(f *Fact, ev Event) error {
	in, err := objectOf(ev, "invoice")
	if err != nil {
		return err
	}
	subID := string(in.Subscription)
	if subID == "" {
		return nil // a one-off invoice: subledger sells through Checkout only
	}
	line := subscriptionLine(in.invoiceLines())
	md := ourMetadata(invoiceSubscriptionMetadata(in), lineMetadata(line))
	f.Tie, f.Ref = TieIfKnown, Ref{Kind: RefSubscription, ID: subID}
	if md[MetaAccountID] != "" {
		f.Tie = TieMetadata
	}
	if ev.Type == string(stripeapi.EventTypeInvoicePaymentFailed) {
		f.Command = domain.RecordInvoicePaymentFailed{InvoiceID: in.ID, SubscriptionID: subID, OccurredAt: f.CreatedAt}
		return nil
	}
	if line == nil || line.Period == nil {
		return fmt.Errorf("%w: invoice of %s has no subscription line with a period", ErrMalformedEvent, ev.Type)
	}
	var priceID string
	if line.Price != nil {
		priceID = line.Price.ID
	} else if line.Plan != nil {
		priceID = line.Plan.ID
	}
	f.Command = domain.RecordInvoicePaid{InvoiceID: in.ID, SubscriptionID: subID, PaymentIntentID: string(in.PaymentIntent),
		BillingReason: in.BillingReason, AccountID: md[MetaAccountID], ProductID: t.productFor(priceID, md),
		AffiliateID: md[MetaAffiliateID], Amount: in.AmountPaid, Currency: in.Currency,
		PeriodStart: unixTime(line.Period.Start), PeriodEnd: unixTime(line.Period.End), OccurredAt: f.CreatedAt}
	return nil
}

func invoiceSubscriptionMetadata(in *object) map[string]string {
	if in.SubscriptionDetails == nil {
		return nil
	}
	return in.SubscriptionDetails.Metadata
}

func lineMetadata(l *invoiceLine) map[string]string {
	if l == nil || l.Type != string(stripeapi.InvoiceLineItemTypeSubscription) {
		return nil
	}
	return l.Metadata
}

// subscriptionLine returns the invoice's line for the subscription's plan:
// a subscription line that is not a proration, else any subscription line,
// else the first line with a period.
func subscriptionLine(lines []*invoiceLine) *invoiceLine {
	var anySub, anyPeriod *invoiceLine
	for _, l := range lines {
		if l == nil {
			continue
		}
		if l.Type == string(stripeapi.InvoiceLineItemTypeSubscription) {
			if !l.Proration {
				return l
			}
			if anySub == nil {
				anySub = l
			}
		}
		if anyPeriod == nil && l.Period != nil {
			anyPeriod = l
		}
	}
	if anySub != nil {
		return anySub
	}
	return anyPeriod
}

func (t *Translator) subscription(f *Fact, ev Event) error {
	s, err := objectOf(ev, "subscription")
	if err != nil {
		return err
	}
	f.Tie, f.Ref = TieIfKnown, Ref{Kind: RefSubscription, ID: s.ID}
	if s.Metadata[MetaAccountID] != "" {
		f.Tie = TieMetadata
	}
	amount, priceID, ok := planAmount(s.subscriptionItems())
	if !ok {
		return fmt.Errorf("%w: the plan amount of %s is out of range", ErrMalformedEvent, ev.Type)
	}
	change := domain.StripeChangeUpdated
	switch stripeapi.EventType(ev.Type) {
	case stripeapi.EventTypeCustomerSubscriptionCreated:
		change = domain.StripeChangeCreated
	case stripeapi.EventTypeCustomerSubscriptionDeleted:
		change = domain.StripeChangeDeleted
	}
	md := s.Metadata
	f.Command = domain.RecordSubscriptionChange{SubscriptionID: s.ID, Change: change, Status: s.Status,
		AccountID: md[MetaAccountID], ProductID: t.productFor(priceID, md), AffiliateID: md[MetaAffiliateID],
		Amount: amount, Currency: s.Currency, CancelAtPeriodEnd: s.CancelAtPeriodEnd,
		CurrentPeriodEnd: unixTime(s.CurrentPeriodEnd), StartedAt: unixTime(s.StartDate), EndedAt: unixTime(s.EndedAt),
		OccurredAt: f.CreatedAt}
	return nil
}

// planAmount returns the sum of each item's unit price times its quantity,
// and the first item's price id; ok is false on overflow.
func planAmount(items []*subscriptionItem) (amount int64, priceID string, ok bool) {
	for _, it := range items {
		if it == nil {
			continue
		}
		var unit int64
		var id string
		switch {
		case it.Price != nil:
			unit, id = it.Price.UnitAmount, it.Price.ID
		case it.Plan != nil:
			unit, id = it.Plan.Amount, it.Plan.ID
		}
		if priceID == "" {
			priceID = id
		}
		if unit < 0 || it.Quantity < 0 || (it.Quantity > 0 && unit > (math.MaxInt64-amount)/it.Quantity) {
			return 0, "", false
		}
		amount += unit * it.Quantity
	}
	return amount, priceID, true
}
