package projections

import (
	"github.com/aseptsoft/subledger/domain"

	"encoding/base64"
	"time"
)

// SalesRowsPage returns one page of the rows SalesRows yields, oldest first:
// at most limit rows (DefaultLimit when limit <= 0, capped at MaxLimit)
// after cursor ("" for the first page). NextCursor is empty on the last
// page. A cursor that is not one this returned is ErrBadCursor.
func (v *View) SalesRowsPage(affiliateID string, from, to time.Time, limit int, cursor string) (Page[SalesRow], error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	start := stringTimeKey(affiliateID, from)
	if cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || len(raw) <= timeKeyLen {
			return Page[SalesRow]{}, ErrBadCursor
		}
		if k := after(append(stringKey(affiliateID), raw...)); string(k) > string(start) {
			start = k
		}
	}
	var page Page[SalesRow]
	if !to.IsZero() && !to.After(from) {
		return page, nil
	}
	it, err := v.txn.LowerBound(tableSaleRows, indexAffTime, start)
	if err != nil {
		return page, err
	}
	approvedUpTo := v.now.Add(-v.hold)
	var last *saleRow
	for raw := it.Next(); raw != nil; raw = it.Next() {
		r := raw.(*saleRow)
		if r.AffiliateID != affiliateID || (!to.IsZero() && !r.OccurredAt.Before(to)) {
			break
		}
		if len(page.Items) == limit {
			page.NextCursor = base64.RawURLEncoding.EncodeToString(append(appendTime(nil, last.OccurredAt), last.RowID...))
			break
		}
		page.Items = append(page.Items, SalesRow{OccurredAt: r.OccurredAt, SaleID: r.SaleID, Kind: r.Kind, ProductID: r.ProductID,
			Amount: r.Amount, Currency: r.Currency, CommissionAmount: r.Commission, CommissionStatus: r.status(approvedUpTo)})
		last = r
	}
	return page, nil
}

// AffiliatesByEmail returns the affiliates, not erased, whose e-mail
// address is email (compared after trimming and lower-casing), for the
// portal's mailed sign-in link. There are few affiliates, so it scans.
func (v *View) AffiliatesByEmail(email string) []Affiliate {
	want := domain.NormalizeEmail(email)
	if want == "" {
		return nil
	}
	it, err := v.txn.Get(tableAffiliates, indexID)
	if err != nil {
		return nil
	}
	var out []Affiliate
	for raw := it.Next(); raw != nil; raw = it.Next() {
		a := raw.(*Affiliate)
		if a.ErasedAt.IsZero() && a.Email != "" && domain.NormalizeEmail(a.Email) == want {
			out = append(out, *a)
		}
	}
	return out
}
