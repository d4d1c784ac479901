package domain

import (
	"context"
	"time"
)

// A Stripe intent is a call to Stripe that must happen even if subledger
// crashes or Stripe is down when it is decided: an outbox entry. It is
// recorded before anything it depends on goes away (the customer id is
// read before the account's key is shredded), carried out by the jobs with
// backoff until it succeeds, and its personal part (the customer id) is
// encrypted under a key of the intent's own, which is shredded once the
// call succeeded. Replicas may all run the jobs: every call carries the
// intent's id as its idempotency key.

// StripeIntentKind is what an intent asks of Stripe.
type StripeIntentKind string

// Intent kinds.
const (
	// IntentDeleteCustomer deletes the account's Stripe customer, which
	// cancels its subscriptions at once and removes its saved payment
	// methods (erasure).
	IntentDeleteCustomer StripeIntentKind = "delete_customer"
	// IntentDetachPaymentMethods removes the customer's saved payment
	// methods: the processor keeps card data only while paid services are
	// used (the last paid subscription ended, or a license-only customer's
	// payment settled).
	IntentDetachPaymentMethods StripeIntentKind = "detach_payment_methods"
)

// StripeIntent is the aggregate of one outbox entry.
type StripeIntent struct {
	ID          string
	Kind        StripeIntentKind
	AccountID   string
	CustomerID  string
	RecordedAt  time.Time
	Attempts    int
	NextAt      time.Time
	CompletedAt time.Time

	changes []Event
}

func newStripeIntent() *StripeIntent { return &StripeIntent{} }

func (i *StripeIntent) uncommitted() *[]Event { return &i.changes }

// record applies an event and keeps it to be appended.
func (i *StripeIntent) record(e Event) {
	i.apply(e)
	i.changes = append(i.changes, e)
}

// StripeIntentRecorded records a call to make. The customer id is personal
// data, under the intent's own subject (IntentSubject).
type StripeIntentRecorded struct {
	CallID     string           `json:"call_id"`
	Kind       StripeIntentKind `json:"kind"`
	AccountID  string           `json:"account_id"`
	CustomerID string           `json:"customer_id" personal:"true"`
	RecordedAt time.Time        `json:"recorded_at"`
	// NotBefore, when set, is the earliest time of the first attempt.
	NotBefore time.Time `json:"not_before,omitempty"`
}

// StripeIntentFailed records a failed attempt and when to try again.
type StripeIntentFailed struct {
	CallID   string    `json:"call_id"`
	Attempt  int       `json:"attempt"`
	Error    string    `json:"error"`
	FailedAt time.Time `json:"failed_at"`
	NextAt   time.Time `json:"next_at"`
}

// StripeIntentCompleted records that the call succeeded.
type StripeIntentCompleted struct {
	CallID      string    `json:"call_id"`
	CompletedAt time.Time `json:"completed_at"`
}

func (StripeIntentRecorded) EventType() string  { return "stripe_intent.recorded.v1" }
func (StripeIntentFailed) EventType() string    { return "stripe_intent.failed.v1" }
func (StripeIntentCompleted) EventType() string { return "stripe_intent.completed.v1" }

// DataSubject implements PersonalEvent: the intent's own subject.
func (e StripeIntentRecorded) DataSubject() string { return IntentSubject(e.CallID) }

// IntentSubject is the data subject an intent's personal part is encrypted
// under; it is forgotten once the intent completed.
func IntentSubject(intentID string) string { return "stripe-intent-" + intentID }

// StripeIntentStream returns the stream of an intent.
func StripeIntentStream(id string) string { return "stripe_intent-" + id }

// apply is the only place a StripeIntent changes.
func (i *StripeIntent) apply(e Event) {
	switch e := e.(type) {
	case StripeIntentRecorded:
		i.ID, i.Kind, i.AccountID, i.CustomerID, i.RecordedAt, i.NextAt = e.CallID, e.Kind, e.AccountID, e.CustomerID, e.RecordedAt, e.RecordedAt
		if e.NotBefore.After(e.RecordedAt) {
			i.NextAt = e.NotBefore
		}
	case StripeIntentFailed:
		i.Attempts, i.NextAt = max(i.Attempts, e.Attempt), e.NextAt
	case StripeIntentCompleted:
		i.CompletedAt = e.CompletedAt
	}
}

// Done reports whether the intent completed.
func (i *StripeIntent) Done() bool { return !i.CompletedAt.IsZero() }

// intentBackoff is the wait after the n-th failed attempt: 10 s doubling,
// at most an hour.
func intentBackoff(n int) time.Duration {
	d := 10 * time.Second
	for range min(n-1, 9) {
		d *= 2
	}
	return min(d, time.Hour)
}

// RecordStripeIntent records a call to Stripe for the jobs to make.
func (s *Service) RecordStripeIntent(ctx context.Context, kind StripeIntentKind, accountID, customerID string) (*StripeIntent, Result, error) {
	return s.recordIntent(ctx, s.newID(), kind, accountID, customerID, 0)
}

// recordIntent records the intent id unless it exists: a fact applied again
// (a duplicate webhook) derives the same id and records nothing more.
func (s *Service) recordIntent(ctx context.Context, id string, kind StripeIntentKind, accountID, customerID string, wait time.Duration) (*StripeIntent, Result, error) {
	now := s.clock()
	in, pos, err := execute(ctx, s, StripeIntentStream(id), newStripeIntent, func(i *StripeIntent) error {
		if i.ID == "" {
			e := StripeIntentRecorded{CallID: id, Kind: kind, AccountID: accountID, CustomerID: customerID, RecordedAt: now}
			if wait > 0 {
				e.NotBefore = now.Add(wait)
			}
			i.record(e)
		}
		return nil
	})
	return in, Result{Position: pos}, err
}

// DetachWait is how long after a license-only customer's payment its saved
// payment methods are removed: time for a subscription bought at the same
// moment, whose facts may arrive later, to become known (the jobs check
// that no subscription runs before they call Stripe).
const DetachWait = time.Hour

// detachPaymentMethods records, once per reason, that the account's saved
// payment methods are to be removed at Stripe after wait, when it has a
// Stripe customer and is not erased (erasure deletes the customer anyway).
func (s *Service) detachPaymentMethods(ctx context.Context, acc *Account, reason string, wait time.Duration) (uint64, error) {
	if acc == nil || !acc.exists() || acc.StripeCustomerID == "" || acc.Status == AccountStatusErased {
		return 0, nil
	}
	id := s.keys.id("stripe_intent", string(IntentDetachPaymentMethods)+"\x00"+acc.ID+"\x00"+reason)
	_, res, err := s.recordIntent(ctx, id, IntentDetachPaymentMethods, acc.ID, acc.StripeCustomerID, wait)
	return res.Position, err
}

// PaidServiceRuns reports whether the account holds a subscription that
// has not ended: its saved payment methods must stay.
func (a *Account) PaidServiceRuns() bool {
	for _, n := range a.Subscriptions {
		if !n.Ended {
			return true
		}
	}
	return false
}

// StripeIntent returns an intent; 404 when it does not exist.
func (s *Service) StripeIntent(ctx context.Context, id string) (*StripeIntent, error) {
	in, _, err := load(ctx, s, StripeIntentStream(id), newStripeIntent)
	if err != nil {
		return nil, err
	}
	if in.ID == "" {
		return nil, notFound("stripe intent")
	}
	return in, nil
}

// CompleteStripeIntent records that the intent's call succeeded; repeating
// it changes nothing.
func (s *Service) CompleteStripeIntent(ctx context.Context, id string) (Result, error) {
	_, pos, err := execute(ctx, s, StripeIntentStream(id), newStripeIntent, func(i *StripeIntent) error {
		if i.ID == "" {
			return notFound("stripe intent")
		}
		if !i.Done() {
			i.record(StripeIntentCompleted{CallID: id, CompletedAt: s.clock()})
		}
		return nil
	})
	return Result{Position: pos}, err
}

// FailStripeIntent records a failed attempt (errCode names the failure,
// never a Stripe id) and schedules the next with backoff.
func (s *Service) FailStripeIntent(ctx context.Context, id, errCode string) (*StripeIntent, Result, error) {
	now := s.clock()
	in, pos, err := execute(ctx, s, StripeIntentStream(id), newStripeIntent, func(i *StripeIntent) error {
		if i.ID == "" {
			return notFound("stripe intent")
		}
		if !i.Done() {
			n := i.Attempts + 1
			i.record(StripeIntentFailed{CallID: id, Attempt: n, Error: errCode, FailedAt: now, NextAt: now.Add(intentBackoff(n))})
		}
		return nil
	})
	return in, Result{Position: pos}, err
}
