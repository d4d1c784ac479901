package domain

import (
	"context"
	"errors"
)

// NoStream is the version of a stream without events, and the expected
// version that requires the stream to have none.
const NoStream int64 = -1

// ErrVersionConflict is returned (wrapped) by Store.Append when the stream is
// not at the expected version.
var ErrVersionConflict = errors.New("domain: stream version conflict")

// Store is the port the domain writes through. Stream versions are
// zero-based: a stream with one event is at version 0.
type Store interface {
	// Load returns every event of stream, oldest first, and the version of
	// the last one; a stream without events returns no events and NoStream.
	Load(ctx context.Context, stream string) (events []Event, version int64, err error)
	// Append writes events to the end of stream atomically when the stream
	// is at expectedVersion (NoStream: has no events) and returns the global
	// position of the last event written. A mismatch returns an error that
	// satisfies errors.Is(err, ErrVersionConflict).
	Append(ctx context.Context, stream string, expectedVersion int64, events []Event, meta Meta) (position uint64, err error)
}

// Meta describes who caused an append and why; the store keeps it in each
// event's metadata. It never holds personal data.
type Meta struct {
	Actor         string `json:"actor,omitempty"`
	RequestID     string `json:"request_id,omitempty"`
	CorrelationID string `json:"correlation_id,omitempty"`
	CausationID   string `json:"causation_id,omitempty"`
}

type metaKey struct{}

// WithMeta returns a context that carries m to the appends made under it.
func WithMeta(ctx context.Context, m Meta) context.Context {
	return context.WithValue(ctx, metaKey{}, m)
}

// MetaFrom returns the Meta carried by ctx, or the zero Meta.
func MetaFrom(ctx context.Context) Meta {
	m, _ := ctx.Value(metaKey{}).(Meta)
	return m
}

// Stream names. Every aggregate lives on one stream named by its kind and id.

// AccountStream returns the stream of an account.
func AccountStream(id string) string { return "account-" + id }

// LicenseStream returns the stream of a license.
func LicenseStream(id string) string { return "license-" + id }

// SubscriptionStream returns the stream of a subscription.
func SubscriptionStream(id string) string { return "subscription-" + id }

// SaleStream returns the stream of a sale (one Stripe payment and its
// commission).
func SaleStream(id string) string { return "sale-" + id }

// AffiliateStream returns the stream of an affiliate.
func AffiliateStream(id string) string { return "affiliate-" + id }

// ReservationStream returns the stream of a reservation in a namespace
// ("email", "affiliate_code"); key is a keyed digest of the reserved value.
func ReservationStream(namespace, key string) string {
	return "reservation-" + namespace + "-" + key
}

// StripeEventStream returns the stream of the receipt of one Stripe event;
// key is a keyed digest of the Stripe event id.
func StripeEventStream(key string) string { return "stripe_event-" + key }
