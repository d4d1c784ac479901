// The events of a subscription (see the top of subscription.go): the facts
// known of it, from Stripe and from the customer, then the events derived
// from them. Every one but SubscriptionStripeLinked carries the view after
// it.

package domain

import "time"

// viewCarrier is an event that carries the subscription's view after it;
// record sets the view.
type viewCarrier interface {
	Event
	withView(SubscriptionView) Event
}

// Facts from Stripe.

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

// Facts from the customer.

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

// Derived events, and the link of the Stripe id.

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
func (e SubscriptionStarted) withView(v SubscriptionView) Event     { e.View = v; return e }
func (e SubscriptionPlanChanged) withView(v SubscriptionView) Event { e.View = v; return e }
func (e SubscriptionEnded) withView(v SubscriptionView) Event       { e.View = v; return e }
