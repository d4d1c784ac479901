package stripe

import (
	"context"
	"errors"

	"github.com/aseptsoft/subledger/domain"
)

// Webhooks handles one webhook delivery: verify, then apply. Its errors are
// the domain's, so the API maps them to statuses in its one table: a body no
// secret verifies is 400 invalid_signature, a verified body that is not an
// event subledger can read (or that the domain refuses) is 400
// malformed_event, and anything else (the store, a conflict after the
// retries) is an internal error, a 5xx that Stripe retries.
type Webhooks struct {
	Verifier *Verifier
	Applier  *Applier
}

// Handle verifies and applies a delivery. It returns the global position
// the projections must reach before the delivery is acknowledged, and
// whether the event was ignored (another system's, a type subledger does
// not handle) or a duplicate, for the log.
func (w *Webhooks) Handle(ctx context.Context, payload []byte, signature string) (uint64, string, error) {
	ev, err := w.Verifier.Verify(payload, signature)
	if err != nil {
		return 0, "", webhookError(err)
	}
	out, err := w.Applier.Apply(ctx, ev)
	if err != nil {
		return 0, "", webhookError(err)
	}
	note := ev.Type
	switch {
	case out.Duplicate:
		note += " (duplicate)"
	case out.Ignored != "":
		note += " (ignored: " + string(out.Ignored) + ")"
	}
	return out.Position, note, nil
}

// webhookError turns the package's errors into the domain's kinds. The
// messages name no Stripe id and quote nothing of the body.
func webhookError(err error) error {
	switch {
	case errors.Is(err, ErrInvalidSignature):
		return &domain.Error{Kind: domain.KindMalformed, Code: domain.CodeInvalidSignature,
			Message: "no configured endpoint secret verifies the Stripe-Signature header (or its time is outside the 300 s tolerance)"}
	case errors.Is(err, ErrMalformedEvent):
		return &domain.Error{Kind: domain.KindMalformed, Code: domain.CodeMalformedEvent, Message: "the body is not a Stripe event subledger can apply"}
	}
	return err
}
