package projections

import (
	"github.com/aseptsoft/subledger/domain"
)

// Subscription is a subscription as the API shows it: the view carried by
// its latest event. It is listed and found only once started (its account
// and plan known), as the domain treats it.
type Subscription struct {
	ID string
	domain.SubscriptionView
	Started bool
}

// subscriptionAccountKey indexes started subscriptions by account, then
// start time.
func subscriptionAccountKey(s *Subscription) []byte {
	if !s.Started || s.AccountID == "" {
		return nil
	}
	return stringTimeKey(s.AccountID, s.StartedAt)
}

// subscription takes the view of a subscription event; started marks the
// subscription as shown from now on.
func (w *writer) subscription(id string, view domain.SubscriptionView, started bool) error {
	s, err := w.subscriptions.get(w.txn, id)
	if err != nil {
		return err
	}
	if s == nil {
		s = &Subscription{ID: id}
		if err := w.subscriptions.put(w.txn, s); err != nil {
			return err
		}
	}
	s.SubscriptionView = view
	s.Started = s.Started || started
	return nil
}

// subscriptionMoved moves the subscription's part of the statistics.
func (w *writer) subscriptionMoved(orig, s *Subscription) {
	w.subscriptionStats(orig, -1)
	w.subscriptionStats(s, 1)
}

// Subscription returns the started subscription with id.
func (v *View) Subscription(id string) (Subscription, bool) {
	s, err := first[Subscription](v.txn, tableSubscriptions, idKey(id))
	if err != nil || s == nil || !s.Started {
		return Subscription{}, false
	}
	return *s, true
}

// Subscriptions returns a page of the account's started subscriptions,
// earliest start first; limit and cursor as for Licenses.
func (v *View) Subscriptions(accountID string, limit int, cursor string) (Page[Subscription], error) {
	return listByAccount(v, tableSubscriptions, accountID, limit, cursor,
		func(s *Subscription) string { return s.AccountID },
		func(s *Subscription) []byte { return appendTime(nil, s.StartedAt) },
		func(s *Subscription) string { return s.ID })
}
