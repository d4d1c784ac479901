package stripe

import (
	"fmt"
	"math"
	"strconv"
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

func (t *Translator) checkoutSession(f *Fact, ev Event) error {
	s, err := objectOf(ev, "checkout.session")
	if err != nil {
		return err
	}
	md := s.Metadata
	if md[MetaAccountID] == "" {
		return nil // not ours: subledger's checkout always sets it
	}
	f.Tie = TieMetadata
	switch s.Mode {
	case string(stripeapi.CheckoutSessionModePayment):
		if s.PaymentStatus == string(stripeapi.CheckoutSessionPaymentStatusUnpaid) {
			f.Ignored = IgnoredNotPaid
			return nil
		}
		// paid, or no_payment_required (a 100% discount): a license.
		quantity, err := metaQuantity(ev, md)
		if err != nil {
			return err
		}
		f.Command = domain.RecordCheckoutPaid{SessionID: s.ID, PaymentIntentID: string(s.PaymentIntent),
			AccountID: md[MetaAccountID], ProductID: md[MetaProductID], Quantity: quantity,
			AffiliateID: md[MetaAffiliateID], Amount: s.AmountTotal, Currency: s.Currency, OccurredAt: f.CreatedAt}
	case string(stripeapi.CheckoutSessionModeSubscription):
		f.Command = domain.RecordSubscriptionCheckout{SessionID: s.ID, SubscriptionID: string(s.Subscription),
			AccountID: md[MetaAccountID], ProductID: md[MetaProductID], AffiliateID: md[MetaAffiliateID],
			Amount: s.AmountTotal, Currency: s.Currency, OccurredAt: f.CreatedAt}
	default:
		f.Ignored = IgnoredMode
	}
	return nil
}

// metaQuantity reads the quantity metadata; 1 when absent.
func metaQuantity(ev Event, md map[string]string) (int, error) {
	q, ok := md[MetaQuantity]
	if !ok || q == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(q)
	if err != nil {
		return 0, fmt.Errorf("%w: the quantity metadata of %s is not a number", ErrMalformedEvent, ev.Type)
	}
	return n, nil
}

func (t *Translator) invoice(f *Fact, ev Event) error {
	in, err := objectOf(ev, "invoice")
	if err != nil {
		return err
	}
	subID := string(in.Subscription)
	if subID == "" {
		return nil // a one-off invoice: subledger sells through Checkout only
	}
	line := subscriptionLine(in.invoiceLines())
	md := ourMetadata(invoiceSubscriptionMetadata(in), lineMetadata(line))
	f.Tie, f.Ref = TieIfKnown, Ref{Kind: RefSubscription, ID: subID}
	if md[MetaAccountID] != "" {
		f.Tie = TieMetadata
	}
	if ev.Type == string(stripeapi.EventTypeInvoicePaymentFailed) {
		f.Command = domain.RecordInvoicePaymentFailed{InvoiceID: in.ID, SubscriptionID: subID, OccurredAt: f.CreatedAt}
		return nil
	}
	if line == nil || line.Period == nil {
		return fmt.Errorf("%w: invoice of %s has no subscription line with a period", ErrMalformedEvent, ev.Type)
	}
	var priceID string
	if line.Price != nil {
		priceID = line.Price.ID
	} else if line.Plan != nil {
		priceID = line.Plan.ID
	}
	f.Command = domain.RecordInvoicePaid{InvoiceID: in.ID, SubscriptionID: subID, PaymentIntentID: string(in.PaymentIntent),
		BillingReason: in.BillingReason, AccountID: md[MetaAccountID], ProductID: t.productFor(priceID, md),
		AffiliateID: md[MetaAffiliateID], Amount: in.AmountPaid, Currency: in.Currency,
		PeriodStart: unixTime(line.Period.Start), PeriodEnd: unixTime(line.Period.End), OccurredAt: f.CreatedAt}
	return nil
}

func invoiceSubscriptionMetadata(in *object) map[string]string {
	if in.SubscriptionDetails == nil {
		return nil
	}
	return in.SubscriptionDetails.Metadata
}

func lineMetadata(l *invoiceLine) map[string]string {
	if l == nil || l.Type != string(stripeapi.InvoiceLineItemTypeSubscription) {
		return nil
	}
	return l.Metadata
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

// subscriptionLine returns the invoice's line for the subscription's plan:
// a subscription line that is not a proration, else any subscription line,
// else the first line with a period.
func subscriptionLine(lines []*invoiceLine) *invoiceLine {
	var anySub, anyPeriod *invoiceLine
	for _, l := range lines {
		if l == nil {
			continue
		}
		if l.Type == string(stripeapi.InvoiceLineItemTypeSubscription) {
			if !l.Proration {
				return l
			}
			if anySub == nil {
				anySub = l
			}
		}
		if anyPeriod == nil && l.Period != nil {
			anyPeriod = l
		}
	}
	if anySub != nil {
		return anySub
	}
	return anyPeriod
}

func (t *Translator) subscription(f *Fact, ev Event) error {
	s, err := objectOf(ev, "subscription")
	if err != nil {
		return err
	}
	f.Tie, f.Ref = TieIfKnown, Ref{Kind: RefSubscription, ID: s.ID}
	if s.Metadata[MetaAccountID] != "" {
		f.Tie = TieMetadata
	}
	amount, priceID, ok := planAmount(s.subscriptionItems())
	if !ok {
		return fmt.Errorf("%w: the plan amount of %s is out of range", ErrMalformedEvent, ev.Type)
	}
	change := domain.StripeChangeUpdated
	switch stripeapi.EventType(ev.Type) {
	case stripeapi.EventTypeCustomerSubscriptionCreated:
		change = domain.StripeChangeCreated
	case stripeapi.EventTypeCustomerSubscriptionDeleted:
		change = domain.StripeChangeDeleted
	}
	md := s.Metadata
	f.Command = domain.RecordSubscriptionChange{SubscriptionID: s.ID, Change: change, Status: s.Status,
		AccountID: md[MetaAccountID], ProductID: t.productFor(priceID, md), AffiliateID: md[MetaAffiliateID],
		Amount: amount, Currency: s.Currency, CancelAtPeriodEnd: s.CancelAtPeriodEnd,
		CurrentPeriodEnd: unixTime(s.CurrentPeriodEnd), StartedAt: unixTime(s.StartDate), EndedAt: unixTime(s.EndedAt),
		OccurredAt: f.CreatedAt}
	return nil
}

// planAmount returns the sum of each item's unit price times its quantity,
// and the first item's price id; ok is false on overflow.
func planAmount(items []*subscriptionItem) (amount int64, priceID string, ok bool) {
	for _, it := range items {
		if it == nil {
			continue
		}
		var unit int64
		var id string
		switch {
		case it.Price != nil:
			unit, id = it.Price.UnitAmount, it.Price.ID
		case it.Plan != nil:
			unit, id = it.Plan.Amount, it.Plan.ID
		}
		if priceID == "" {
			priceID = id
		}
		if unit < 0 || it.Quantity < 0 || (it.Quantity > 0 && unit > (math.MaxInt64-amount)/it.Quantity) {
			return 0, "", false
		}
		amount += unit * it.Quantity
	}
	return amount, priceID, true
}

func translateRefund(f *Fact, ev Event) error {
	c, err := objectOf(ev, "charge")
	if err != nil {
		return err
	}
	pi := string(c.PaymentIntent)
	if pi == "" {
		return nil // not a Checkout payment: not ours
	}
	// Without our metadata (an invoice's charge, whose payment intent
	// carries none; or a charge that did not inherit its payment intent's)
	// the refund may be of a payment subledger will only learn of later:
	// it is kept by its payment intent, as the domain keeps it.
	f.Tie, f.Ref = TieReference, Ref{Kind: RefPaymentIntent, ID: pi}
	if c.Metadata[MetaAccountID] != "" {
		f.Tie = TieMetadata
	}
	f.Command = domain.RecordRefund{ChargeID: c.ID, PaymentIntentID: pi, AmountRefundedTotal: c.AmountRefunded,
		Currency: c.Currency, OccurredAt: f.CreatedAt}
	return nil
}

func translateDispute(f *Fact, ev Event) error {
	d, err := objectOf(ev, "dispute")
	if err != nil {
		return err
	}
	pi := string(d.PaymentIntent)
	if pi == "" {
		return nil // a charge without a payment intent is not a Checkout payment
	}
	f.Tie, f.Ref = TieReference, Ref{Kind: RefPaymentIntent, ID: pi}
	closed := ev.Type == string(stripeapi.EventTypeChargeDisputeClosed)
	switch stripeapi.DisputeStatus(d.Status) {
	case stripeapi.DisputeStatusWon, stripeapi.DisputeStatusLost, stripeapi.DisputeStatusWarningClosed:
		closed = true
	}
	f.Command = domain.RecordDispute{DisputeID: d.ID, PaymentIntentID: pi, Amount: d.Amount, Currency: d.Currency,
		Status: d.Status, Closed: closed, OpenedAt: unixTime(d.Created)}
	return nil
}

// unixTime returns a Stripe timestamp as a UTC time; 0 (or absent) is the
// zero time.
func unixTime(sec int64) time.Time {
	if sec <= 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}
