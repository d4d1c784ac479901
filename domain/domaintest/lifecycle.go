// Package domaintest generates customer lifecycles for property tests of the
// domain and of what is built on it (projections, reports): affiliates and
// sign-ups, the Stripe facts of license purchases and of subscriptions with
// renewals, plan changes, payment failures, cancellations, reactivations and
// ends, refunds and disputes of every payment, and the customers' own
// commands (cancel at period end or now, reactivate, close the account,
// request erasure) at times among those facts.
//
// A Lifecycle is drawn with [Lifecycles]. [Lifecycle.InOrder] gives its
// steps in time order; [Lifecycle.Orders] draws other delivery orders as
// Stripe may produce them: any order, some facts delivered more than once,
// with the customer commands kept causally valid (see [Action]). A
// [Deliverer] registers the lifecycle's affiliates and accounts on a
// *domain.Service, delivers the steps of an order, and settles the
// lifecycle (commission approvals, due erasures).
//
// Ids: the Service must hand out ids with [NewIDs], so that the affiliates
// get ID(1)..ID(a) and the accounts the ids after those, whatever the order;
// every other id is derived from a Stripe id by the domain.
//
// The domain's own order test (domain/order_test.go) uses this package
// too, from the external test package domain_test (domain/export_test.go
// lends it what it needs of the package's insides).
package domaintest

import (
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/aseptsoft/subledger/domain"
)

// Base is the time lifecycles start from; the accounts and affiliates are
// registered a day before.
var Base = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// RegisteredAt is when the lifecycle's affiliates and accounts are
// registered (the clock a Deliverer's Register sets).
var RegisteredAt = Base.Add(-24 * time.Hour)

// Password is the password of every generated account.
const Password = "correct horse battery"

// UnknownAffiliate is an affiliate id that no lifecycle registers: a sale
// that names it earns no commission.
const UnknownAffiliate = "affaffaf-0000-4000-8000-0000000000ff"

// ID returns the n-th id (from 1) that NewIDs hands out.
func ID(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

// NewIDs returns a domain.Config.NewID that hands out ID(1), ID(2), ... It
// is safe for concurrent use.
func NewIDs() func() string {
	var n atomic.Int64
	return func() string { return ID(int(n.Add(1))) }
}

// Limits bounds the size of generated lifecycles. A zero field takes its
// default.
type Limits struct {
	// Affiliates registered: 1 to Affiliates (default 2).
	Affiliates int
	// Accounts registered: 1 to Accounts (default 2).
	Accounts int
	// Licenses bought per account: 0 to Licenses (default 2).
	Licenses int
	// Subscriptions per account: 0 to Subscriptions (default 2).
	Subscriptions int
	// Invoices per subscription: 1 to Invoices (default 6).
	Invoices int
}

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.Affiliates, 2)
	def(&l.Accounts, 2)
	def(&l.Licenses, 2)
	def(&l.Subscriptions, 2)
	def(&l.Invoices, 6)
	return l
}

// Lifecycle is a generated history: affiliates and accounts registered
// first, then Stripe facts and customer actions.
type Lifecycle struct {
	// Affiliates are registered first: affiliate i gets ID(i+1).
	Affiliates []domain.RegisterAffiliate
	// Accounts are registered next: account i gets ID(len(Affiliates)+i+1).
	Accounts []domain.RegisterAccount
	// Resignups are sign-ups during the lifecycle (SignUp actions) with
	// the e-mail address of an account erased before: re-signup i gets
	// ID(len(Affiliates)+len(Accounts)+i+1).
	Resignups []domain.RegisterAccount
	// Facts are the Stripe facts, in the order they were drawn.
	Facts []Fact
	// Actions are the customers' commands, in time order.
	Actions []Action
}

// Registrations returns the sign-ups of the accounts of AccountIDs, in
// the same order: the accounts, then the re-signups.
func (lc Lifecycle) Registrations() []domain.RegisterAccount {
	return append(slices.Clip(lc.Accounts), lc.Resignups...)
}

// AffiliateIDs returns the ids of the lifecycle's affiliates.
func (lc Lifecycle) AffiliateIDs() []string {
	out := make([]string, len(lc.Affiliates))
	for i := range out {
		out[i] = ID(i + 1)
	}
	return out
}

// AccountIDs returns the ids of the lifecycle's accounts, the re-signups'
// last.
func (lc Lifecycle) AccountIDs() []string {
	out := make([]string, len(lc.Accounts)+len(lc.Resignups))
	for i := range out {
		out[i] = ID(len(lc.Affiliates) + i + 1)
	}
	return out
}

// PaymentIntents returns the payment intents of the lifecycle's payments
// (license checkouts and paid invoices with an amount), sorted: each is a
// sale (domain.Service.SaleIDForPaymentIntent).
func (lc Lifecycle) PaymentIntents() []string {
	var out []string
	for _, f := range lc.Facts {
		switch c := f.Command.(type) {
		case domain.RecordCheckoutPaid:
			out = append(out, c.PaymentIntentID)
		case domain.RecordInvoicePaid:
			if c.PaymentIntentID != "" {
				out = append(out, c.PaymentIntentID)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// PaymentIntentsOf returns the payment intents of the license purchases of
// an account, sorted (domain.Service.LicenseIDForPaymentIntent gives their
// licenses).
func (lc Lifecycle) PaymentIntentsOf(accountID string) []string {
	var out []string
	for _, f := range lc.Facts {
		if c, ok := f.Command.(domain.RecordCheckoutPaid); ok && c.AccountID == accountID {
			out = append(out, c.PaymentIntentID)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// StripeSubscriptions returns the Stripe ids of the lifecycle's
// subscriptions, sorted.
func (lc Lifecycle) StripeSubscriptions() []string {
	var out []string
	for _, f := range lc.Facts {
		if f.StripeSubscriptionID != "" {
			out = append(out, f.StripeSubscriptionID)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
