package projections

import (
	"iter"
	"time"

	"github.com/aseptsoft/subledger/domain"
)

// stripeIntent is a pending Stripe call of the outbox (see
// domain.StripeIntent); completed intents are removed.
type stripeIntent struct {
	ID     string
	Kind   domain.StripeIntentKind
	NextAt time.Time
}

func intentDueKey(i *stripeIntent) []byte {
	return appendTime(make([]byte, 0, timeKeyLen), i.NextAt)
}

func (w *writer) stripeIntent(e domain.Event) error {
	switch e := e.(type) {
	case domain.StripeIntentRecorded:
		next := e.RecordedAt
		if e.NotBefore.After(next) {
			next = e.NotBefore
		}
		return w.intents.put(w.txn, &stripeIntent{ID: e.CallID, Kind: e.Kind, NextAt: next})
	case domain.StripeIntentFailed:
		i, err := w.intents.get(w.txn, e.CallID)
		if err != nil || i == nil {
			return err
		}
		if e.NextAt.After(i.NextAt) {
			i.NextAt = e.NextAt
		}
	case domain.StripeIntentCompleted:
		return w.intents.remove(w.txn, e.CallID)
	}
	return nil
}

// StripeIntentsDue yields the ids of the pending Stripe calls due at the
// view's time, earliest first.
func (v *View) StripeIntentsDue() iter.Seq[string] {
	return func(yield func(string) bool) {
		it, err := v.txn.Get(tableIntents, indexDue)
		if err != nil {
			return
		}
		for raw := it.Next(); raw != nil; raw = it.Next() {
			i := raw.(*stripeIntent)
			if i.NextAt.After(v.now) || !yield(i.ID) {
				return
			}
		}
	}
}

// PendingStripeIntents counts the Stripe calls not yet made.
func (v *View) PendingStripeIntents() int {
	it, err := v.txn.Get(tableIntents, indexID)
	if err != nil {
		return 0
	}
	n := 0
	for raw := it.Next(); raw != nil; raw = it.Next() {
		n++
	}
	return n
}
