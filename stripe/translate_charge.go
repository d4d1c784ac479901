// Translation of a charge's refunds and disputes.

package stripe

import (
	stripeapi "github.com/stripe/stripe-go/v76"

	"github.com/aseptsoft/subledger/domain"
)

func translateRefund(f *Fact, ev Event) error {
	c, err := objectOf(ev, "charge")
	if err != nil {
		return err
	}
	pi := string(c.PaymentIntent)
	if pi == "" {
		return nil // not a Checkout payment: not ours
	}
	// Without our metadata (an invoice's charge, whose payment intent
	// carries none; or a charge that did not inherit its payment intent's)
	// the refund may be of a payment subledger will only learn of later:
	// it is kept by its payment intent, as the domain keeps it.
	f.Tie, f.Ref = TieReference, Ref{Kind: RefPaymentIntent, ID: pi}
	if c.Metadata[MetaAccountID] != "" {
		f.Tie = TieMetadata
	}
	f.Command = domain.RecordRefund{ChargeID: c.ID, PaymentIntentID: pi, AmountRefundedTotal: c.AmountRefunded,
		Currency: c.Currency, OccurredAt: f.CreatedAt}
	return nil
}

func translateDispute(f *Fact, ev Event) error {
	d, err := objectOf(ev, "dispute")
	if err != nil {
		return err
	}
	pi := string(d.PaymentIntent)
	if pi == "" {
		return nil // a charge without a payment intent is not a Checkout payment
	}
	f.Tie, f.Ref = TieReference, Ref{Kind: RefPaymentIntent, ID: pi}
	closed := ev.Type == string(stripeapi.EventTypeChargeDisputeClosed)
	switch stripeapi.DisputeStatus(d.Status) {
	case stripeapi.DisputeStatusWon, stripeapi.DisputeStatusLost, stripeapi.DisputeStatusWarningClosed:
		closed = true
	}
	f.Command = domain.RecordDispute{DisputeID: d.ID, PaymentIntentID: pi, Amount: d.Amount, Currency: d.Currency,
		Status: d.Status, Closed: closed, OpenedAt: unixTime(d.Created)}
	return nil
}
