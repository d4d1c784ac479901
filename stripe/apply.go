package stripe

import (
	"context"
	"fmt"

	"github.com/aseptsoft/subledger/domain"
)

// Applier applies verified events to the domain.
type Applier struct {
	// Service receives the facts. Required.
	Service *domain.Service
	// Translator names products by price; nil takes them from metadata.
	Translator *Translator
}

// Outcome is what applying one event did.
type Outcome struct {
	// Fact is what the event meant.
	Fact Fact
	// Ignored is why the event changed nothing but its receipt; "" when
	// its fact was applied.
	Ignored IgnoreReason
	// Duplicate reports that the event's receipt was recorded before: a
	// redelivery (its fact was applied again, which changes nothing).
	Duplicate bool
	// Position is where the last append landed (0: nothing appended); the
	// caller waits for the projections to reach it before answering.
	Position uint64
}

// Apply translates ev, a verified event, applies its fact through the
// domain unless it is ignored, and then records the event's receipt. It is
// safe to call again with the same event, in any order with other events.
//
// The error wraps ErrMalformedEvent when the event's object does not read
// as its type's or the domain refuses its fact as invalid (nothing is
// recorded, not even the receipt; the API answers 400 malformed_event).
// Any other error is a failure inside subledger (the store, a conflict
// that outlived the domain's retries): the API answers 5xx and Stripe
// retries. No error text holds personal data or a Stripe id.
func (a *Applier) Apply(ctx context.Context, ev Event) (Outcome, error) {
	f, err := a.Translator.Translate(ev)
	if err != nil {
		return Outcome{}, err
	}
	out := Outcome{Fact: f, Ignored: f.Ignored}
	if out.Ignored == "" && f.Tie == TieIfKnown {
		known, err := a.knows(ctx, f.Ref)
		if err != nil {
			return Outcome{Fact: f}, fmt.Errorf("stripe: apply %s: look up the object it refers to: %w", f.Type, err)
		}
		if !known {
			out.Ignored = IgnoredNotOurs
		}
	}
	if out.Ignored == "" {
		pos, err := a.apply(ctx, f.Command)
		if err != nil {
			return Outcome{Fact: f}, refused(f, err)
		}
		out.Position = pos
	}
	dup, res, err := a.Service.RecordStripeEvent(ctx, domain.RecordStripeEvent{EventID: f.EventID, Type: f.Type, CreatedAt: f.CreatedAt})
	if err != nil {
		return Outcome{Fact: f}, refused(f, err)
	}
	out.Duplicate = dup
	out.Position = max(out.Position, res.Position)
	return out, nil
}

// refused wraps a domain error: ErrMalformedEvent for a fact the domain
// refuses as invalid, else as it is. The domain's messages hold no
// personal data.
func refused(f Fact, err error) error {
	switch domain.ErrorKind(err) {
	case domain.KindInvalid, domain.KindMalformed:
		return fmt.Errorf("%w: the domain refused %s: %w", ErrMalformedEvent, f.Type, err)
	}
	return fmt.Errorf("stripe: apply %s: %w", f.Type, err)
}

// knows reports whether the domain already knows ref: a started
// subscription, or a sale (or facts kept for one) of a payment intent.
func (a *Applier) knows(ctx context.Context, ref Ref) (bool, error) {
	var err error
	switch ref.Kind {
	case RefSubscription:
		_, err = a.Service.Subscription(ctx, a.Service.SubscriptionIDFor(ref.ID))
	case RefPaymentIntent:
		_, err = a.Service.Sale(ctx, a.Service.SaleIDForPaymentIntent(ref.ID))
	default:
		return false, fmt.Errorf("stripe: no lookup for a %s", ref.Kind)
	}
	switch {
	case err == nil:
		return true, nil
	case domain.ErrorKind(err) == domain.KindNotFound:
		return false, nil
	}
	return false, err
}

// apply runs one domain command and returns its position.
func (a *Applier) apply(ctx context.Context, cmd any) (uint64, error) {
	var res domain.Result
	var err error
	switch c := cmd.(type) {
	case domain.RecordCheckoutPaid:
		_, res, err = a.Service.RecordCheckoutPaid(ctx, c)
	case domain.RecordSubscriptionCheckout:
		_, res, err = a.Service.RecordSubscriptionCheckout(ctx, c)
	case domain.RecordSubscriptionChange:
		_, res, err = a.Service.RecordSubscriptionChange(ctx, c)
	case domain.RecordInvoicePaid:
		_, res, err = a.Service.RecordInvoicePaid(ctx, c)
	case domain.RecordInvoicePaymentFailed:
		_, res, err = a.Service.RecordInvoicePaymentFailed(ctx, c)
	case domain.RecordRefund:
		_, res, err = a.Service.RecordRefund(ctx, c)
	case domain.RecordDispute:
		_, res, err = a.Service.RecordDispute(ctx, c)
	default:
		return 0, fmt.Errorf("stripe: no domain command for %T", cmd)
	}
	return res.Position, err
}
