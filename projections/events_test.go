package projections

import (
	"reflect"
	"testing"

	"github.com/aseptsoft/subledger/domain"
)

// ignoredEvents are the domain events no projection needs: reservations,
// Stripe receipts, the facts whose derived events are projected instead,
// and personal data the projections leave out (the Stripe customer id).
var ignoredEvents = map[string]bool{
	domain.StripeCustomerLinked{}.EventType():     true,
	domain.AccountSubscriptionNoted{}.EventType(): true,
	domain.AccountErasureRequested{}.EventType():  true,
	domain.ReservationClaimed{}.EventType():       true,
	domain.ReservationReleased{}.EventType():      true,
	domain.ReservationClaimedV1{}.EventType():     true,
	domain.ReservationReleasedV1{}.EventType():    true,
	domain.SaleRefundObserved{}.EventType():       true,
	domain.SaleDisputeObserved{}.EventType():      true,
	domain.StripeEventReceived{}.EventType():      true,
	domain.StripeEventReceivedV1{}.EventType():    true,
	domain.PasswordResetRequested{}.EventType():   true,
	domain.PasswordResetSpent{}.EventType():       true,
	domain.IdempotencyRecorded{}.EventType():      true,
	domain.IdempotencyRecordedFor{}.EventType():   true,
	// The portal's links and affiliate sessions are read from their own
	// streams (named by token hash).
	domain.PortalLinkIssued{}.EventType():        true,
	domain.PortalLinkSpent{}.EventType():         true,
	domain.AffiliateSessionStarted{}.EventType(): true,
	domain.AffiliateSessionTouched{}.EventType(): true,
	domain.AffiliateSessionEnded{}.EventType():   true,
}

// projectedEvents returns the domain events the projections apply.
func projectedEvents() map[string]bool {
	m := map[string]bool{}
	for _, e := range []domain.Event{
		domain.AccountRegistered{}, domain.AccountDetailsChanged{}, domain.AccountPasswordSet{},
		domain.MarketingConsentGiven{}, domain.MarketingConsentWithdrawn{}, domain.AccountClosed{},
		domain.AccountErasureScheduled{}, domain.AccountErasureUnscheduled{}, domain.AccountErased{},
		domain.LicensePurchased{}, domain.LicenseKeyIssued{}, domain.LicenseRefunded{}, domain.LicenseRevoked{},
		domain.SubscriptionCheckoutCompleted{}, domain.SubscriptionSynced{}, domain.SubscriptionStarted{},
		domain.SubscriptionRenewed{}, domain.SubscriptionPaymentFailed{}, domain.SubscriptionPlanChanged{},
		domain.SubscriptionCancellationRequested{}, domain.SubscriptionReactivated{}, domain.SubscriptionCanceled{},
		domain.SubscriptionEnded{}, domain.SubscriptionStripeLinked{},
		domain.SaleRecorded{}, domain.CommissionEarned{}, domain.CommissionApproved{}, domain.CommissionReversed{},
		domain.CommissionReversalAdjusted{}, domain.SaleReclassified{}, domain.CommissionWithdrawn{},
		domain.AffiliateRegistered{}, domain.AffiliateErased{},
		domain.SessionStarted{}, domain.SessionTouched{}, domain.SessionEnded{},
		domain.StripeIntentRecorded{}, domain.StripeIntentFailed{}, domain.StripeIntentCompleted{},
	} {
		m[e.EventType()] = true
	}
	return m
}

// TestEveryDomainEventIsDecidedOn fails when the domain gains an event type
// that is neither projected nor known to be ignored, so that a new event is
// looked at rather than silently dropped.
func TestEveryDomainEventIsDecidedOn(t *testing.T) {
	projected := projectedEvents()
	for _, e := range domain.EventTypes() {
		name := e.EventType()
		if !projected[name] && !ignoredEvents[name] {
			t.Errorf("event %s (%s) is new: project it or list it in ignoredEvents", name, reflect.TypeOf(e))
		}
	}
}

// TestZeroEventsChangeNothing applies the zero value of every event type:
// no error, no panic, and no row without an id.
func TestZeroEventsChangeNothing(t *testing.T) {
	p := newProjector(t, Config{})
	for i, e := range domain.EventTypes() {
		applyEvents(t, p, uint64(i+1), e)
	}
	applyEvents(t, p, 1000, domain.EventTypes()...)
	for table, rows := range dump(t, p) {
		if table != tableCheckpoint && table != tableCounters && table != tableSummaries && len(rows) > 0 {
			t.Errorf("table %s has rows %+v", table, rows)
		}
	}
}
