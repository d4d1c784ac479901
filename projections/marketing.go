package projections

import (
	"encoding/base64"
	"time"

	"github.com/aseptsoft/subledger/domain"
)

// MarketingRecipient is a live account that consents to marketing mail.
type MarketingRecipient struct {
	AccountID string
	Name      string
	Email     string
	ConsentAt time.Time
}

// accountMarketingKey indexes active consenting accounts by consent time.
func accountMarketingKey(a *Account) []byte {
	if a.Status != domain.AccountStatusActive || !a.MarketingConsent || a.Email == "" {
		return nil
	}
	return appendTime(make([]byte, 0, timeKeyLen), a.MarketingConsentAt)
}

// MarketingRecipients pages through the active accounts that consent to
// marketing mail, oldest consent first. Erased, closed and withdrawn
// accounts are never listed.
func (v *View) MarketingRecipients(limit int, cursor string) (Page[MarketingRecipient], error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	var start []byte
	if cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || len(raw) <= timeKeyLen {
			return Page[MarketingRecipient]{}, ErrBadCursor
		}
		start = after(raw)
	}
	it, err := v.txn.LowerBound(tableAccounts, indexMarketing, start)
	if err != nil {
		return Page[MarketingRecipient]{}, err
	}
	var page Page[MarketingRecipient]
	var last *Account
	for raw := it.Next(); raw != nil; raw = it.Next() {
		a := raw.(*Account)
		if len(page.Items) == limit {
			page.NextCursor = base64.RawURLEncoding.EncodeToString(append(accountMarketingKey(last), last.ID...))
			break
		}
		page.Items = append(page.Items, MarketingRecipient{AccountID: a.ID, Name: a.Name, Email: a.Email, ConsentAt: a.MarketingConsentAt})
		last = a
	}
	return page, nil
}
