// An account's erasure: requested by the person (erase), or scheduled by
// the account's notes of its subscriptions, falling due a grace after its
// last paid subscription ended (noteSubscription, eraseIfDue). The notes
// only grow (paid and ended stay true, the end is the earliest known), so
// the schedule does not depend on the order the subscriptions' facts came
// in, nor on whether they came before or after an erasure.

package domain

import "time"

// SubscriptionNote is what an account knows of one of its subscriptions, to
// decide when its last paid subscription has ended.
type SubscriptionNote struct {
	Paid    bool      `json:"paid"`
	Ended   bool      `json:"ended"`
	EndedAt time.Time `json:"ended_at"`
}

// merge combines two notes of the same subscription. Knowledge only grows:
// paid and ended stay true, the end time is the earliest known.
func (n SubscriptionNote) merge(o SubscriptionNote) SubscriptionNote {
	m := SubscriptionNote{Paid: n.Paid || o.Paid, Ended: n.Ended || o.Ended}
	m.EndedAt = n.EndedAt
	if m.EndedAt.IsZero() || (!o.EndedAt.IsZero() && o.EndedAt.Before(m.EndedAt)) {
		m.EndedAt = o.EndedAt
	}
	return m
}

// equal reports whether two notes say the same.
func (n SubscriptionNote) equal(o SubscriptionNote) bool {
	return n.Paid == o.Paid && n.Ended == o.Ended && n.EndedAt.Equal(o.EndedAt)
}

// noteSubscription merges what is known of a subscription and reconciles the
// erasure schedule with it. It works on erased accounts too (the note holds
// no personal data), so the account's state does not depend on whether a
// Stripe fact arrived before or after an erasure.
func (a *Account) noteSubscription(subscriptionID string, note SubscriptionNote, grace time.Duration) error {
	if !a.exists() {
		return notFound("account")
	}
	old, known := a.Subscriptions[subscriptionID]
	if merged := old.merge(note); !known || !merged.equal(old) {
		a.record(AccountSubscriptionNoted{AccountID: a.ID, SubscriptionID: subscriptionID, Note: note})
	}
	a.reconcileErasureSchedule(grace)
	return nil
}

// erasureDue returns when the account's erasure falls due: the grace after
// the latest end, once every subscription has ended and at least one of them
// was paid; zero otherwise, and for an erased account.
func (a *Account) erasureDue(grace time.Duration) time.Time {
	if a.Status == AccountStatusErased || len(a.Subscriptions) == 0 {
		return time.Time{}
	}
	var paid bool
	var last time.Time
	for _, n := range a.Subscriptions {
		if !n.Ended {
			return time.Time{}
		}
		paid = paid || n.Paid
		if n.EndedAt.After(last) {
			last = n.EndedAt
		}
	}
	if !paid {
		return time.Time{}
	}
	return last.Add(grace)
}

// reconcileErasureSchedule records the schedule the notes now call for,
// or its withdrawal.
func (a *Account) reconcileErasureSchedule(grace time.Duration) {
	due := a.erasureDue(grace)
	switch {
	case due.Equal(a.ErasureDueAt):
	case due.IsZero():
		a.record(AccountErasureUnscheduled{AccountID: a.ID})
	default:
		a.record(AccountErasureScheduled{AccountID: a.ID, DueAt: due})
	}
}

// erase records the erasure; erasing an erased account changes nothing.
func (a *Account) erase(reason string, at time.Time) error {
	if !a.exists() {
		return notFound("account")
	}
	if a.Status == AccountStatusErased {
		return nil
	}
	a.record(AccountErasureRequested{AccountID: a.ID, Reason: reason, RequestedAt: at})
	a.record(AccountErased{AccountID: a.ID, ErasedAt: at})
	return nil
}

// eraseIfDue erases the account when its scheduled erasure is due at now.
func (a *Account) eraseIfDue(now time.Time) error {
	if !a.exists() {
		return notFound("account")
	}
	if a.Status == AccountStatusErased {
		return nil
	}
	if a.ErasureDueAt.IsZero() || now.Before(a.ErasureDueAt) {
		return Errorf(KindConflict, CodeErasureNotDue, "no erasure of this account is due")
	}
	return a.erase(erasureBySubEnd, now)
}
