package domain

import (
	"strings"
	"time"
)

// AccountStatus is the life-cycle state of an account.
type AccountStatus string

// Account statuses.
const (
	AccountStatusActive AccountStatus = "active"
	AccountStatusClosed AccountStatus = "closed"
	AccountStatusErased AccountStatus = "erased"
)

// Account is a customer account. Personal fields read as empty after erasure.
type Account struct {
	ID           string
	Status       AccountStatus
	Name         string
	Company      string
	Email        string
	PasswordHash string
	// PasswordSetAt is when the current password was set; a session
	// started on an older password is no longer valid.
	PasswordSetAt    time.Time
	MarketingConsent bool
	// MarketingConsentAt is when marketing consent was last given; zero
	// while it is not given.
	MarketingConsentAt time.Time
	StripeCustomerID   string
	CreatedAt          time.Time
	UpdatedAt          time.Time
	ClosedAt           time.Time
	ErasureReason      string
	ErasedAt           time.Time
	// ErasureDueAt is when a scheduled erasure falls due; zero when none is.
	ErasureDueAt time.Time
	// Subscriptions are the account's subscriptions by id.
	Subscriptions map[string]SubscriptionNote

	changes []Event
}

func newAccount() *Account { return &Account{} }

func (a *Account) uncommitted() *[]Event { return &a.changes }

// record applies an event and keeps it to be appended.
func (a *Account) record(e Event) {
	a.apply(e)
	a.changes = append(a.changes, e)
}

// Account events.

// AccountRegistered is the first event of an account.
type AccountRegistered struct {
	AccountID        string    `json:"account_id"`
	Name             string    `json:"name" personal:"true"`
	Company          string    `json:"company,omitempty" personal:"true"`
	Email            string    `json:"email" personal:"true"`
	PasswordHash     string    `json:"password_hash" personal:"true"`
	MarketingConsent bool      `json:"marketing_consent"`
	RegisteredAt     time.Time `json:"registered_at"`
}

// AccountDetailsChanged carries the account's new name, company and e-mail.
type AccountDetailsChanged struct {
	AccountID string    `json:"account_id"`
	Name      string    `json:"name" personal:"true"`
	Company   string    `json:"company,omitempty" personal:"true"`
	Email     string    `json:"email" personal:"true"`
	ChangedAt time.Time `json:"changed_at"`
}

// AccountPasswordSet carries a new password hash.
type AccountPasswordSet struct {
	AccountID    string    `json:"account_id"`
	PasswordHash string    `json:"password_hash" personal:"true"`
	SetAt        time.Time `json:"set_at"`
}

// MarketingConsentGiven records consent to marketing mail.
type MarketingConsentGiven struct {
	AccountID string    `json:"account_id"`
	IPAddress string    `json:"ip_address,omitempty" personal:"true"`
	GivenAt   time.Time `json:"given_at"`
}

// MarketingConsentWithdrawn records the withdrawal of consent to marketing mail.
type MarketingConsentWithdrawn struct {
	AccountID   string    `json:"account_id"`
	IPAddress   string    `json:"ip_address,omitempty" personal:"true"`
	WithdrawnAt time.Time `json:"withdrawn_at"`
}

// StripeCustomerLinked records the account's Stripe customer.
type StripeCustomerLinked struct {
	AccountID  string    `json:"account_id"`
	CustomerID string    `json:"customer_id" personal:"true"`
	LinkedAt   time.Time `json:"linked_at"`
}

// AccountClosed records that the account was closed.
type AccountClosed struct {
	AccountID string    `json:"account_id"`
	ClosedAt  time.Time `json:"closed_at"`
}

// AccountSubscriptionNoted records what is known of one of the account's
// subscriptions; notes of one subscription merge (paid and ended only grow).
type AccountSubscriptionNoted struct {
	AccountID      string           `json:"account_id"`
	SubscriptionID string           `json:"subscription_id"`
	Note           SubscriptionNote `json:"note"`
}

// AccountErasureScheduled records that the account will be erased at DueAt
// because its last paid subscription ended.
type AccountErasureScheduled struct {
	AccountID string    `json:"account_id"`
	DueAt     time.Time `json:"due_at"`
}

// AccountErasureUnscheduled records that a scheduled erasure no longer
// applies (a subscription is live again).
type AccountErasureUnscheduled struct {
	AccountID string `json:"account_id"`
}

// AccountErasureRequested records why the account is being erased:
// "request" (the person asked) or "subscription_ended" (the grace after the
// last paid subscription passed).
type AccountErasureRequested struct {
	AccountID   string    `json:"account_id"`
	Reason      string    `json:"reason"`
	RequestedAt time.Time `json:"requested_at"`
}

// AccountErased records that the account's data key is to be shredded; from
// then on its personal fields read as erased.
type AccountErased struct {
	AccountID string    `json:"account_id"`
	ErasedAt  time.Time `json:"erased_at"`
}

// EventType implementations.

func (AccountRegistered) EventType() string         { return "account.registered.v1" }
func (AccountDetailsChanged) EventType() string     { return "account.details_changed.v1" }
func (AccountPasswordSet) EventType() string        { return "account.password_set.v1" }
func (MarketingConsentGiven) EventType() string     { return "account.marketing_consent_given.v1" }
func (MarketingConsentWithdrawn) EventType() string { return "account.marketing_consent_withdrawn.v1" }
func (StripeCustomerLinked) EventType() string      { return "account.stripe_customer_linked.v1" }
func (AccountClosed) EventType() string             { return "account.closed.v1" }
func (AccountSubscriptionNoted) EventType() string  { return "account.subscription_noted.v1" }
func (AccountErasureScheduled) EventType() string   { return "account.erasure_scheduled.v1" }
func (AccountErasureUnscheduled) EventType() string { return "account.erasure_unscheduled.v1" }
func (AccountErasureRequested) EventType() string   { return "account.erasure_requested.v1" }
func (AccountErased) EventType() string             { return "account.erased.v1" }

// DataSubject implementations: the account owns the personal fields.

func (e AccountRegistered) DataSubject() string         { return e.AccountID }
func (e AccountDetailsChanged) DataSubject() string     { return e.AccountID }
func (e AccountPasswordSet) DataSubject() string        { return e.AccountID }
func (e MarketingConsentGiven) DataSubject() string     { return e.AccountID }
func (e MarketingConsentWithdrawn) DataSubject() string { return e.AccountID }
func (e StripeCustomerLinked) DataSubject() string      { return e.AccountID }

// apply is the only place an Account changes.
func (a *Account) apply(e Event) {
	switch e := e.(type) {
	case AccountRegistered:
		a.ID = e.AccountID
		a.Status = AccountStatusActive
		a.Name, a.Company, a.Email = e.Name, e.Company, e.Email
		a.PasswordHash, a.PasswordSetAt = e.PasswordHash, e.RegisteredAt
		a.MarketingConsent = e.MarketingConsent
		if e.MarketingConsent {
			a.MarketingConsentAt = e.RegisteredAt
		}
		a.CreatedAt, a.UpdatedAt = e.RegisteredAt, e.RegisteredAt
	case AccountDetailsChanged:
		a.Name, a.Company, a.Email = e.Name, e.Company, e.Email
		a.UpdatedAt = e.ChangedAt
	case AccountPasswordSet:
		a.PasswordHash, a.PasswordSetAt = e.PasswordHash, e.SetAt
		a.UpdatedAt = e.SetAt
	case MarketingConsentGiven:
		a.MarketingConsent, a.MarketingConsentAt = true, e.GivenAt
		a.UpdatedAt = e.GivenAt
	case MarketingConsentWithdrawn:
		a.MarketingConsent, a.MarketingConsentAt = false, time.Time{}
		a.UpdatedAt = e.WithdrawnAt
	case StripeCustomerLinked:
		a.StripeCustomerID = e.CustomerID
	case AccountClosed:
		a.Status = AccountStatusClosed
		a.ClosedAt = e.ClosedAt
		a.UpdatedAt = e.ClosedAt
	case AccountSubscriptionNoted:
		if a.Subscriptions == nil {
			a.Subscriptions = map[string]SubscriptionNote{}
		}
		a.Subscriptions[e.SubscriptionID] = a.Subscriptions[e.SubscriptionID].merge(e.Note)
	case AccountErasureScheduled:
		a.ErasureDueAt = e.DueAt
	case AccountErasureUnscheduled:
		a.ErasureDueAt = time.Time{}
	case AccountErasureRequested:
		a.ErasureReason = e.Reason
	case AccountErased:
		a.Status = AccountStatusErased
		a.ErasedAt, a.UpdatedAt = e.ErasedAt, e.ErasedAt
		a.ErasureDueAt = time.Time{}
		a.Name, a.Company, a.Email, a.PasswordHash, a.StripeCustomerID = "", "", "", "", ""
		a.MarketingConsent, a.MarketingConsentAt = false, time.Time{}
	}
}

// Account commands: each checks its rules and records events, or returns an
// error and records nothing.

// exists reports whether the account was registered.
func (a *Account) exists() bool { return a.ID != "" }

// requireActive refuses changes to a missing, closed or erased account.
func (a *Account) requireActive() error {
	switch {
	case !a.exists():
		return notFound("account")
	case a.Status == AccountStatusErased:
		return Errorf(KindConflict, CodeAccountErased, "the account was erased")
	case a.Status == AccountStatusClosed:
		return Errorf(KindConflict, CodeAccountClosed, "the account is closed")
	}
	return nil
}

// requireNotErased refuses changes to a missing or erased account.
func (a *Account) requireNotErased() error {
	switch {
	case !a.exists():
		return notFound("account")
	case a.Status == AccountStatusErased:
		return Errorf(KindConflict, CodeAccountErased, "the account was erased")
	}
	return nil
}

// register records a new account; an existing one is a conflict.
func (a *Account) register(id, name, company, email, hash string, consent bool, at time.Time) error {
	if a.exists() {
		return Errorf(KindConflict, CodeConflict, "the account already exists")
	}
	a.record(AccountRegistered{AccountID: id, Name: name, Company: company, Email: email,
		PasswordHash: hash, MarketingConsent: consent, RegisteredAt: at})
	return nil
}

// changeDetails records the details given (nil keeps a detail), unless
// they change nothing.
func (a *Account) changeDetails(name, company, email *string, at time.Time) error {
	if err := a.requireActive(); err != nil {
		return err
	}
	e := AccountDetailsChanged{AccountID: a.ID, Name: a.Name, Company: a.Company, Email: a.Email, ChangedAt: at}
	if name != nil {
		e.Name = strings.TrimSpace(*name)
	}
	if company != nil {
		e.Company = strings.TrimSpace(*company)
	}
	if email != nil {
		e.Email = strings.TrimSpace(*email)
	}
	if e.Name == a.Name && e.Company == a.Company && e.Email == a.Email {
		return nil
	}
	a.record(e)
	return nil
}

// setPassword records a new password hash, after checking the current
// password when checkCurrent is set.
func (a *Account) setPassword(checkCurrent bool, current, newHash string, at time.Time) error {
	if err := a.requireActive(); err != nil {
		return err
	}
	if checkCurrent && !VerifyPassword(a.PasswordHash, current) {
		return Errorf(KindForbidden, CodeInvalidCredentials, "the current password is wrong")
	}
	a.record(AccountPasswordSet{AccountID: a.ID, PasswordHash: newHash, SetAt: at})
	return nil
}

// setMarketingConsent records the giving or withdrawal of consent, unless
// it is already so.
func (a *Account) setMarketingConsent(given bool, ip string, at time.Time) error {
	if err := a.requireActive(); err != nil {
		return err
	}
	switch {
	case given == a.MarketingConsent:
	case given:
		a.record(MarketingConsentGiven{AccountID: a.ID, IPAddress: ip, GivenAt: at})
	default:
		a.record(MarketingConsentWithdrawn{AccountID: a.ID, IPAddress: ip, WithdrawnAt: at})
	}
	return nil
}

// linkStripeCustomer records the account's Stripe customer, unless it is
// already linked.
func (a *Account) linkStripeCustomer(customerID string, at time.Time) error {
	if err := a.requireNotErased(); err != nil {
		return err
	}
	if customerID != a.StripeCustomerID {
		a.record(StripeCustomerLinked{AccountID: a.ID, CustomerID: customerID, LinkedAt: at})
	}
	return nil
}

// close records the closing of the account; closing a closed account
// changes nothing.
func (a *Account) close(at time.Time) error {
	if err := a.requireNotErased(); err != nil {
		return err
	}
	if a.Status != AccountStatusClosed {
		a.record(AccountClosed{AccountID: a.ID, ClosedAt: at})
	}
	return nil
}
