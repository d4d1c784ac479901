package domain

import (
	"sort"
	"time"
)

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

// Ranks break ties between facts with the same time: a snapshot from
// Stripe says more than an invoice, a customer's own request more than both.
const (
	rankFailure = iota
	rankCheckout
	rankInvoice
	rankSnapshot
	rankIntent
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

type subCheckout struct {
	AccountID, ProductID, AffiliateID string
	Amount                            int64
	Currency                          string
	At                                time.Time
}

type subSnapshot struct {
	Change, Status                    string
	AccountID, ProductID, AffiliateID string
	Amount                            int64
	Currency                          string
	CancelAtPeriodEnd                 bool
	CurrentPeriodEnd, StartedAt       time.Time
	EndedAt, At                       time.Time
}

type subIntent struct {
	Kind string
	At   time.Time
}

// Subscription is a "Pro" plan subscription, keyed by its Stripe
// subscription. Its state is derived from the set of facts known about it
// (checkout, Stripe snapshots, paid and failed invoices, the customer's own
// requests), so the order in which they arrive does not matter; the exported
// fields are that derived state.
type Subscription struct {
	ID                   string
	StripeSubscriptionID string
	SubscriptionView
	AffiliateID string
	// Paid is true once an invoice with a non-zero amount was paid.
	Paid bool
	// AnchorAt is when the first payment was made: the paid time of the
	// earliest paid invoice with an amount above 0 (see firstPaid). It is
	// the subscription's sale, and recurring commission is counted from it.
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

	checkouts map[string]subCheckout
	snapshots map[string]subSnapshot
	invoices  map[string]SubscriptionInvoice
	failures  map[string]time.Time
	intents   map[string]subIntent
	changes   []Event
}

func newSubscription() *Subscription { return &Subscription{} }

func (s *Subscription) uncommitted() *[]Event { return &s.changes }

// record applies a derived event and keeps it.
func (s *Subscription) record(e Event) {
	s.apply(e)
	s.changes = append(s.changes, e)
}

// recordFact applies a fact and keeps it with the view after it.
func (s *Subscription) recordFact(e subscriptionFact) {
	s.apply(e)
	s.changes = append(s.changes, e.withView(s.SubscriptionView))
}

// subscriptionFact is a fact event that carries the view after it.
type subscriptionFact interface {
	Event
	withView(SubscriptionView) Event
}

// SubscriptionCheckoutCompleted records the Checkout Session (subscription
// mode) that created the subscription.
type SubscriptionCheckoutCompleted struct {
	SubscriptionID       string           `json:"subscription_id"`
	StripeSubscriptionID string           `json:"stripe_subscription_id,omitempty"`
	SessionKey           string           `json:"session_key"`
	AccountID            string           `json:"account_id"`
	ProductID            string           `json:"product_id"`
	AffiliateID          string           `json:"affiliate_id,omitempty"`
	Amount               int64            `json:"amount"`
	Currency             string           `json:"currency"`
	OccurredAt           time.Time        `json:"occurred_at"`
	View                 SubscriptionView `json:"view"`
}

// SubscriptionSynced records one snapshot of the subscription from Stripe
// (customer.subscription.created, .updated or .deleted).
type SubscriptionSynced struct {
	SubscriptionID       string           `json:"subscription_id"`
	StripeSubscriptionID string           `json:"stripe_subscription_id,omitempty"`
	SnapshotKey          string           `json:"snapshot_key"`
	Change               string           `json:"change"`
	StripeStatus         string           `json:"stripe_status"`
	AccountID            string           `json:"account_id"`
	ProductID            string           `json:"product_id"`
	AffiliateID          string           `json:"affiliate_id,omitempty"`
	Amount               int64            `json:"amount"`
	Currency             string           `json:"currency"`
	CancelAtPeriodEnd    bool             `json:"cancel_at_period_end"`
	CurrentPeriodEnd     time.Time        `json:"current_period_end"`
	StartedAt            time.Time        `json:"started_at"`
	EndedAt              time.Time        `json:"ended_at"`
	OccurredAt           time.Time        `json:"occurred_at"`
	View                 SubscriptionView `json:"view"`
}

// SubscriptionRenewed records a paid invoice of the subscription; the first
// one too (BillingReason subscription_create).
type SubscriptionRenewed struct {
	SubscriptionID       string           `json:"subscription_id"`
	StripeSubscriptionID string           `json:"stripe_subscription_id,omitempty"`
	InvoiceKey           string           `json:"invoice_key"`
	SaleID               string           `json:"sale_id"`
	BillingReason        string           `json:"billing_reason"`
	AccountID            string           `json:"account_id"`
	ProductID            string           `json:"product_id"`
	AffiliateID          string           `json:"affiliate_id,omitempty"`
	Amount               int64            `json:"amount"`
	Currency             string           `json:"currency"`
	PeriodStart          time.Time        `json:"period_start"`
	PeriodEnd            time.Time        `json:"period_end"`
	PaidAt               time.Time        `json:"paid_at"`
	View                 SubscriptionView `json:"view"`
}

// SubscriptionPaymentFailed records a failed payment of an invoice.
type SubscriptionPaymentFailed struct {
	SubscriptionID       string           `json:"subscription_id"`
	StripeSubscriptionID string           `json:"stripe_subscription_id,omitempty"`
	InvoiceKey           string           `json:"invoice_key"`
	FailedAt             time.Time        `json:"failed_at"`
	View                 SubscriptionView `json:"view"`
}

// SubscriptionCancellationRequested records the customer's request to cancel
// at the end of the paid period; access continues until then.
type SubscriptionCancellationRequested struct {
	SubscriptionID string           `json:"subscription_id"`
	RequestedAt    time.Time        `json:"requested_at"`
	View           SubscriptionView `json:"view"`
}

// SubscriptionReactivated records the customer's withdrawal of a
// cancellation before the period ended.
type SubscriptionReactivated struct {
	SubscriptionID string           `json:"subscription_id"`
	RequestedAt    time.Time        `json:"requested_at"`
	View           SubscriptionView `json:"view"`
}

// SubscriptionCanceled records the customer's request to cancel at once.
type SubscriptionCanceled struct {
	SubscriptionID string           `json:"subscription_id"`
	CanceledAt     time.Time        `json:"canceled_at"`
	View           SubscriptionView `json:"view"`
}

// SubscriptionStarted is recorded once, when the subscription's account and
// plan are first known.
type SubscriptionStarted struct {
	SubscriptionID       string           `json:"subscription_id"`
	StripeSubscriptionID string           `json:"stripe_subscription_id,omitempty"`
	View                 SubscriptionView `json:"view"`
}

// SubscriptionStripeLinked records the subscription's Stripe id, once its
// account is known: the id is pseudonymous data of the person, encrypted
// under the account's key (cancelling at Stripe needs it). Fact events of
// the first versions carried it in plain (stripe_subscription_id, still
// read); they no longer do.
type SubscriptionStripeLinked struct {
	SubscriptionID       string `json:"subscription_id"`
	AccountID            string `json:"account_id"`
	StripeSubscriptionID string `json:"stripe_subscription_id" personal:"true"`
}

// DataSubject implements PersonalEvent: the account owns the Stripe id.
func (e SubscriptionStripeLinked) DataSubject() string { return e.AccountID }

// SubscriptionPlanChanged records that the subscription's plan changed.
type SubscriptionPlanChanged struct {
	SubscriptionID string           `json:"subscription_id"`
	FromProductID  string           `json:"from_product_id"`
	ToProductID    string           `json:"to_product_id"`
	View           SubscriptionView `json:"view"`
}

// SubscriptionEnded is recorded once, when the subscription has ended.
type SubscriptionEnded struct {
	SubscriptionID string           `json:"subscription_id"`
	View           SubscriptionView `json:"view"`
}

func (SubscriptionCheckoutCompleted) EventType() string { return "subscription.checkout_completed.v1" }
func (SubscriptionSynced) EventType() string            { return "subscription.synced.v1" }
func (SubscriptionRenewed) EventType() string           { return "subscription.renewed.v1" }
func (SubscriptionPaymentFailed) EventType() string     { return "subscription.payment_failed.v1" }
func (SubscriptionCancellationRequested) EventType() string {
	return "subscription.cancellation_requested.v1"
}
func (SubscriptionReactivated) EventType() string { return "subscription.reactivated.v1" }
func (SubscriptionCanceled) EventType() string    { return "subscription.canceled.v1" }
func (SubscriptionStarted) EventType() string     { return "subscription.started.v1" }
func (SubscriptionStripeLinked) EventType() string {
	return "subscription.stripe_linked.v1"
}
func (SubscriptionPlanChanged) EventType() string { return "subscription.plan_changed.v1" }
func (SubscriptionEnded) EventType() string       { return "subscription.ended.v1" }

func (e SubscriptionCheckoutCompleted) withView(v SubscriptionView) Event { e.View = v; return e }
func (e SubscriptionSynced) withView(v SubscriptionView) Event            { e.View = v; return e }
func (e SubscriptionRenewed) withView(v SubscriptionView) Event           { e.View = v; return e }
func (e SubscriptionPaymentFailed) withView(v SubscriptionView) Event     { e.View = v; return e }
func (e SubscriptionCancellationRequested) withView(v SubscriptionView) Event {
	e.View = v
	return e
}
func (e SubscriptionReactivated) withView(v SubscriptionView) Event { e.View = v; return e }
func (e SubscriptionCanceled) withView(v SubscriptionView) Event    { e.View = v; return e }

// apply is the only place a Subscription changes. Facts join their sets and
// the derived state is recomputed; the carried views are for readers only.
func (s *Subscription) apply(e Event) {
	switch e := e.(type) {
	case SubscriptionCheckoutCompleted:
		s.ID = e.SubscriptionID
		s.legacyStripeID(e.StripeSubscriptionID)
		if s.checkouts == nil {
			s.checkouts = map[string]subCheckout{}
		}
		s.checkouts[e.SessionKey] = subCheckout{AccountID: e.AccountID, ProductID: e.ProductID, AffiliateID: e.AffiliateID,
			Amount: e.Amount, Currency: e.Currency, At: e.OccurredAt}
	case SubscriptionSynced:
		s.ID = e.SubscriptionID
		s.legacyStripeID(e.StripeSubscriptionID)
		if s.snapshots == nil {
			s.snapshots = map[string]subSnapshot{}
		}
		s.snapshots[e.SnapshotKey] = subSnapshot{Change: e.Change, Status: e.StripeStatus, AccountID: e.AccountID,
			ProductID: e.ProductID, AffiliateID: e.AffiliateID, Amount: e.Amount, Currency: e.Currency,
			CancelAtPeriodEnd: e.CancelAtPeriodEnd, CurrentPeriodEnd: e.CurrentPeriodEnd, StartedAt: e.StartedAt,
			EndedAt: e.EndedAt, At: e.OccurredAt}
	case SubscriptionRenewed:
		s.ID = e.SubscriptionID
		s.legacyStripeID(e.StripeSubscriptionID)
		if s.invoices == nil {
			s.invoices = map[string]SubscriptionInvoice{}
		}
		s.invoices[e.InvoiceKey] = SubscriptionInvoice{Key: e.InvoiceKey, SaleID: e.SaleID, BillingReason: e.BillingReason,
			AccountID: e.AccountID, ProductID: e.ProductID, AffiliateID: e.AffiliateID, Amount: e.Amount, Currency: e.Currency,
			PeriodStart: e.PeriodStart, PeriodEnd: e.PeriodEnd, PaidAt: e.PaidAt}
	case SubscriptionPaymentFailed:
		s.ID = e.SubscriptionID
		s.legacyStripeID(e.StripeSubscriptionID)
		if s.failures == nil {
			s.failures = map[string]time.Time{}
		}
		if e.FailedAt.After(s.failures[e.InvoiceKey]) {
			s.failures[e.InvoiceKey] = e.FailedAt
		}
	case SubscriptionStripeLinked:
		// Read after the account's erasure, the id is gone: as if it had
		// never been linked, whatever the order the facts came in.
		if e.StripeSubscriptionID != "" {
			s.linked, s.StripeSubscriptionID = true, e.StripeSubscriptionID
		}
	case SubscriptionCancellationRequested:
		s.addIntent(intentCancelAtPeriodEnd, e.RequestedAt)
	case SubscriptionReactivated:
		s.addIntent(intentReactivate, e.RequestedAt)
	case SubscriptionCanceled:
		s.addIntent(intentCancelNow, e.CanceledAt)
	case SubscriptionStarted:
		s.Started, s.plan = true, e.View.ProductID
		return
	case SubscriptionPlanChanged:
		s.plan = e.ToProductID
		return
	case SubscriptionEnded:
		s.endedRecorded = true
		return
	default:
		return
	}
	if !s.replaying {
		s.refresh()
	}
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

func (s *Subscription) addIntent(kind string, at time.Time) {
	if s.intents == nil {
		s.intents = map[string]subIntent{}
	}
	s.intents[kind+"@"+at.Format(time.RFC3339Nano)] = subIntent{Kind: kind, At: at}
}

// latest picks, among candidates, the one with the greatest (time, rank, key).
type latest struct {
	at   time.Time
	rank int
	key  string
	set  bool
}

func (l *latest) offer(at time.Time, rank int, key string) bool {
	if l.set && (at.Before(l.at) || (at.Equal(l.at) && (rank < l.rank || (rank == l.rank && key <= l.key)))) {
		return false
	}
	l.at, l.rank, l.key, l.set = at, rank, key, true
	return true
}

// minString keeps the smallest non-empty value: the same whatever the order.
func minString(cur, v string) string {
	if v != "" && (cur == "" || v < cur) {
		return v
	}
	return cur
}

func minTime(cur, v time.Time) time.Time {
	if !v.IsZero() && (cur.IsZero() || v.Before(cur)) {
		return v
	}
	return cur
}

func maxTime(cur, v time.Time) time.Time {
	if v.After(cur) {
		return v
	}
	return cur
}

func endingStatus(status string) bool {
	return status == "canceled" || status == "incomplete_expired"
}

func troubledStatus(status string) bool {
	return status == "past_due" || status == "unpaid" || status == "incomplete"
}

// refresh recomputes the derived state from the facts. Every choice is a
// function of the set of facts (latest by time, rank and key; earliest;
// smallest), never of their arrival order.
func (s *Subscription) refresh() {
	var v SubscriptionView
	var affiliate string
	var product, amount, cancel, health latest
	var ended, troubled bool
	var endedAt time.Time
	s.Paid, s.AnchorAt, s.first = false, time.Time{}, ""

	for k, c := range s.checkouts {
		v.AccountID, affiliate = minString(v.AccountID, c.AccountID), minString(affiliate, c.AffiliateID)
		if c.ProductID != "" && product.offer(c.At, rankCheckout, k) {
			v.ProductID = c.ProductID
		}
		if c.Amount > 0 && amount.offer(c.At, rankCheckout, k) {
			v.Amount, v.Currency = c.Amount, c.Currency
		}
		v.StartedAt = minTime(v.StartedAt, c.At)
	}
	for k, i := range s.invoices {
		v.AccountID, affiliate = minString(v.AccountID, i.AccountID), minString(affiliate, i.AffiliateID)
		if i.ProductID != "" && product.offer(i.PaidAt, rankInvoice, k) {
			v.ProductID = i.ProductID
		}
		if i.Amount > 0 && (i.BillingReason == BillingReasonCreate || i.BillingReason == BillingReasonCycle) && amount.offer(i.PaidAt, rankInvoice, k) {
			v.Amount, v.Currency = i.Amount, i.Currency
		}
		v.StartedAt = minTime(v.StartedAt, i.PeriodStart)
		v.CurrentPeriodEnd = maxTime(v.CurrentPeriodEnd, i.PeriodEnd)
		if health.offer(i.PaidAt, rankInvoice, k) {
			troubled = false
		}
		if i.Amount > 0 && (!s.Paid || i.PaidAt.Before(s.AnchorAt) || (i.PaidAt.Equal(s.AnchorAt) && k < s.first)) {
			s.Paid, s.AnchorAt, s.first = true, i.PaidAt, k
		}
	}
	for k, at := range s.failures {
		if _, paid := s.invoices[k]; !paid && health.offer(at, rankFailure, k) {
			troubled = true
		}
	}
	for k, n := range s.snapshots {
		v.AccountID, affiliate = minString(v.AccountID, n.AccountID), minString(affiliate, n.AffiliateID)
		if n.ProductID != "" && product.offer(n.At, rankSnapshot, k) {
			v.ProductID = n.ProductID
		}
		if n.Amount > 0 && amount.offer(n.At, rankSnapshot, k) {
			v.Amount, v.Currency = n.Amount, n.Currency
		}
		v.StartedAt = minTime(v.StartedAt, n.StartedAt)
		v.CurrentPeriodEnd = maxTime(v.CurrentPeriodEnd, n.CurrentPeriodEnd)
		if cancel.offer(n.At, rankSnapshot, k) {
			v.CancelAtPeriodEnd = n.CancelAtPeriodEnd
		}
		if health.offer(n.At, rankSnapshot, k) {
			troubled = troubledStatus(n.Status)
		}
		if n.Change == StripeChangeDeleted || endingStatus(n.Status) {
			ended = true
			end := n.EndedAt
			if end.IsZero() {
				end = n.At
			}
			endedAt = minTime(endedAt, end)
		}
	}
	for k, i := range s.intents {
		switch i.Kind {
		case intentCancelAtPeriodEnd:
			if cancel.offer(i.At, rankIntent, k) {
				v.CancelAtPeriodEnd = true
			}
		case intentReactivate:
			if cancel.offer(i.At, rankIntent, k) {
				v.CancelAtPeriodEnd = false
			}
		case intentCancelNow:
			ended = true
			endedAt = minTime(endedAt, i.At)
		}
	}
	switch {
	case ended:
		v.Status, v.EndedAt = SubscriptionStatusEnded, endedAt
	case troubled:
		v.Status = SubscriptionStatusPastDue
	default:
		v.Status = SubscriptionStatusActive
	}
	s.SubscriptionView, s.AffiliateID = v, affiliate
}

// known reports whether the subscription's account and plan are known.
func (s *Subscription) known() bool { return s.AccountID != "" && s.ProductID != "" }

// View returns the subscription as the API shows it.
func (s *Subscription) View() SubscriptionView { return s.SubscriptionView }

// Note returns what the subscription's account needs to know of it.
func (s *Subscription) Note() SubscriptionNote {
	return SubscriptionNote{Paid: s.Paid, Ended: s.Status == SubscriptionStatusEnded, EndedAt: s.EndedAt}
}

// HasAccess reports whether the subscription grants access at now: while it
// is active (a pending cancellation at period end keeps it active until
// then), and, when a payment failed, through the last period a paid
// invoice covers, never into the unpaid period that Stripe already shows
// as current.
func (s *Subscription) HasAccess(now time.Time) bool {
	switch s.Status {
	case SubscriptionStatusEnded:
		return false
	case SubscriptionStatusActive:
		return true
	}
	return now.Before(s.PaidThrough())
}

// PaidThrough is the end of the latest period covered by a paid invoice;
// zero when no invoice is paid.
func (s *Subscription) PaidThrough() time.Time {
	var t time.Time
	for _, i := range s.invoices {
		t = maxTime(t, i.PeriodEnd)
	}
	return t
}

// Invoices returns the paid invoices, oldest period first.
func (s *Subscription) Invoices() []SubscriptionInvoice {
	out := make([]SubscriptionInvoice, 0, len(s.invoices))
	for _, i := range s.invoices {
		out = append(out, i)
	}
	sort.Slice(out, func(a, b int) bool {
		if !out[a].PeriodStart.Equal(out[b].PeriodStart) {
			return out[a].PeriodStart.Before(out[b].PeriodStart)
		}
		return out[a].Key < out[b].Key
	})
	return out
}

// reconcile records the derived events the facts now call for.
func (s *Subscription) reconcile() {
	if !s.known() {
		return
	}
	switch {
	case !s.Started:
		s.record(SubscriptionStarted{SubscriptionID: s.ID, View: s.SubscriptionView})
	case s.plan != s.ProductID:
		s.record(SubscriptionPlanChanged{SubscriptionID: s.ID, FromProductID: s.plan, ToProductID: s.ProductID, View: s.SubscriptionView})
	}
	if s.Status == SubscriptionStatusEnded && !s.endedRecorded {
		s.record(SubscriptionEnded{SubscriptionID: s.ID, View: s.SubscriptionView})
	}
}

// Subscription commands for Stripe facts: each records the fact unless it is
// already known, then the derived events.

func (s *Subscription) recordCheckout(e SubscriptionCheckoutCompleted) {
	if _, ok := s.checkouts[e.SessionKey]; !ok {
		s.recordFact(e)
	}
	s.reconcile()
}

func (s *Subscription) sync(e SubscriptionSynced) {
	if _, ok := s.snapshots[e.SnapshotKey]; !ok {
		s.recordFact(e)
	}
	s.reconcile()
}

func (s *Subscription) recordInvoicePaid(e SubscriptionRenewed) {
	if _, ok := s.invoices[e.InvoiceKey]; !ok {
		s.recordFact(e)
	}
	s.reconcile()
}

func (s *Subscription) recordPaymentFailed(e SubscriptionPaymentFailed) {
	if at, ok := s.failures[e.InvoiceKey]; !ok || e.FailedAt.After(at) {
		s.recordFact(e)
	}
	s.reconcile()
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

// legacyStripeID takes the plain Stripe id of a first-version fact.
func (s *Subscription) legacyStripeID(id string) {
	if id != "" && s.StripeSubscriptionID == "" {
		s.StripeSubscriptionID = id
	}
}

// Subscription commands for the customer's own requests.

func (s *Subscription) requireStarted() error {
	if !s.Started {
		return notFound("subscription")
	}
	return nil
}

// cancel records a cancellation: at the period's end (access continues
// until then) or at once.
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
			s.recordFact(SubscriptionCancellationRequested{SubscriptionID: s.ID, RequestedAt: now})
		}
		return nil
	}
	s.recordFact(SubscriptionCanceled{SubscriptionID: s.ID, CanceledAt: now})
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
		s.recordFact(SubscriptionReactivated{SubscriptionID: s.ID, RequestedAt: now})
	}
	return nil
}
