package domain

import (
	"context"
	"time"
)

// stripeReceipt is the aggregate of one Stripe event's receipt: whether the
// event (named by a keyed digest of its id, never the id itself) was
// received and applied.
type stripeReceipt struct {
	Received bool

	changes []Event
}

func newStripeReceipt() *stripeReceipt { return &stripeReceipt{} }

func (r *stripeReceipt) uncommitted() *[]Event { return &r.changes }

// record applies an event and keeps it to be appended.
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

// apply is the only place a stripeReceipt changes.
func (r *stripeReceipt) apply(e Event) {
	switch e.(type) {
	case StripeEventReceived, StripeEventReceivedV1:
		r.Received = true
	}
}

// receive records the receipt unless the event was received before.
func (r *stripeReceipt) receive(e StripeEventReceived) {
	if !r.Received {
		r.record(e)
	}
}

// RecordStripeEvent records the receipt of one Stripe webhook event.
type RecordStripeEvent struct {
	EventID   string
	Type      string
	CreatedAt time.Time
}

// RecordStripeEvent records the receipt of a Stripe event once. Record it
// after the event's fact was applied: facts are idempotent on their own, so
// a duplicate event may safely be applied again, and a receipt recorded
// before a failed apply would hide the redelivery's work. Duplicate reports
// whether the event was already recorded.
func (s *Service) RecordStripeEvent(ctx context.Context, cmd RecordStripeEvent) (duplicate bool, res Result, err error) {
	var v validator
	v.check(validID(cmd.EventID), "event_id", FieldRequired)
	v.check(validID(cmd.Type), "type", FieldRequired)
	if err := v.err(); err != nil {
		return false, Result{}, err
	}
	key := s.keys.digest("stripe_event", cmd.EventID)
	_, pos, err := execute(ctx, s, StripeEventStream(key), newStripeReceipt, func(r *stripeReceipt) error {
		duplicate = r.Received
		r.receive(StripeEventReceived{EventKey: key, Type: cmd.Type, CreatedAt: utc(cmd.CreatedAt), ReceivedAt: s.clock()})
		return nil
	})
	return duplicate, Result{Position: pos}, err
}
