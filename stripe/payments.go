package stripe

import (
	"context"
	"errors"

	"github.com/aseptsoft/subledger/domain"
)

// Payments is the API's view of the Client: the calls it makes for
// checkout and cancellation, with every failure a domain error of kind
// KindUpstream (502 stripe_unavailable) whose message names no Stripe id.
type Payments struct {
	Client *Client
}

// CreateCustomer creates the account's Stripe customer.
func (p Payments) CreateCustomer(ctx context.Context, idempotencyKey, accountID string) (string, error) {
	id, err := p.Client.CreateCustomer(ctx, idempotencyKey, accountID)
	return id, upstream(err)
}

// CreateCheckoutSession creates a Checkout Session.
func (p Payments) CreateCheckoutSession(ctx context.Context, idempotencyKey string, c domain.Checkout) (string, string, error) {
	s, err := p.Client.CreateCheckoutSession(ctx, idempotencyKey, c)
	return s.ID, s.URL, upstream(err)
}

// CancelSubscription cancels at period end or at once.
func (p Payments) CancelSubscription(ctx context.Context, idempotencyKey, subscriptionID string, atPeriodEnd bool) error {
	return upstream(p.Client.CancelSubscription(ctx, idempotencyKey, subscriptionID, atPeriodEnd))
}

// ReactivateSubscription withdraws a cancellation at period end.
func (p Payments) ReactivateSubscription(ctx context.Context, idempotencyKey, subscriptionID string) error {
	return upstream(p.Client.ReactivateSubscription(ctx, idempotencyKey, subscriptionID))
}

// upstream turns a Client error into the domain's: Stripe unreachable or
// refusing is 502 stripe_unavailable either way (a refusal is a
// configuration problem of ours, such as a price id Stripe does not know).
func upstream(err error) error {
	if err == nil {
		return nil
	}
	msg := "Stripe could not be reached; try again"
	if errors.Is(err, ErrRejected) {
		msg = "Stripe refused the call"
	}
	return &domain.Error{Kind: domain.KindUpstream, Code: domain.CodeStripeUnavailable, Message: msg, Err: err}
}
