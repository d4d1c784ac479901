// A subscription is what is known of one Stripe subscription, and the idea
// of this file is that its state is a function of that knowledge alone.
//
// Stripe tells of a subscription through webhooks that come late, twice
// and in any order: the checkout that created it, snapshots of it
// (customer.subscription.*), paid and failed invoices. The customer's own
// requests (cancel, reactivate), facts too, come in between. So a
// Subscription does not keep a state that each event moves on; it keeps the
// set of facts it knows, each under the key of its Stripe object (a
// request under its kind and time), and derives its state from that set
// (refresh, subscription_view.go). A fact that is known already adds
// nothing and is not recorded again, and every choice refresh makes is a
// function of the set, never of the order the facts came in:
//
//   - what Stripe may change (the plan, the price, cancellation at period
//     end, whether a payment is overdue) comes from the latest fact that
//     says anything about it, by time, then by rank (a customer's request
//     over a snapshot, a snapshot over an invoice, an invoice over a checkout,
//     a checkout over a failure), then by key;
//   - the start is the earliest known, the current period's end the latest;
//     the account and the affiliate are the smallest value given;
//   - the subscription has ended once any fact ends it, at the earliest end.
//
// There are two kinds of events (subscription_events.go). Facts are what is
// known; apply adds each to its set and derives the state again. Derived
// events (SubscriptionStarted, SubscriptionPlanChanged, SubscriptionEnded)
// mark for readers the moments the facts imply; reconcile records each once
// they call for it, and apply only notes that it was recorded.
// SubscriptionStripeLinked keeps the Stripe id, encrypted (link).
//
// Every event but the link carries the view after it (SubscriptionView, set
// by record), so a projection needs no rules of its own: it shows the view
// of the stream's latest event. apply reads no event's view back, except
// SubscriptionStarted's, which gives the plan the subscription started on.
//
// Loading a stream applies every fact again; the state is derived once at
// the end (beginReplay, endReplay), not after every event.
//
// Which paid invoices make sales and earn commission is in
// subscription_sales.go, and the Service's commands are in
// subscription_commands.go.

package domain

import "time"

// SubscriptionStatus is the state of a subscription as the API shows it.
type SubscriptionStatus string

// Subscription statuses.
const (
	SubscriptionStatusActive  SubscriptionStatus = "active"
	SubscriptionStatusPastDue SubscriptionStatus = "past_due"
	SubscriptionStatusEnded   SubscriptionStatus = "ended"
)

// Stripe values the domain understands.
const (
	BillingReasonCreate = "subscription_create"
	BillingReasonCycle  = "subscription_cycle"
	// BillingReasonUpdate is a proration invoice (a plan or quantity change).
	BillingReasonUpdate = "subscription_update"

	StripeChangeCreated = "created"
	StripeChangeUpdated = "updated"
	StripeChangeDeleted = "deleted"
)

// Kinds of a customer's own request on a subscription.
const (
	intentCancelAtPeriodEnd = "cancel_at_period_end"
	intentReactivate        = "reactivate"
	intentCancelNow         = "cancel_now"
)

// SubscriptionView is a subscription as the API shows it. Every subscription
// event carries the view as it is after the event, so a projection can take
// the view of the stream's latest event.
type SubscriptionView struct {
	AccountID         string             `json:"account_id"`
	ProductID         string             `json:"product_id"`
	Status            SubscriptionStatus `json:"status"`
	CancelAtPeriodEnd bool               `json:"cancel_at_period_end"`
	CurrentPeriodEnd  time.Time          `json:"current_period_end"`
	Amount            int64              `json:"amount"`
	Currency          string             `json:"currency"`
	StartedAt         time.Time          `json:"started_at"`
	EndedAt           time.Time          `json:"ended_at"`
}

// SubscriptionInvoice is one paid invoice of a subscription.
type SubscriptionInvoice struct {
	Key           string
	SaleID        string
	BillingReason string
	AccountID     string
	ProductID     string
	AffiliateID   string
	Amount        int64
	Currency      string
	PeriodStart   time.Time
	PeriodEnd     time.Time
	PaidAt        time.Time
}

// checkoutFact is what is kept of a SubscriptionCheckoutCompleted.
type checkoutFact struct {
	AccountID, ProductID, AffiliateID string
	Amount                            int64
	Currency                          string
	At                                time.Time
}

// snapshotFact is what is kept of a SubscriptionSynced.
type snapshotFact struct {
	Change, Status                    string
	AccountID, ProductID, AffiliateID string
	Amount                            int64
	Currency                          string
	CancelAtPeriodEnd                 bool
	CurrentPeriodEnd, StartedAt       time.Time
	EndedAt, At                       time.Time
}

// intentFact is what is kept of a customer's request.
type intentFact struct {
	Kind string
	At   time.Time
}

// Subscription is a "Pro" plan subscription, keyed by its Stripe
// subscription. The exported fields are derived from the facts (see the
// top of this file).
type Subscription struct {
	ID                   string
	StripeSubscriptionID string
	SubscriptionView
	AffiliateID string
	// Paid is true once an invoice with a non-zero amount was paid.
	Paid bool
	// AnchorAt is when the first payment was made: the paid time of the
	// earliest paid invoice with an amount above 0 (see firstPayment). It
	// is the subscription's sale, and recurring commission is counted from
	// it.
	AnchorAt time.Time
	// first is the key of that invoice; "" while none is known.
	first string
	// Started is true once SubscriptionStarted was recorded.
	Started bool
	// plan and endedRecorded track the derived events recorded so far.
	plan          string
	endedRecorded bool
	// linked is set once the Stripe id is recorded encrypted.
	linked bool
	// replaying is set while the stream is loaded (see beginReplay).
	replaying bool

	// The facts, each set by its key.
	checkouts map[string]checkoutFact
	snapshots map[string]snapshotFact
	invoices  map[string]SubscriptionInvoice
	failures  map[string]time.Time // the latest failure of each invoice
	intents   map[string]intentFact
	changes   []Event
}

func newSubscription() *Subscription { return &Subscription{} }

func (s *Subscription) uncommitted() *[]Event { return &s.changes }

// record applies an event and keeps it to be appended, with the view after
// it when it carries one.
func (s *Subscription) record(e Event) {
	s.apply(e)
	if v, ok := e.(viewCarrier); ok {
		e = v.withView(s.SubscriptionView)
	}
	s.changes = append(s.changes, e)
}

// apply is the only place a Subscription changes. A fact joins its set and
// the state is derived again; a derived event or the link only notes that
// it was recorded. The views the events carry are for readers.
func (s *Subscription) apply(e Event) {
	switch e := e.(type) {
	case SubscriptionCheckoutCompleted:
		s.identify(e.SubscriptionID, e.StripeSubscriptionID)
		s.checkouts = put(s.checkouts, e.SessionKey, checkoutFact{AccountID: e.AccountID, ProductID: e.ProductID,
			AffiliateID: e.AffiliateID, Amount: e.Amount, Currency: e.Currency, At: e.OccurredAt})
	case SubscriptionSynced:
		s.identify(e.SubscriptionID, e.StripeSubscriptionID)
		s.snapshots = put(s.snapshots, e.SnapshotKey, snapshotFact{Change: e.Change, Status: e.StripeStatus,
			AccountID: e.AccountID, ProductID: e.ProductID, AffiliateID: e.AffiliateID, Amount: e.Amount, Currency: e.Currency,
			CancelAtPeriodEnd: e.CancelAtPeriodEnd, CurrentPeriodEnd: e.CurrentPeriodEnd, StartedAt: e.StartedAt,
			EndedAt: e.EndedAt, At: e.OccurredAt})
	case SubscriptionRenewed:
		s.identify(e.SubscriptionID, e.StripeSubscriptionID)
		s.invoices = put(s.invoices, e.InvoiceKey, SubscriptionInvoice{Key: e.InvoiceKey, SaleID: e.SaleID,
			BillingReason: e.BillingReason, AccountID: e.AccountID, ProductID: e.ProductID, AffiliateID: e.AffiliateID,
			Amount: e.Amount, Currency: e.Currency, PeriodStart: e.PeriodStart, PeriodEnd: e.PeriodEnd, PaidAt: e.PaidAt})
	case SubscriptionPaymentFailed:
		s.identify(e.SubscriptionID, e.StripeSubscriptionID)
		if e.FailedAt.After(s.failures[e.InvoiceKey]) {
			s.failures = put(s.failures, e.InvoiceKey, e.FailedAt)
		}
	case SubscriptionCancellationRequested:
		s.intents = put(s.intents, intentKey(intentCancelAtPeriodEnd, e.RequestedAt), intentFact{intentCancelAtPeriodEnd, e.RequestedAt})
	case SubscriptionReactivated:
		s.intents = put(s.intents, intentKey(intentReactivate, e.RequestedAt), intentFact{intentReactivate, e.RequestedAt})
	case SubscriptionCanceled:
		s.intents = put(s.intents, intentKey(intentCancelNow, e.CanceledAt), intentFact{intentCancelNow, e.CanceledAt})

	case SubscriptionStarted:
		s.Started, s.plan = true, e.View.ProductID
		return
	case SubscriptionPlanChanged:
		s.plan = e.ToProductID
		return
	case SubscriptionEnded:
		s.endedRecorded = true
		return
	case SubscriptionStripeLinked:
		// Read after the account's erasure, the id is gone: as if it had
		// never been linked, whatever the order the facts came in.
		if e.StripeSubscriptionID != "" {
			s.linked, s.StripeSubscriptionID = true, e.StripeSubscriptionID
		}
		return
	default:
		return
	}
	if !s.replaying {
		s.refresh()
	}
}

// identify takes the subscription's id from a Stripe fact, and the plain
// Stripe id that facts of the first versions carried.
func (s *Subscription) identify(id, legacyStripeID string) {
	s.ID = id
	if legacyStripeID != "" && s.StripeSubscriptionID == "" {
		s.StripeSubscriptionID = legacyStripeID
	}
}

// intentKey is the key of a customer's request: its kind and time.
func intentKey(kind string, at time.Time) string { return kind + "@" + at.Format(time.RFC3339Nano) }

// put sets m[k] to v, making m when it is nil, and returns m.
func put[V any](m map[string]V, k string, v V) map[string]V {
	if m == nil {
		m = map[string]V{}
	}
	m[k] = v
	return m
}

// beginReplay and endReplay bracket the loading of the stream: the view is
// a function of the sets of facts alone, so it is computed once at the end
// instead of after every event (which made loading quadratic in the
// invoices).
func (s *Subscription) beginReplay() { s.replaying = true }

func (s *Subscription) endReplay() {
	s.replaying = false
	s.refresh()
}

// Subscription commands.

// observe records a Stripe fact unless it adds nothing to what is known,
// then the derived events the facts call for.
func (s *Subscription) observe(e Event) {
	if !s.knows(e) {
		s.record(e)
	}
	s.reconcile()
}

// knows reports whether a Stripe fact adds nothing: its key is known (for
// a failure, at the same or a later time).
func (s *Subscription) knows(e Event) bool {
	var ok bool
	switch e := e.(type) {
	case SubscriptionCheckoutCompleted:
		_, ok = s.checkouts[e.SessionKey]
	case SubscriptionSynced:
		_, ok = s.snapshots[e.SnapshotKey]
	case SubscriptionRenewed:
		_, ok = s.invoices[e.InvoiceKey]
	case SubscriptionPaymentFailed:
		at, known := s.failures[e.InvoiceKey]
		ok = known && !e.FailedAt.After(at)
	}
	return ok
}

// reconcile records the derived events the facts now call for, each once:
// the start once the account and plan are known, a change of plan, the end.
func (s *Subscription) reconcile() {
	if !s.known() {
		return
	}
	switch {
	case !s.Started:
		// apply takes the plan from the view.
		s.record(SubscriptionStarted{SubscriptionID: s.ID, View: s.SubscriptionView})
	case s.plan != s.ProductID:
		s.record(SubscriptionPlanChanged{SubscriptionID: s.ID, FromProductID: s.plan, ToProductID: s.ProductID})
	}
	if s.Status == SubscriptionStatusEnded && !s.endedRecorded {
		s.record(SubscriptionEnded{SubscriptionID: s.ID})
	}
}

// link records the Stripe id, encrypted under the account's key, once the
// account is known and unless it is recorded. The caller checks that the
// account is not erased (its key is gone, so the id could not be kept).
func (s *Subscription) link(stripeID string) {
	if stripeID == "" || !s.needsLink() {
		return
	}
	s.record(SubscriptionStripeLinked{SubscriptionID: s.ID, AccountID: s.AccountID, StripeSubscriptionID: stripeID})
}

// needsLink reports whether the Stripe id is still to be recorded and can
// be: the account is known.
func (s *Subscription) needsLink() bool { return !s.linked && s.AccountID != "" && s.ID != "" }

// requireStarted refuses a customer's request on a subscription that has
// not started (as far as is known).
func (s *Subscription) requireStarted() error {
	if !s.Started {
		return notFound("subscription")
	}
	return nil
}

// cancel records the customer's cancellation: at the period's end (access
// continues until then) or at once.
func (s *Subscription) cancel(atPeriodEnd bool, now time.Time) error {
	if err := s.requireStarted(); err != nil {
		return err
	}
	if s.Status == SubscriptionStatusEnded {
		if atPeriodEnd {
			return Errorf(KindConflict, CodeSubscriptionEnded, "the subscription has ended")
		}
		return nil
	}
	if atPeriodEnd {
		if !s.CancelAtPeriodEnd {
			s.record(SubscriptionCancellationRequested{SubscriptionID: s.ID, RequestedAt: now})
		}
		return nil
	}
	s.record(SubscriptionCanceled{SubscriptionID: s.ID, CanceledAt: now})
	s.reconcile()
	return nil
}

// reactivate withdraws a cancellation at period end before the period ends.
func (s *Subscription) reactivate(now time.Time) error {
	if err := s.requireStarted(); err != nil {
		return err
	}
	if s.Status == SubscriptionStatusEnded {
		return Errorf(KindConflict, CodeSubscriptionEnded, "the subscription has ended")
	}
	if !s.CurrentPeriodEnd.IsZero() && !now.Before(s.CurrentPeriodEnd) {
		return Errorf(KindConflict, CodePeriodOver, "the paid period is over")
	}
	if s.CancelAtPeriodEnd {
		s.record(SubscriptionReactivated{SubscriptionID: s.ID, RequestedAt: now})
	}
	return nil
}
