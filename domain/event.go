package domain

// Event is a domain event: a plain struct with json tags. EventType returns
// the versioned type name ("account.registered.v1"); a new version of an
// event gets a new name and the old one stays readable.
//
// Fields tagged `personal:"true"` are personal data: the codec encrypts them
// with the key of the event's data subject and, after the subject is erased,
// decodes them as zero values. Aggregates cope with such zero values.
// Events are values, never pointers.
type Event interface {
	EventType() string
}

// PersonalEvent is an event with personal fields. DataSubject returns the id
// of the person the fields belong to (an account id or an affiliate id).
type PersonalEvent interface {
	Event
	DataSubject() string
}

// EventTypes returns one zero value of every event type, so that the wiring
// can register them with the codec.
func EventTypes() []Event {
	return []Event{
		AccountRegistered{},
		AccountDetailsChanged{},
		AccountPasswordSet{},
		MarketingConsentGiven{},
		MarketingConsentWithdrawn{},
		StripeCustomerLinked{},
		AccountClosed{},
		AccountSubscriptionNoted{},
		AccountErasureScheduled{},
		AccountErasureUnscheduled{},
		AccountErasureRequested{},
		AccountErased{},

		ReservationClaimed{},
		ReservationReleased{},
		ReservationClaimedV1{},
		ReservationReleasedV1{},

		LicensePurchased{},
		LicenseKeyIssued{},
		LicenseRefunded{},
		LicenseRevoked{},

		SubscriptionCheckoutCompleted{},
		SubscriptionSynced{},
		SubscriptionStarted{},
		SubscriptionStripeLinked{},
		SubscriptionRenewed{},
		SubscriptionPaymentFailed{},
		SubscriptionPlanChanged{},
		SubscriptionCancellationRequested{},
		SubscriptionReactivated{},
		SubscriptionCanceled{},
		SubscriptionEnded{},

		SaleRecorded{},
		SaleReclassified{},
		SaleRefundObserved{},
		SaleDisputeObserved{},
		CommissionEarned{},
		CommissionWithdrawn{},
		CommissionApproved{},
		CommissionReversed{},
		CommissionReversalAdjusted{},

		AffiliateRegistered{},
		AffiliateErased{},

		StripeEventReceived{},
		StripeEventReceivedV1{},

		SessionStarted{},
		SessionTouched{},
		SessionEnded{},
		PasswordResetRequested{},
		PasswordResetSpent{},
		IdempotencyRecorded{},
		IdempotencyRecordedFor{},

		StripeIntentRecorded{},
		StripeIntentFailed{},
		StripeIntentCompleted{},

		PortalLinkIssued{},
		PortalLinkSpent{},
		AffiliateSessionStarted{},
		AffiliateSessionTouched{},
		AffiliateSessionEnded{},
	}
}
