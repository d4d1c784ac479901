package projections

import (
	"time"

	"github.com/aseptsoft/subledger/domain"
)

// Affiliate is an affiliate as the API shows it. Name and Email are
// personal (the affiliate's own). APIKeySHA256 is the hex SHA-256 of its
// API key (domain.HashAPIKey), for authentication.
type Affiliate struct {
	ID              string
	Name            string
	Email           string
	Code            string
	RateBps         int
	RecurringMonths int
	APIKeySHA256    string
	RegisteredAt    time.Time
	// ErasedAt is when the affiliate was erased (name, e-mail and API key
	// gone); zero while it is not.
	ErasedAt time.Time
}

func affiliateCodeKey(a *Affiliate) []byte {
	if a.Code == "" {
		return nil
	}
	return stringKey(a.Code)
}

func affiliateAPIKeyKey(a *Affiliate) []byte {
	if a.APIKeySHA256 == "" {
		return nil
	}
	return stringKey(a.APIKeySHA256)
}

func (w *writer) affiliateRegistered(e domain.AffiliateRegistered) error {
	return w.affiliates.put(w.txn, &Affiliate{
		ID: e.AffiliateID, Name: e.Name, Email: e.Email, Code: e.Code,
		RateBps: e.RateBps, RecurringMonths: e.RecurringMonths, APIKeySHA256: e.APIKeySHA256,
		RegisteredAt: e.RegisteredAt,
	})
}

// Affiliate returns the affiliate with id.
func (v *View) Affiliate(id string) (Affiliate, bool) {
	a, err := first[Affiliate](v.txn, tableAffiliates, idKey(id))
	if err != nil || a == nil {
		return Affiliate{}, false
	}
	return *a, true
}

// AffiliateByCode returns the affiliate with the referral code.
func (v *View) AffiliateByCode(code string) (Affiliate, bool) {
	return v.affiliateBy(indexCode, code)
}

// AffiliateByAPIKeyHash returns the affiliate whose API key has the hex
// SHA-256 digest hash (domain.HashAPIKey of the presented key).
func (v *View) AffiliateByAPIKeyHash(hash string) (Affiliate, bool) {
	return v.affiliateBy(indexAPIKey, hash)
}

func (v *View) affiliateBy(index, value string) (Affiliate, bool) {
	if value == "" {
		return Affiliate{}, false
	}
	raw, err := v.txn.First(tableAffiliates, index+"_prefix", stringKey(value))
	if err != nil || raw == nil {
		return Affiliate{}, false
	}
	return *raw.(*Affiliate), true
}
