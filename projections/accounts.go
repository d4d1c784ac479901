package projections

import (
	"iter"
	"time"

	"github.com/aseptsoft/subledger/domain"
)

var zeroTime time.Time

// Account is a customer account as the API shows it. Name, Company and
// Email are personal: empty after the account's erasure. The password hash
// and the Stripe customer id are not projected at all.
type Account struct {
	ID               string
	Status           domain.AccountStatus
	Name             string
	Company          string
	Email            string
	MarketingConsent bool
	// MarketingConsentAt is when consent was given; zero while it is not.
	MarketingConsentAt time.Time
	// PasswordSetAt is when the current password was set (not personal);
	// sessions on an older one are ended.
	PasswordSetAt time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
	ClosedAt      time.Time
	ErasedAt      time.Time
	// ErasureDueAt is when a scheduled erasure falls due; zero when none is.
	ErasureDueAt time.Time
}

// accountEmailKey indexes an account by its normalised e-mail address; an
// account without one (erased) has no entry.
func accountEmailKey(a *Account) []byte {
	if a.Email == "" {
		return nil
	}
	return stringKey(domain.NormalizeEmail(a.Email))
}

// accountErasureDueKey indexes accounts with a scheduled erasure by its time.
func accountErasureDueKey(a *Account) []byte {
	if a.ErasureDueAt.IsZero() || a.Status == domain.AccountStatusErased {
		return nil
	}
	return appendTime(make([]byte, 0, timeKeyLen), a.ErasureDueAt)
}

// accountMoved counts a sign-up for a new account and moves the status
// counts.
func (w *writer) accountMoved(orig, a *Account) {
	if orig != nil {
		w.count(counterKey{kind: counterAccountStatus, a: string(orig.Status)}, -1, 0)
	} else if a != nil {
		w.count(counterKey{kind: counterSignups, day: dayOf(a.CreatedAt)}, 1, 0)
	}
	if a != nil {
		w.count(counterKey{kind: counterAccountStatus, a: string(a.Status)}, 1, 0)
	}
}

func (w *writer) accountRegistered(e domain.AccountRegistered) error {
	var consentAt time.Time
	if e.MarketingConsent {
		consentAt = e.RegisteredAt
	}
	return w.accounts.put(w.txn, &Account{
		ID: e.AccountID, Status: domain.AccountStatusActive,
		Name: e.Name, Company: e.Company, Email: e.Email, MarketingConsent: e.MarketingConsent,
		MarketingConsentAt: consentAt, PasswordSetAt: e.RegisteredAt,
		CreatedAt: e.RegisteredAt, UpdatedAt: e.RegisteredAt,
	})
}

// updateAccount changes the account; an unknown account is left alone.
// Changes of an erased account's personal fields are not taken.
func (w *writer) updateAccount(id string, change func(*Account)) error {
	a, err := w.accounts.get(w.txn, id)
	if err != nil || a == nil {
		return err
	}
	erased := a.Status == domain.AccountStatusErased
	change(a)
	if erased {
		a.Status, a.Name, a.Company, a.Email, a.MarketingConsent, a.MarketingConsentAt = domain.AccountStatusErased, "", "", "", false, zeroTime
	}
	return nil
}

// accountErased empties the personal fields of the account and of its
// licenses (the license keys), so no table holds them any more; the e-mail
// index entry goes with the address.
func (w *writer) accountErased(e domain.AccountErased) error {
	err := w.updateAccount(e.AccountID, func(a *Account) {
		a.Status, a.ErasedAt, a.UpdatedAt, a.ErasureDueAt = domain.AccountStatusErased, e.ErasedAt, e.ErasedAt, zeroTime
		a.Name, a.Company, a.Email, a.MarketingConsent, a.MarketingConsentAt = "", "", "", false, zeroTime
	})
	if err != nil {
		return err
	}
	// The account's licenses stored before this batch...
	it, err := w.txn.Get(tableLicenses, indexAccount+"_prefix", stringKey(e.AccountID))
	if err != nil {
		return err
	}
	var ids []string
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if l := raw.(*License); l.Key != "" {
			ids = append(ids, l.ID)
		}
	}
	for _, id := range ids {
		if _, err := w.licenses.get(w.txn, id); err != nil {
			return err
		}
	}
	// ...and those of this batch, all private copies now.
	for _, c := range w.licenses.rows {
		if c.row != nil && c.row.AccountID == e.AccountID {
			c.row.Key = ""
		}
	}
	return nil
}

// Account returns the account with id.
func (v *View) Account(id string) (Account, bool) {
	a, err := first[Account](v.txn, tableAccounts, idKey(id))
	if err != nil || a == nil {
		return Account{}, false
	}
	return *a, true
}

// AccountByEmail returns the live account with the e-mail address (compared
// normalised: trimmed, lower case). An erased account has no address, and
// its address is free for another account; when two accounts briefly hold
// one address (one changing away from it), an active one wins.
func (v *View) AccountByEmail(email string) (Account, bool) {
	norm := domain.NormalizeEmail(email)
	if norm == "" {
		return Account{}, false
	}
	it, err := v.txn.Get(tableAccounts, indexEmail+"_prefix", stringKey(norm))
	if err != nil {
		return Account{}, false
	}
	var found *Account
	for raw := it.Next(); raw != nil; raw = it.Next() {
		a := raw.(*Account)
		if found == nil || (found.Status != domain.AccountStatusActive && a.Status == domain.AccountStatusActive) {
			found = a
		}
	}
	if found == nil {
		return Account{}, false
	}
	return *found, true
}

// ErasuresDue yields the ids of accounts whose scheduled erasure is due at
// the view's time (ErasureDueAt <= Now), earliest first.
func (v *View) ErasuresDue() iter.Seq[string] {
	return func(yield func(string) bool) {
		it, err := v.txn.Get(tableAccounts, indexErasureDue)
		if err != nil {
			return
		}
		for raw := it.Next(); raw != nil; raw = it.Next() {
			a := raw.(*Account)
			if a.ErasureDueAt.After(v.now) || !yield(a.ID) {
				return
			}
		}
	}
}

// ErasedAccounts yields the ids of every erased account. It scans the whole
// accounts table: it is meant for reconciling once at start-up (making sure
// every erased account's key is shredded), not for requests.
func (v *View) ErasedAccounts() iter.Seq[string] {
	return func(yield func(string) bool) {
		it, err := v.txn.Get(tableAccounts, indexID)
		if err != nil {
			return
		}
		for raw := it.Next(); raw != nil; raw = it.Next() {
			if a := raw.(*Account); a.Status == domain.AccountStatusErased && !yield(a.ID) {
				return
			}
		}
	}
}
