package domain

import "time"

// stripeReceipt is the aggregate of one Stripe event's receipt: whether the
// event (named by a keyed digest of its id, never the id itself) was
// received and applied.
type stripeReceipt struct {
	Received bool

	changes []Event
}

func newStripeReceipt() *stripeReceipt { return &stripeReceipt{} }

func (r *stripeReceipt) uncommitted() *[]Event { return &r.changes }

func (r *stripeReceipt) record(e Event) {
	r.apply(e)
	r.changes = append(r.changes, e)
}

// StripeEventReceived is the idempotency record of one Stripe webhook
// event. Facts are applied idempotently by their own Stripe object ids;
// this record only says that the event was received and applied. The
// Stripe event id is pseudonymous data of a person, so only its keyed
// digest is kept (EventKey, also the stream's name).
type StripeEventReceived struct {
	EventKey   string    `json:"event_key"`
	Type       string    `json:"type"`
	CreatedAt  time.Time `json:"created_at"`
	ReceivedAt time.Time `json:"received_at"`
}

// StripeEventReceivedV1 is the first version, which kept the Stripe event
// id in plain; it is still read, never written.
type StripeEventReceivedV1 struct {
	EventID    string    `json:"event_id"`
	Type       string    `json:"type"`
	CreatedAt  time.Time `json:"created_at"`
	ReceivedAt time.Time `json:"received_at"`
}

func (StripeEventReceived) EventType() string   { return "stripe.event_received.v2" }
func (StripeEventReceivedV1) EventType() string { return "stripe.event_received.v1" }

func (r *stripeReceipt) apply(e Event) {
	switch e.(type) {
	case StripeEventReceived, StripeEventReceivedV1:
		r.Received = true
	}
}

func (r *stripeReceipt) receive(e StripeEventReceived) {
	if !r.Received {
		r.record(e)
	}
}
