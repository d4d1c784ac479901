package domain

import "time"

// LicenseStatus is the state of a license.
type LicenseStatus string

// License statuses.
const (
	LicenseStatusActive   LicenseStatus = "active"
	LicenseStatusRefunded LicenseStatus = "refunded"
	LicenseStatusRevoked  LicenseStatus = "revoked"
)

// Revocation reasons an operator may give.
const (
	RevokeFraud      = "fraud"
	RevokeChargeback = "chargeback"
	RevokeAbuse      = "abuse"
	RevokeOther      = "other"
)

// License is a perpetual license bought through a paid Checkout Session.
// Its id is derived from the Stripe payment, so duplicates of the payment
// land on the same stream.
type License struct {
	ID          string
	SaleID      string
	AccountID   string
	ProductID   string
	Quantity    int
	Amount      int64
	Currency    string
	PurchasedAt time.Time
	// Key is the signed license key; empty after the owner's erasure.
	Key          string
	KeyIssued    bool
	KeyIssuedAt  time.Time
	Refunded     bool
	RefundedAt   time.Time
	RevokeReason string
	Revoked      bool
	RevokedAt    time.Time

	changes []Event
}

func newLicense() *License { return &License{} }

func (l *License) uncommitted() *[]Event { return &l.changes }

// record applies an event and keeps it to be appended.
func (l *License) record(e Event) {
	l.apply(e)
	l.changes = append(l.changes, e)
}

// Status returns the license's status: revoked wins over refunded, which
// wins over active.
func (l *License) Status() LicenseStatus {
	switch {
	case l.Revoked:
		return LicenseStatusRevoked
	case l.Refunded:
		return LicenseStatusRefunded
	}
	return LicenseStatusActive
}

// LicensePurchased is the first event of a license: its Checkout Session was
// paid. Amount is the total paid for all seats.
type LicensePurchased struct {
	LicenseID   string    `json:"license_id"`
	SaleID      string    `json:"sale_id"`
	AccountID   string    `json:"account_id"`
	ProductID   string    `json:"product_id"`
	Quantity    int       `json:"quantity"`
	Amount      int64     `json:"amount"`
	Currency    string    `json:"currency"`
	PurchasedAt time.Time `json:"purchased_at"`
}

// LicenseKeyIssued carries the signed license key.
type LicenseKeyIssued struct {
	LicenseID string    `json:"license_id"`
	AccountID string    `json:"account_id"`
	Key       string    `json:"key" personal:"true"`
	IssuedAt  time.Time `json:"issued_at"`
}

// LicenseRefunded records that the license's payment was refunded in full,
// at RefundedAt (the Stripe time of the refund that completed it). When a
// refund reported late shows it was complete earlier, a second
// LicenseRefunded with the earlier time follows; the earliest counts.
type LicenseRefunded struct {
	LicenseID  string    `json:"license_id"`
	RefundedAt time.Time `json:"refunded_at"`
}

// LicenseRevoked records that an operator revoked the license.
type LicenseRevoked struct {
	LicenseID string    `json:"license_id"`
	Reason    string    `json:"reason"`
	RevokedAt time.Time `json:"revoked_at"`
}

func (LicensePurchased) EventType() string { return "license.purchased.v1" }
func (LicenseKeyIssued) EventType() string { return "license.key_issued.v1" }
func (LicenseRefunded) EventType() string  { return "license.refunded.v1" }
func (LicenseRevoked) EventType() string   { return "license.revoked.v1" }

// DataSubject returns the owner of the key: the account.
func (e LicenseKeyIssued) DataSubject() string { return e.AccountID }

// apply is the only place a License changes.
func (l *License) apply(e Event) {
	switch e := e.(type) {
	case LicensePurchased:
		l.ID, l.SaleID, l.AccountID, l.ProductID = e.LicenseID, e.SaleID, e.AccountID, e.ProductID
		l.Quantity, l.Amount, l.Currency, l.PurchasedAt = e.Quantity, e.Amount, e.Currency, e.PurchasedAt
	case LicenseKeyIssued:
		l.Key, l.KeyIssued, l.KeyIssuedAt = e.Key, true, e.IssuedAt
	case LicenseRefunded:
		if !l.Refunded || e.RefundedAt.Before(l.RefundedAt) {
			l.Refunded, l.RefundedAt = true, e.RefundedAt
		}
	case LicenseRevoked:
		l.Revoked, l.RevokeReason, l.RevokedAt = true, e.Reason, e.RevokedAt
	}
}

// License commands.

// purchase records the purchase; a second paid fact for the same payment
// changes nothing.
func (l *License) purchase(e LicensePurchased) {
	if l.ID == "" {
		l.record(e)
	}
}

// issueKey records the key unless one was issued.
func (l *License) issueKey(key string) error {
	if l.ID == "" {
		return notFound("license")
	}
	if !l.KeyIssued {
		l.record(LicenseKeyIssued{LicenseID: l.ID, AccountID: l.AccountID, Key: key, IssuedAt: l.PurchasedAt})
	}
	return nil
}

// markRefunded records that the license's sale was refunded in full at
// refundedAt, unless it is known to have been by then. More refunds can only
// make that time earlier, so a handler working from an older view of the
// sale cannot undo a newer one.
func (l *License) markRefunded(refundedAt time.Time) {
	if l.ID == "" || refundedAt.IsZero() || (l.Refunded && !refundedAt.Before(l.RefundedAt)) {
		return
	}
	l.record(LicenseRefunded{LicenseID: l.ID, RefundedAt: refundedAt})
}

// revoke records an operator's revocation.
func (l *License) revoke(reason string, at time.Time) error {
	if l.ID == "" {
		return notFound("license")
	}
	switch reason {
	case RevokeFraud, RevokeChargeback, RevokeAbuse, RevokeOther:
	default:
		return &Error{Kind: KindInvalid, Code: CodeValidationFailed, Message: "unknown revocation reason",
			Fields: []FieldError{{Field: "reason", Code: FieldInvalid}}}
	}
	if !l.Revoked {
		l.record(LicenseRevoked{LicenseID: l.ID, Reason: reason, RevokedAt: at})
	}
	return nil
}
