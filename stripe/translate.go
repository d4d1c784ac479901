package stripe

import (
	"fmt"
	"time"

	stripeapi "github.com/stripe/stripe-go/v76"

	"github.com/aseptsoft/subledger/domain"
)

// Metadata keys that subledger's checkout sets on the Checkout Session and
// on payment_intent_data / subscription_data (API.md).
const (
	MetaAccountID   = "account_id"
	MetaProductID   = "product_id"
	MetaQuantity    = "quantity"
	MetaAffiliateID = "affiliate_id"
)

// HandledTypes are the event types subledger applies; the webhook endpoint
// at Stripe needs to send at least these. Every other type is acknowledged
// and ignored.
var HandledTypes = []stripeapi.EventType{
	stripeapi.EventTypeCheckoutSessionCompleted,
	stripeapi.EventTypeCheckoutSessionAsyncPaymentSucceeded,
	stripeapi.EventTypeInvoicePaid,
	stripeapi.EventTypeInvoicePaymentFailed,
	stripeapi.EventTypeCustomerSubscriptionCreated,
	stripeapi.EventTypeCustomerSubscriptionUpdated,
	stripeapi.EventTypeCustomerSubscriptionDeleted,
	stripeapi.EventTypeChargeRefunded,
	stripeapi.EventTypeChargeDisputeCreated,
	stripeapi.EventTypeChargeDisputeClosed,
}

// handled reports whether typ is one of HandledTypes.
func handled(typ string) bool {
	for _, h := range HandledTypes {
		if typ == string(h) {
			return true
		}
	}
	return false
}

// IgnoreReason says why a verified event changes nothing.
type IgnoreReason string

// Reasons to ignore an event.
const (
	// IgnoredType is a type subledger does not handle.
	IgnoredType IgnoreReason = "unhandled_type"
	// IgnoredNotOurs is an object that does not tie to subledger (see Tie):
	// another system's on the same Stripe account.
	IgnoredNotOurs IgnoreReason = "not_ours"
	// IgnoredNotPaid is a completed Checkout Session in payment mode whose
	// payment is still pending (payment_status unpaid, an asynchronous
	// method): the sale comes with checkout.session.async_payment_succeeded.
	IgnoredNotPaid IgnoreReason = "not_paid"
	// IgnoredMode is a Checkout Session in a mode subledger never creates
	// (setup).
	IgnoredMode IgnoreReason = "unhandled_mode"
)

// Tie is how a fact's object ties to subledger (package doc, "What is
// ours").
type Tie uint8

// Ties.
const (
	// TieNone: the fact is ignored.
	TieNone Tie = iota
	// TieMetadata: the object carries our account_id metadata.
	TieMetadata
	// TieIfKnown: the object carries no metadata of ours; it is ours only
	// when subledger already knows Fact.Ref, and ignored otherwise.
	TieIfKnown
	// TieReference: the object carries no metadata of ours and refers to a
	// payment (Fact.Ref) that cannot be told apart from another system's
	// (a dispute; a refund of a charge without our metadata). It is
	// applied, and the domain keeps it until the payment's sale is known.
	TieReference
)

// String returns the tie's name.
func (t Tie) String() string {
	switch t {
	case TieMetadata:
		return "metadata"
	case TieIfKnown:
		return "if_known"
	case TieReference:
		return "reference"
	default:
		return "none"
	}
}

// RefKind is the kind of Stripe object a Ref names.
type RefKind string

// Kinds of reference.
const (
	RefSubscription  RefKind = "subscription"
	RefPaymentIntent RefKind = "payment_intent"
)

// Ref names the Stripe object through which a fact without our metadata
// may tie to subledger. ID is a Stripe id: personal data, never to be
// logged.
type Ref struct {
	Kind RefKind
	ID   string
}

// Fact is what one verified event means to the domain. Its Command and
// Ref hold Stripe ids and account ids: log its Type, Ignored and Tie, never
// the rest.
type Fact struct {
	// EventID, Type and CreatedAt are the event's id, type and created time.
	EventID   string
	Type      string
	CreatedAt time.Time
	// Ignored is why the event changes nothing; "" when Command is set.
	Ignored IgnoreReason
	// Command is the domain command the event stands for, a value of one of
	// domain.RecordCheckoutPaid, RecordSubscriptionCheckout,
	// RecordSubscriptionChange, RecordInvoicePaid,
	// RecordInvoicePaymentFailed, RecordRefund or RecordDispute; nil when
	// Ignored.
	Command any
	// Tie and Ref say how the object ties to subledger.
	Tie Tie
	Ref Ref
}

// Translator turns verified events into Facts. A nil *Translator takes
// products from metadata alone.
type Translator struct {
	byPrice map[string]string
}

// NewTranslator returns a Translator that names the product of an invoice
// line or a subscription item by its Stripe price, through the catalogue
// (a plan changed at Stripe keeps its old product_id metadata), and falls
// back to the product_id metadata for a price the catalogue does not list.
func NewTranslator(products []domain.Product) *Translator {
	t := &Translator{byPrice: make(map[string]string, len(products))}
	for _, p := range products {
		if p.StripePriceID != "" {
			t.byPrice[p.StripePriceID] = p.ID
		}
	}
	return t
}

// productFor returns the catalogue product of a price, else the metadata's.
func (t *Translator) productFor(priceID string, md map[string]string) string {
	if t != nil && priceID != "" {
		if id, ok := t.byPrice[priceID]; ok {
			return id
		}
	}
	return md[MetaProductID]
}

// Translate returns what ev, a verified event, means. Its error wraps
// ErrMalformedEvent when ev's object does not read as its type's.
func (t *Translator) Translate(ev Event) (Fact, error) {
	f := Fact{EventID: ev.ID, Type: ev.Type, CreatedAt: unixTime(ev.Created)}
	if ev.Data.Object == nil {
		return Fact{}, fmt.Errorf("%w: the event has no data.object", ErrMalformedEvent)
	}
	switch {
	case !handled(ev.Type):
		f.Ignored = IgnoredType
		return f, nil
	case ev.Account != "":
		// An event of a connected account: subledger takes no payments
		// on behalf of others.
		f.Ignored = IgnoredNotOurs
		return f, nil
	}
	var err error
	switch stripeapi.EventType(ev.Type) {
	case stripeapi.EventTypeCheckoutSessionCompleted, stripeapi.EventTypeCheckoutSessionAsyncPaymentSucceeded:
		err = t.checkoutSession(&f, ev)
	case stripeapi.EventTypeInvoicePaid, stripeapi.EventTypeInvoicePaymentFailed:
		err = t.invoice(&f, ev)
	case stripeapi.EventTypeCustomerSubscriptionCreated, stripeapi.EventTypeCustomerSubscriptionUpdated,
		stripeapi.EventTypeCustomerSubscriptionDeleted:
		err = t.subscription(&f, ev)
	case stripeapi.EventTypeChargeRefunded:
		err = translateRefund(&f, ev)
	case stripeapi.EventTypeChargeDisputeCreated, stripeapi.EventTypeChargeDisputeClosed:
		err = translateDispute(&f, ev)
	}
	if err != nil {
		return Fact{}, err
	}
	if f.Command == nil && f.Ignored == "" {
		f.Ignored = IgnoredNotOurs
	}
	if f.Ignored != "" {
		f.Command, f.Tie, f.Ref = nil, TieNone, Ref{}
	}
	return f, nil
}

// objectOf returns ev's object after checking that it is a kind; the
// error names the event type only.
func objectOf(ev Event, kind string) (*object, error) {
	if o := ev.Data.Object; o != nil && o.Object == kind {
		return o, nil
	}
	return nil, fmt.Errorf("%w: data.object of %s is not a %s", ErrMalformedEvent, ev.Type, kind)
}

// ourMetadata returns the first of mds that carries our account_id, else
// the first non-empty one.
func ourMetadata(mds ...map[string]string) map[string]string {
	var first map[string]string
	for _, md := range mds {
		if md[MetaAccountID] != "" {
			return md
		}
		if first == nil && len(md) > 0 {
			first = md
		}
	}
	return first
}

// unixTime returns a Stripe timestamp as a UTC time; 0 (or absent) is the
// zero time.
func unixTime(sec int64) time.Time {
	if sec <= 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}
