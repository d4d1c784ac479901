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
	// Subject is the pseudonym the holder's claim is encrypted under; empty
	// for a claim of the first version.
	Subject string
	// Owner holds the value; empty once the holder's pseudonym is
	// forgotten (the holder was erased).
	Owner     string
	Held      bool
	ClaimedAt time.Time

	changes []Event
}

func newReservation() *Reservation { return &Reservation{} }

func (r *Reservation) uncommitted() *[]Event { return &r.changes }

// record applies an event and keeps it to be appended.
func (r *Reservation) record(e Event) {
	r.apply(e)
	r.changes = append(r.changes, e)
}

// ReservationClaimed records that Owner holds the value. The value itself is
// only in the stream name, as a keyed digest. Owner (an account or
// affiliate id) is encrypted under Subject, a pseudonym derived from the
// owner's own data key (Pseudonyms): erasing the owner forgets that
// pseudonym too, so that nobody, not even with the server secret and a
// guessed address, can tie the address to the erased account afterwards.
// Owner then reads empty and the value is free to claim.
type ReservationClaimed struct {
	Namespace string    `json:"namespace"`
	Key       string    `json:"key"`
	Subject   string    `json:"subject"`
	Owner     string    `json:"owner" personal:"true"`
	ClaimedAt time.Time `json:"claimed_at"`
}

// ReservationReleased records that Owner no longer holds the value.
type ReservationReleased struct {
	Namespace  string    `json:"namespace"`
	Key        string    `json:"key"`
	Subject    string    `json:"subject"`
	Owner      string    `json:"owner" personal:"true"`
	ReleasedAt time.Time `json:"released_at"`
}

// ReservationClaimedV1 is the first version of ReservationClaimed, with the
// owner in the clear. It is read, never written any more.
type ReservationClaimedV1 struct {
	Namespace string    `json:"namespace"`
	Key       string    `json:"key"`
	Owner     string    `json:"owner"`
	ClaimedAt time.Time `json:"claimed_at"`
}

// ReservationReleasedV1 is the first version of ReservationReleased. It is
// written only to release a claim of the first version.
type ReservationReleasedV1 struct {
	Namespace  string    `json:"namespace"`
	Key        string    `json:"key"`
	Owner      string    `json:"owner"`
	ReleasedAt time.Time `json:"released_at"`
}

func (ReservationClaimed) EventType() string    { return "reservation.claimed.v2" }
func (ReservationReleased) EventType() string   { return "reservation.released.v2" }
func (ReservationClaimedV1) EventType() string  { return "reservation.claimed.v1" }
func (ReservationReleasedV1) EventType() string { return "reservation.released.v1" }

// DataSubject is the claim's pseudonym, whose key encrypts the owner.
func (e ReservationClaimed) DataSubject() string { return e.Subject }

// DataSubject is the claim's pseudonym, whose key encrypts the owner.
func (e ReservationReleased) DataSubject() string { return e.Subject }

// apply is the only place a Reservation changes.
func (r *Reservation) apply(e Event) {
	switch e := e.(type) {
	case ReservationClaimed:
		r.Namespace, r.Key, r.Subject, r.Owner, r.Held, r.ClaimedAt = e.Namespace, e.Key, e.Subject, e.Owner, true, e.ClaimedAt
	case ReservationClaimedV1:
		r.Namespace, r.Key, r.Subject, r.Owner, r.Held, r.ClaimedAt = e.Namespace, e.Key, "", e.Owner, true, e.ClaimedAt
	case ReservationReleased, ReservationReleasedV1:
		r.Subject, r.Owner, r.Held, r.ClaimedAt = "", "", false, time.Time{}
	}
}

// claim makes owner the holder. A value held by another owner is taken over
// only when takeOver is true (its holder no longer uses it); otherwise the
// claim is refused with code.
func (r *Reservation) claim(namespace, key, owner, subject string, takeOver bool, code string, at time.Time) error {
	if r.Held && r.Owner == owner {
		return nil
	}
	if r.Held {
		// An empty owner is a holder whose pseudonym was forgotten with
		// its erasure: nobody uses the value.
		if !takeOver && r.Owner != "" {
			return Errorf(KindConflict, code, "the %s is already taken", namespace)
		}
		r.releaseHeld(at)
	}
	r.record(ReservationClaimed{Namespace: namespace, Key: key, Subject: subject, Owner: owner, ClaimedAt: at})
	return nil
}

// releaseHeld records the release of the current claim, in the claim's own
// version.
func (r *Reservation) releaseHeld(at time.Time) {
	if r.Subject == "" {
		r.record(ReservationReleasedV1{Namespace: r.Namespace, Key: r.Key, Owner: r.Owner, ReleasedAt: at})
		return
	}
	r.record(ReservationReleased{Namespace: r.Namespace, Key: r.Key, Subject: r.Subject, Owner: r.Owner, ReleasedAt: at})
}

// release frees the value if owner holds it; otherwise it changes nothing.
func (r *Reservation) release(owner string, at time.Time) {
	if r.Held && r.Owner == owner {
		r.releaseHeld(at)
	}
}
