package domaintest

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aseptsoft/subledger/domain"
)

// Fact is one Stripe fact as the API layer hands it to the domain.
type Fact struct {
	// At is the fact's Stripe time.
	At time.Time
	// Label names the fact (the webhook and its object) in reports.
	Label string
	// AccountID is the account the fact concerns.
	AccountID string
	// StripeSubscriptionID is set for facts about a subscription (they
	// land on its stream): its checkout, snapshots and invoices.
	StripeSubscriptionID string
	// EventID and Type are the Stripe event's id and type: each fact is one
	// event, and a redelivery is the same fact again.
	EventID, Type string
	// Command is one of domain.RecordCheckoutPaid,
	// RecordSubscriptionCheckout, RecordSubscriptionChange,
	// RecordInvoicePaid, RecordInvoicePaymentFailed, RecordRefund and
	// RecordDispute; nil for an event that changes nothing but its receipt
	// (an unpaid checkout, a failed asynchronous payment).
	Command any
}

// Apply hands the fact to s, then records the event's receipt, as the
// Stripe applier does.
func (f Fact) Apply(ctx context.Context, s *domain.Service) error {
	if err := f.apply(ctx, s); err != nil {
		return err
	}
	_, _, err := s.RecordStripeEvent(ctx, domain.RecordStripeEvent{EventID: f.EventID, Type: f.Type, CreatedAt: f.At})
	return err
}

func (f Fact) apply(ctx context.Context, s *domain.Service) error {
	var err error
	switch c := f.Command.(type) {
	case nil:
	case domain.RecordCheckoutPaid:
		_, _, err = s.RecordCheckoutPaid(ctx, c)
	case domain.RecordSubscriptionCheckout:
		_, _, err = s.RecordSubscriptionCheckout(ctx, c)
	case domain.RecordSubscriptionChange:
		_, _, err = s.RecordSubscriptionChange(ctx, c)
	case domain.RecordInvoicePaid:
		_, _, err = s.RecordInvoicePaid(ctx, c)
	case domain.RecordInvoicePaymentFailed:
		_, _, err = s.RecordInvoicePaymentFailed(ctx, c)
	case domain.RecordRefund:
		_, _, err = s.RecordRefund(ctx, c)
	case domain.RecordDispute:
		_, _, err = s.RecordDispute(ctx, c)
	default:
		return fmt.Errorf("domaintest: fact %q has an unknown command %T", f.Label, f.Command)
	}
	return err
}

// GoString keeps rapid's reports of drawn lifecycles readable.
func (f Fact) GoString() string { return fmt.Sprintf("%q", f.At.Format(time.RFC3339)+" "+f.Label) }

// ActionKind is the kind of a customer's command.
type ActionKind string

// Customer commands.
const (
	CancelAtPeriodEnd ActionKind = "cancel_at_period_end"
	CancelNow         ActionKind = "cancel_now"
	Reactivate        ActionKind = "reactivate"
	CloseAccount      ActionKind = "close_account"
	RequestErasure    ActionKind = "request_erasure"
	// SignUp registers Action.SignUp as the account Action.AccountID.
	SignUp ActionKind = "sign_up"
)

// Action is a customer's command at a time of the Service's clock.
//
// Causality: no Stripe fact of the action's scope that occurs after the
// action (At later than the action's) is delivered before it. The scope of
// a subscription command is its subscription's facts; that of an account
// command all facts of the account. A subscription command decides on
// what its subscription's facts say, so, for its decision to be the same
// in every order, every fact of its subscription that occurred up to its
// time is delivered before it too (the customer acts on what happened so
// far). An account command (close, erasure) reads nothing of the facts,
// and the facts that occurred before it may arrive before or after it.
// Actions keep their time order.
type Action struct {
	Kind ActionKind
	At   time.Time
	// AccountID is the customer's account.
	AccountID string
	// StripeSubscriptionID names the subscription of a subscription
	// command.
	StripeSubscriptionID string
	// SignUp is the sign-up of a SignUp action.
	SignUp domain.RegisterAccount
}

// Apply runs the command on s (whose clock the caller has set to a.At).
func (a Action) Apply(ctx context.Context, s *domain.Service) error {
	var err error
	switch a.Kind {
	case CancelAtPeriodEnd, CancelNow:
		_, _, err = s.CancelSubscription(ctx, domain.CancelSubscription{SubscriptionID: s.SubscriptionIDFor(a.StripeSubscriptionID), AtPeriodEnd: a.Kind == CancelAtPeriodEnd})
	case Reactivate:
		_, _, err = s.ReactivateSubscription(ctx, domain.ReactivateSubscription{SubscriptionID: s.SubscriptionIDFor(a.StripeSubscriptionID)})
	case CloseAccount:
		_, _, err = s.CloseAccount(ctx, domain.CloseAccount{AccountID: a.AccountID})
	case RequestErasure:
		_, _, err = s.RequestErasure(ctx, domain.RequestErasure{AccountID: a.AccountID})
	case SignUp:
		var acc *domain.Account
		if acc, _, err = s.RegisterAccount(ctx, a.SignUp); err == nil && acc.ID != a.AccountID {
			return fmt.Errorf("domaintest: the sign-up got id %s, want %s: the Service must use domaintest.NewIDs and no other id may be handed out", acc.ID, a.AccountID)
		}
	default:
		return fmt.Errorf("domaintest: unknown action %q", a.Kind)
	}
	return err
}

// Label names the action in reports.
func (a Action) Label() string {
	target := a.AccountID
	if a.StripeSubscriptionID != "" {
		target = a.StripeSubscriptionID
	}
	return fmt.Sprintf("customer %s %s", a.Kind, target)
}

// GoString keeps rapid's reports of drawn lifecycles readable.
func (a Action) GoString() string { return fmt.Sprintf("%q", a.At.Format(time.RFC3339)+" "+a.Label()) }

// inScope reports whether f is in the action's scope.
func (a Action) inScope(f Fact) bool {
	if a.StripeSubscriptionID != "" {
		return f.StripeSubscriptionID == a.StripeSubscriptionID
	}
	return f.AccountID == a.AccountID
}

// mustPrecede reports whether f must be delivered before a.
func (a Action) mustPrecede(f Fact) bool {
	return a.StripeSubscriptionID != "" && a.inScope(f) && !f.At.After(a.At)
}

// mustFollow reports whether f must be delivered after a.
func (a Action) mustFollow(f Fact) bool { return a.inScope(f) && f.At.After(a.At) }

// Expected reports whether err is nil or a refusal that a generated
// lifecycle may provoke: an action on a subscription not yet known, already
// ended or whose period is over, on an account erased; a commission not yet
// due or not earned; an erasure not due.
func Expected(err error) bool {
	switch domain.ErrorCode(err) {
	case domain.CodeSubscriptionEnded, domain.CodePeriodOver, domain.CodeNotFound, domain.CodeCommissionNotDue,
		domain.CodeErasureNotDue, domain.CodeAccountErased:
		return true
	}
	return err == nil
}

// Step is one delivery: a fact (Lifecycle.Facts[Index]) or an action
// (Lifecycle.Actions[Index]).
type Step struct {
	Action bool
	Index  int
}

// Label names the step of lc in reports.
func (lc Lifecycle) Label(s Step) string {
	if s.Action {
		a := lc.Actions[s.Index]
		return a.At.Format(time.RFC3339) + " " + a.Label()
	}
	f := lc.Facts[s.Index]
	return f.At.Format(time.RFC3339) + " " + f.Label
}

// Labels names the steps of an order.
func (lc Lifecycle) Labels(steps []Step) []string {
	out := make([]string, len(steps))
	for i, s := range steps {
		out[i] = lc.Label(s)
	}
	return out
}

// InOrder returns the steps in time order: every fact once, each action
// after the facts that occurred up to its time.
func (lc Lifecycle) InOrder() []Step {
	steps := make([]Step, 0, len(lc.Facts)+len(lc.Actions))
	for i := range lc.Facts {
		steps = append(steps, Step{Index: i})
	}
	for i := range lc.Actions {
		steps = append(steps, Step{Action: true, Index: i})
	}
	slices.SortStableFunc(steps, func(a, b Step) int {
		ta, tb := lc.time(a), lc.time(b)
		if c := ta.Compare(tb); c != 0 {
			return c
		}
		switch {
		case a.Action == b.Action:
			return 0
		case a.Action:
			return 1
		}
		return -1
	})
	return steps
}

func (lc Lifecycle) time(s Step) time.Time {
	if s.Action {
		return lc.Actions[s.Index].At
	}
	return lc.Facts[s.Index].At
}
