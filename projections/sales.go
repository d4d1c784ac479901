package projections

import (
	"iter"
	"time"

	"github.com/aseptsoft/subledger/domain"
)

// RowKind is the kind of a row of an affiliate's sales report.
type RowKind string

// Row kinds.
const (
	RowSale     RowKind = "sale"
	RowRenewal  RowKind = "renewal"
	RowReversal RowKind = "reversal"
)

// SalesRow is one row of an affiliate's sales report: a sale, a renewal or
// a reversal (negative amounts). It holds no personal data of the customer:
// the sale is named by its own id. CommissionStatus is computed when the
// row is read: reversed for a reversal row and for a sale reversed in full,
// approved once the commission was approved or the hold has passed since
// OccurredAt, pending before.
type SalesRow struct {
	OccurredAt       time.Time
	SaleID           string
	Kind             RowKind
	ProductID        string
	Amount           int64
	Currency         string
	CommissionAmount int64
	CommissionStatus domain.CommissionStatus
}

// saleRow is a stored report row. RowID is the sale id for a sale or
// renewal row and the reversal id for a reversal row.
type saleRow struct {
	RowID       string
	SaleID      string
	AffiliateID string
	Kind        RowKind
	ProductID   string
	Amount      int64
	Currency    string
	Commission  int64
	OccurredAt  time.Time
	Reason      string
	Approved    bool
	ApprovedAt  time.Time
	// Reversed is, on a sale or renewal row, the amount its reversal rows
	// give back (positive).
	Reversed int64
}

func (r *saleRow) fullyReversed() bool {
	return r.Kind != RowReversal && r.Amount > 0 && r.Reversed >= r.Amount
}

// saleRowAffiliateKey orders an affiliate's rows by time (then row id).
func saleRowAffiliateKey(r *saleRow) []byte {
	return stringTimeKey(r.AffiliateID, r.OccurredAt)
}

// saleRowPendingKey indexes the commissions still waiting for approval by
// time: sale and renewal rows neither approved nor reversed in full.
func saleRowPendingKey(r *saleRow) []byte {
	if r.Kind == RowReversal || r.Approved || r.fullyReversed() {
		return nil
	}
	return appendTime(make([]byte, 0, timeKeyLen), r.OccurredAt)
}

// status computes the commission status of r for a view in which rows
// that occurred at or before approvedUpTo have passed the hold.
func (r *saleRow) status(approvedUpTo time.Time) domain.CommissionStatus {
	switch {
	case r.Kind == RowReversal || r.fullyReversed():
		return domain.CommissionStatusReversed
	case r.Approved || !r.OccurredAt.After(approvedUpTo):
		return domain.CommissionStatusApproved
	}
	return domain.CommissionStatusPending
}

// saleMoved moves the monthly summary figures with a changed row.
func (w *writer) saleMoved(orig, r *saleRow) {
	w.summarize(orig, -1)
	w.summarize(r, 1)
}

// reverse adds delta to the reversed amount of the sale row saleID.
func (w *writer) reverse(saleID string, delta int64) error {
	if delta == 0 {
		return nil
	}
	r, err := w.sales.get(w.txn, saleID)
	if err != nil || r == nil {
		return err
	}
	r.Reversed += delta
	return nil
}

func (w *writer) saleRecorded(e domain.SaleRecorded) {
	if e.SaleID == "" {
		return
	}
	w.count(counterKey{kind: saleKindCounter(e.Kind), day: dayOf(e.OccurredAt), a: e.ProductID, b: e.Currency}, 1, e.Amount)
}

// saleKindCounter returns the statistics counter of a sale kind.
func saleKindCounter(k domain.SaleKind) counterKind {
	if k == domain.SaleKindRenewal {
		return counterRenewals
	}
	return counterSales
}

// saleReclassified moves a sale between the sales and renewals counters
// and changes its report row's kind (the summary counts both alike).
func (w *writer) saleReclassified(e domain.SaleReclassified) error {
	if e.SaleID == "" {
		return nil
	}
	day := dayOf(e.OccurredAt)
	w.count(counterKey{kind: saleKindCounter(e.From), day: day, a: e.ProductID, b: e.Currency}, -1, -e.Amount)
	w.count(counterKey{kind: saleKindCounter(e.Kind), day: day, a: e.ProductID, b: e.Currency}, 1, e.Amount)
	r, err := w.sales.get(w.txn, e.SaleID)
	if err != nil || r == nil {
		return err
	}
	r.Kind = RowSale
	if e.Kind == domain.SaleKindRenewal {
		r.Kind = RowRenewal
	}
	return nil
}

func (w *writer) commissionEarned(e domain.CommissionEarned) error {
	r, err := w.sales.get(w.txn, e.SaleID)
	if err != nil {
		return err
	}
	if r == nil {
		r = &saleRow{RowID: e.SaleID}
		if err := w.sales.put(w.txn, r); err != nil {
			return err
		}
	}
	kind := RowSale
	if e.Kind == domain.SaleKindRenewal {
		kind = RowRenewal
	}
	r.SaleID, r.AffiliateID, r.Kind, r.ProductID = e.SaleID, e.AffiliateID, kind, e.ProductID
	r.Amount, r.Currency, r.Commission, r.OccurredAt = e.Amount, e.Currency, e.CommissionAmount, e.OccurredAt
	return nil
}

func (w *writer) commissionApproved(e domain.CommissionApproved) error {
	r, err := w.sales.get(w.txn, e.SaleID)
	if err != nil || r == nil || r.Approved {
		return err
	}
	r.Approved, r.ApprovedAt = true, e.ApprovedAt
	return nil
}

func (w *writer) commissionReversed(e domain.CommissionReversed) error {
	old, err := w.sales.peek(w.txn, e.ReversalID)
	if err != nil {
		return err
	}
	var before int64
	if old != nil {
		before = old.Amount
	}
	err = w.sales.put(w.txn, &saleRow{RowID: e.ReversalID, SaleID: e.SaleID, AffiliateID: e.AffiliateID, Kind: RowReversal,
		ProductID: e.ProductID, Amount: e.Amount, Currency: e.Currency, Commission: e.CommissionAmount,
		OccurredAt: e.OccurredAt, Reason: e.Reason})
	if err != nil {
		return err
	}
	return w.reverse(e.SaleID, before-e.Amount)
}

// commissionReversalAdjusted corrects a reversal row; an amount of zero
// removes it.
func (w *writer) commissionReversalAdjusted(e domain.CommissionReversalAdjusted) error {
	r, err := w.sales.get(w.txn, e.ReversalID)
	if err != nil {
		return err
	}
	var before int64
	if r != nil {
		before = r.Amount
	}
	if e.Amount == 0 {
		if r != nil {
			if err := w.sales.remove(w.txn, e.ReversalID); err != nil {
				return err
			}
		}
		return w.reverse(e.SaleID, before)
	}
	if r == nil {
		sale, err := w.sales.peek(w.txn, e.SaleID)
		if err != nil || sale == nil {
			return err
		}
		r = &saleRow{RowID: e.ReversalID, SaleID: e.SaleID, AffiliateID: e.AffiliateID, Kind: RowReversal,
			ProductID: sale.ProductID, Currency: sale.Currency}
		if err := w.sales.put(w.txn, r); err != nil {
			return err
		}
	}
	r.Reason, r.Amount, r.Commission, r.OccurredAt = e.Reason, e.Amount, e.CommissionAmount, e.OccurredAt
	return w.reverse(e.SaleID, before-e.Amount)
}

// SalesRows yields the rows of the affiliate's sales report that occurred
// in [from, to), oldest first (ties by row id). A zero to means no upper
// bound. The rows come straight from the snapshot, so a report streams
// without being gathered first.
func (v *View) SalesRows(affiliateID string, from, to time.Time) iter.Seq[SalesRow] {
	return func(yield func(SalesRow) bool) {
		if !to.IsZero() && !to.After(from) {
			return
		}
		it, err := v.txn.LowerBound(tableSaleRows, indexAffTime, stringTimeKey(affiliateID, from))
		if err != nil {
			return
		}
		approvedUpTo := v.now.Add(-v.hold)
		for raw := it.Next(); raw != nil; raw = it.Next() {
			r := raw.(*saleRow)
			if r.AffiliateID != affiliateID || (!to.IsZero() && !r.OccurredAt.Before(to)) {
				return
			}
			if !yield(SalesRow{OccurredAt: r.OccurredAt, SaleID: r.SaleID, Kind: r.Kind, ProductID: r.ProductID,
				Amount: r.Amount, Currency: r.Currency, CommissionAmount: r.Commission,
				CommissionStatus: r.status(approvedUpTo)}) {
				return
			}
		}
	}
}

// DueCommission is a commission whose hold has passed without an approval
// event: the sale to approve (domain approval command) and its affiliate.
type DueCommission struct {
	SaleID      string
	AffiliateID string
	OccurredAt  time.Time
}

// CommissionsDue yields the commissions not yet approved whose hold has
// passed at the view's time, oldest first. Commissions reversed in full are
// left out.
func (v *View) CommissionsDue() iter.Seq[DueCommission] {
	return func(yield func(DueCommission) bool) {
		it, err := v.txn.Get(tableSaleRows, indexPendingTime)
		if err != nil {
			return
		}
		approvedUpTo := v.now.Add(-v.hold)
		for raw := it.Next(); raw != nil; raw = it.Next() {
			r := raw.(*saleRow)
			if r.OccurredAt.After(approvedUpTo) ||
				!yield(DueCommission{SaleID: r.SaleID, AffiliateID: r.AffiliateID, OccurredAt: r.OccurredAt}) {
				return
			}
		}
	}
}
