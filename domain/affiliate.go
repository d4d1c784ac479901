package domain

import "time"

// Affiliate is a partner who refers sales and earns a commission on them.
// Its commissions live on the streams of the sales it referred (see Sale),
// so this stream stays short.
type Affiliate struct {
	ID              string
	Name            string
	Email           string
	Code            string
	RateBps         int
	RecurringMonths int
	APIKeySHA256    string
	RegisteredAt    time.Time
	// ErasedAt is when the affiliate was erased: its name and e-mail are
	// shredded and its API key revoked; its figures stay.
	ErasedAt time.Time

	changes []Event
}

func newAffiliate() *Affiliate { return &Affiliate{} }

func (a *Affiliate) uncommitted() *[]Event { return &a.changes }

// record applies an event and keeps it to be appended.
func (a *Affiliate) record(e Event) {
	a.apply(e)
	a.changes = append(a.changes, e)
}

// AffiliateRegistered is the first event of an affiliate. RateBps is the
// commission rate in basis points; RecurringMonths is how long after a
// subscription's first payment its renewals still earn commission (0: the
// first payment only). APIKeySHA256 is the hex SHA-256 of the affiliate's
// API key, which is shown once and not kept.
type AffiliateRegistered struct {
	AffiliateID     string    `json:"affiliate_id"`
	Name            string    `json:"name" personal:"true"`
	Email           string    `json:"email" personal:"true"`
	Code            string    `json:"code"`
	RateBps         int       `json:"rate_bps"`
	RecurringMonths int       `json:"recurring_months"`
	APIKeySHA256    string    `json:"api_key_sha256"`
	RegisteredAt    time.Time `json:"registered_at"`
}

// AffiliateErased records that the affiliate was erased: its API key is
// revoked, and its key is shredded after, so its name and e-mail read as
// erased. Its sales and commissions stay, for the vendor's accounts.
type AffiliateErased struct {
	AffiliateID string    `json:"affiliate_id"`
	ErasedAt    time.Time `json:"erased_at"`
}

func (AffiliateRegistered) EventType() string { return "affiliate.registered.v1" }
func (AffiliateErased) EventType() string     { return "affiliate.erased.v1" }

// DataSubject returns the affiliate, who owns the personal fields.
func (e AffiliateRegistered) DataSubject() string { return e.AffiliateID }

// apply is the only place an Affiliate changes.
func (a *Affiliate) apply(e Event) {
	switch e := e.(type) {
	case AffiliateRegistered:
		a.ID, a.Name, a.Email, a.Code = e.AffiliateID, e.Name, e.Email, e.Code
		a.RateBps, a.RecurringMonths, a.APIKeySHA256, a.RegisteredAt = e.RateBps, e.RecurringMonths, e.APIKeySHA256, e.RegisteredAt
	case AffiliateErased:
		a.Name, a.Email, a.APIKeySHA256, a.ErasedAt = "", "", "", e.ErasedAt
	}
}

// register records the affiliate.
func (a *Affiliate) register(e AffiliateRegistered) error {
	if a.ID != "" {
		return Errorf(KindConflict, CodeConflict, "the affiliate already exists")
	}
	a.record(e)
	return nil
}

// erase records the erasure; erasing an erased affiliate changes nothing.
func (a *Affiliate) erase(at time.Time) error {
	if a.ID == "" {
		return notFound("affiliate")
	}
	if a.ErasedAt.IsZero() {
		a.record(AffiliateErased{AffiliateID: a.ID, ErasedAt: at})
	}
	return nil
}

// HashAPIKey returns the digest an affiliate API key is stored and looked up
// by. Keys are 256-bit random, so a plain SHA-256 suffices.
func HashAPIKey(key string) string { return HashToken(key) }
