package projections

import (
	"slices"

	"github.com/aseptsoft/subledger/domain"
)

// The per-subject index: which streams hold a person's events, so that the
// export (and anything else that needs all of one person) finds them with
// a query, not a scan of the store. A stream belongs to a subject when one
// of its events names the subject as its owner (an account's own stream,
// its licenses, subscriptions, sessions, password resets, e-mail
// reservations, idempotency records and Stripe intents), and a sale's
// stream belongs to whoever owns the license or subscription it was a
// payment of (stream_links), whatever arrives first. Rows hold only ids
// and stream names, no personal data; they stay after an erasure, when
// the streams' personal fields read as erased.

// subjectStream is one row of subject_streams.
type subjectStream struct {
	Subject string
	Stream  string
}

func subjectStreamKey(r *subjectStream) []byte { return append(stringKey(r.Subject), r.Stream...) }

// streamLink is one row of stream_links: Stream belongs to whoever owns
// Parent.
type streamLink struct {
	Stream string
	Parent string
}

func streamLinkParentKey(r *streamLink) []byte { return stringKey(r.Parent) }

// index records the subject or parent that e, an event of stream, names.
func (w *writer) index(stream string, e domain.Event) error {
	switch e := e.(type) {
	case domain.AccountRegistered:
		return w.own(e.AccountID, stream)
	case domain.LicensePurchased:
		return w.own(e.AccountID, stream)
	case domain.SubscriptionCheckoutCompleted:
		return w.own(e.AccountID, stream)
	case domain.SubscriptionSynced:
		return w.own(e.AccountID, stream)
	case domain.SubscriptionStripeLinked:
		return w.own(e.AccountID, stream)
	case domain.SubscriptionRenewed:
		return w.own(e.AccountID, stream)
	case domain.SaleRecorded:
		switch {
		case e.LicenseID != "":
			return w.link(stream, domain.LicenseStream(e.LicenseID))
		case e.SubscriptionID != "":
			return w.link(stream, domain.SubscriptionStream(e.SubscriptionID))
		}
	case domain.SessionStarted:
		return w.own(e.AccountID, stream)
	case domain.PasswordResetRequested:
		return w.own(e.AccountID, stream)
	case domain.ReservationClaimed:
		return w.own(e.Owner, stream)
	case domain.ReservationClaimedV1:
		return w.own(e.Owner, stream)
	case domain.IdempotencyRecordedFor:
		return w.own(e.Subject, stream)
	case domain.StripeIntentRecorded:
		return w.own(e.AccountID, stream)
	}
	return nil
}

// own notes that stream belongs to subject, once.
func (w *writer) own(subject, stream string) error {
	if subject == "" || stream == "" {
		return nil
	}
	r := &subjectStream{Subject: subject, Stream: stream}
	if got, err := w.txn.First(tableSubjectStreams, indexID, subjectStreamKey(r)); err != nil || got != nil {
		return err
	}
	return w.txn.Insert(tableSubjectStreams, r)
}

// link notes that stream belongs to whoever owns parent, once.
func (w *writer) link(stream, parent string) error {
	if got, err := w.txn.First(tableStreamLinks, indexID, idKey(stream)); err != nil || got != nil {
		return err
	}
	return w.txn.Insert(tableStreamLinks, &streamLink{Stream: stream, Parent: parent})
}

// SubjectStreams returns the names of the streams that hold events of
// subject (an account id, say), sorted: its own, and those of the sales of
// its licenses and subscriptions.
func (v *View) SubjectStreams(subject string) []string {
	var out []string
	it, err := v.txn.Get(tableSubjectStreams, indexID+"_prefix", stringKey(subject))
	if err != nil {
		return nil
	}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*subjectStream).Stream)
	}
	for _, parent := range slices.Clone(out) {
		it, err := v.txn.Get(tableStreamLinks, indexParent+"_prefix", stringKey(parent))
		if err != nil {
			return nil
		}
		for raw := it.Next(); raw != nil; raw = it.Next() {
			out = append(out, raw.(*streamLink).Stream)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
