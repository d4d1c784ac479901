package projections

import (
	"time"

	"github.com/aseptsoft/subledger/domain"
)

// License is a perpetual license as the API shows it. Key is personal
// (the owner's): empty after the owner's erasure.
type License struct {
	ID           string
	AccountID    string
	SaleID       string
	ProductID    string
	Quantity     int
	Status       domain.LicenseStatus
	Key          string
	Amount       int64
	Currency     string
	PurchasedAt  time.Time
	KeyIssuedAt  time.Time
	RefundedAt   time.Time
	RevokedAt    time.Time
	RevokeReason string
}

// licenseAccountKey indexes licenses by account, then purchase time.
func licenseAccountKey(l *License) []byte {
	if l.AccountID == "" {
		return nil
	}
	return stringTimeKey(l.AccountID, l.PurchasedAt)
}

func (w *writer) licensePurchased(e domain.LicensePurchased) error {
	return w.upsertLicense(e.LicenseID, func(l *License) {
		l.AccountID, l.SaleID, l.ProductID, l.Quantity = e.AccountID, e.SaleID, e.ProductID, e.Quantity
		l.Amount, l.Currency, l.PurchasedAt = e.Amount, e.Currency, e.PurchasedAt
	})
}

// licenseKeyIssued keeps the key, unless the owner was already erased (a
// late key of an erased owner reads as erased after a rebuild too).
func (w *writer) licenseKeyIssued(e domain.LicenseKeyIssued) error {
	key := e.Key
	if key != "" {
		owner, err := w.accounts.peek(w.txn, e.AccountID)
		if err != nil {
			return err
		}
		if owner != nil && owner.Status == domain.AccountStatusErased {
			key = ""
		}
	}
	return w.upsertLicense(e.LicenseID, func(l *License) {
		if l.AccountID == "" {
			l.AccountID = e.AccountID
		}
		l.Key, l.KeyIssuedAt = key, e.IssuedAt
	})
}

// updateLicense changes the license; an unknown license is left alone.
func (w *writer) updateLicense(id string, change func(*License)) error {
	l, err := w.licenses.get(w.txn, id)
	if err != nil || l == nil {
		return err
	}
	change(l)
	return nil
}

// upsertLicense is updateLicense that starts an unknown license.
func (w *writer) upsertLicense(id string, change func(*License)) error {
	l, err := w.licenses.get(w.txn, id)
	if err != nil {
		return err
	}
	if l == nil {
		l = &License{ID: id, Status: domain.LicenseStatusActive}
		if err := w.licenses.put(w.txn, l); err != nil {
			return err
		}
	}
	change(l)
	return nil
}

// License returns the license with id.
func (v *View) License(id string) (License, bool) {
	l, err := first[License](v.txn, tableLicenses, idKey(id))
	if err != nil || l == nil || l.AccountID == "" {
		return License{}, false
	}
	return *l, true
}

// Licenses returns a page of the account's licenses, oldest purchase
// first. limit <= 0 means DefaultLimit, and it is capped at MaxLimit; a
// cursor from another list is ErrBadCursor or starts at an arbitrary place.
func (v *View) Licenses(accountID string, limit int, cursor string) (Page[License], error) {
	return listByAccount(v, tableLicenses, accountID, limit, cursor,
		func(l *License) string { return l.AccountID },
		func(l *License) []byte { return appendTime(nil, l.PurchasedAt) },
		func(l *License) string { return l.ID })
}
