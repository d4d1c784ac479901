package projections

import (
	"slices"
	"strings"
	"sync"

	"github.com/aseptsoft/subledger/domain"
)

// The per-subject index: which streams hold a person's events, so that the
// export (and anything else that needs all of one person) finds them with
// a query, not a scan of the store. A stream belongs to a subject when one
// of its events names the subject as its owner (an account's own stream,
// its licenses, subscriptions, sessions, password resets, e-mail
// reservations, idempotency records and Stripe intents), and a sale's
// stream belongs to whoever owns the license or subscription it was a
// payment of, whatever arrives first. It holds only ids
// and stream names, no personal data; they stay after an erasure, when
// the streams' personal fields read as erased.

// subjectIndex is the per-subject index. It lives beside go-memdb, not in
// it: as two tables it cost 40% of a rebuild's speed and 60% of its memory
// (copy-on-write radix nodes for some ten rows per account), as plain maps
// a few percent. It is therefore not part of a View's snapshot: it may know
// streams of events a View does not reflect yet, which is harmless, since
// whoever asks reads those streams from the store. It is written by the
// applying goroutine only; a batch that is aborted and applied again adds
// nothing twice.
type subjectIndex struct {
	mu       sync.RWMutex
	owned    map[string][]string // subject -> its streams
	children map[string][]string // stream -> the sale streams it owns
}

func (x *subjectIndex) init() {
	x.owned = map[string][]string{}
	x.children = map[string][]string{}
}

// add appends v to m[k] unless it is there (the lists are short). v, a
// stream name read from the store, is copied: it shares its memory with
// the ids and names of a whole read, which it would otherwise keep.
func add(m map[string][]string, k, v string) {
	if slices.Contains(m[k], v) {
		return
	}
	m[k] = append(m[k], strings.Clone(v))
}

// index records the owner or the parent stream that e, an event of
// stream, names.
func (w *writer) index(stream string, e domain.Event) {
	owner, parent := ownerOf(e)
	if stream == "" || (owner == "" && parent == "") {
		return
	}
	x := w.subjects
	x.mu.Lock()
	defer x.mu.Unlock()
	if owner != "" {
		add(x.owned, owner, stream)
	}
	if parent != "" {
		add(x.children, parent, stream)
	}
}

// ownerOf returns the subject that owns the stream of e, or the stream
// whose owner owns it (a sale's license or subscription); "" for neither.
func ownerOf(e domain.Event) (owner, parent string) {
	switch e := e.(type) {
	case domain.AccountRegistered:
		return e.AccountID, ""
	case domain.LicensePurchased:
		return e.AccountID, ""
	case domain.SubscriptionCheckoutCompleted:
		return e.AccountID, ""
	case domain.SubscriptionSynced:
		return e.AccountID, ""
	case domain.SubscriptionStripeLinked:
		return e.AccountID, ""
	case domain.SubscriptionRenewed:
		return e.AccountID, ""
	case domain.SaleRecorded:
		switch {
		case e.LicenseID != "":
			return "", domain.LicenseStream(e.LicenseID)
		case e.SubscriptionID != "":
			return "", domain.SubscriptionStream(e.SubscriptionID)
		}
	case domain.SessionStarted:
		return e.AccountID, ""
	case domain.PasswordResetRequested:
		return e.AccountID, ""
	case domain.ReservationClaimed:
		return e.Owner, ""
	case domain.ReservationClaimedV1:
		return e.Owner, ""
	case domain.IdempotencyRecordedFor:
		return e.Subject, ""
	case domain.StripeIntentRecorded:
		return e.AccountID, ""
	}
	return "", ""
}

// SubjectStreams returns the names of the streams that hold events of
// subject (an account id, say), sorted: its own, and those of the sales of
// its licenses and subscriptions.
func (v *View) SubjectStreams(subject string) []string {
	x := v.subjects
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := slices.Clone(x.owned[subject])
	for _, parent := range x.owned[subject] {
		out = append(out, x.children[parent]...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
