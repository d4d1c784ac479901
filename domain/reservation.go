package domain

import "time"

// Reservation namespaces.
const (
	reserveEmail         = "email"
	reserveAffiliateCode = "affiliate_code"
)

// Reservation holds a unique value (an e-mail address, an affiliate code) for
// one owner. It lives on its own stream named by a keyed digest of the
// value, so claiming it is an append with the exact expected version: of two
// owners racing for one value, exactly one wins.
type Reservation struct {
	Namespace string
	Key       string
	Owner     string
	Held      bool
	ClaimedAt time.Time

	changes []Event
}

func newReservation() *Reservation { return &Reservation{} }

func (r *Reservation) uncommitted() *[]Event { return &r.changes }

func (r *Reservation) record(e Event) {
	r.apply(e)
	r.changes = append(r.changes, e)
}

// ReservationClaimed records that Owner holds the value. Owner is a random
// id (an account or affiliate id); the value itself is only in the stream
// name, as a keyed digest.
type ReservationClaimed struct {
	Namespace string    `json:"namespace"`
	Key       string    `json:"key"`
	Owner     string    `json:"owner"`
	ClaimedAt time.Time `json:"claimed_at"`
}

// ReservationReleased records that Owner no longer holds the value.
type ReservationReleased struct {
	Namespace  string    `json:"namespace"`
	Key        string    `json:"key"`
	Owner      string    `json:"owner"`
	ReleasedAt time.Time `json:"released_at"`
}

func (ReservationClaimed) EventType() string  { return "reservation.claimed.v1" }
func (ReservationReleased) EventType() string { return "reservation.released.v1" }

// apply is the only place a Reservation changes.
func (r *Reservation) apply(e Event) {
	switch e := e.(type) {
	case ReservationClaimed:
		r.Namespace, r.Key, r.Owner, r.Held, r.ClaimedAt = e.Namespace, e.Key, e.Owner, true, e.ClaimedAt
	case ReservationReleased:
		r.Namespace, r.Key = e.Namespace, e.Key
		r.Owner, r.Held, r.ClaimedAt = "", false, time.Time{}
	}
}

// claim makes owner the holder. A value held by another owner is taken over
// only when takeOver is true (its holder no longer uses it); otherwise the
// claim is refused with code.
func (r *Reservation) claim(namespace, key, owner string, takeOver bool, code string, at time.Time) error {
	if r.Held && r.Owner == owner {
		return nil
	}
	if r.Held {
		if !takeOver {
			return Errorf(KindConflict, code, "the %s is already taken", namespace)
		}
		r.record(ReservationReleased{Namespace: namespace, Key: key, Owner: r.Owner, ReleasedAt: at})
	}
	r.record(ReservationClaimed{Namespace: namespace, Key: key, Owner: owner, ClaimedAt: at})
	return nil
}

// release frees the value if owner holds it; otherwise it changes nothing.
func (r *Reservation) release(namespace, key, owner string, at time.Time) {
	if r.Held && r.Owner == owner {
		r.record(ReservationReleased{Namespace: namespace, Key: key, Owner: owner, ReleasedAt: at})
	}
}
