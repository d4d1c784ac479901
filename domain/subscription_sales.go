package domain

import (
	"context"
	"time"
)

// A subscription's money: which of its paid invoices make report rows.
//
// An invoice of 0 (a trial) makes no sale. The first payment is the
// earliest paid invoice with an amount above 0 (by paid time, then key):
// it is the subscription's sale, and it starts the recurring window. Every
// later payment is a renewal, and earns commission while it is paid no
// later than the affiliate's RecurringMonths calendar months after the
// first payment (addMonths). Both are functions of the set of paid
// invoices known, and both only move one way as invoices become known: the
// first payment only moves earlier, so a sale can become a renewal
// (SaleReclassified) and a renewal's commission can be withdrawn
// (CommissionWithdrawn), never the other way round.
//
// Since the sales are other streams than the subscription, a handler that
// decided on an older view of the subscription may write after a handler
// that knew an earlier first payment. Two things keep the result right in
// any order. A sale never turns back from renewal to sale, and a
// withdrawal decided on an older view is right on every newer one (an
// older view has a later first payment, hence a later window). The
// decisions a newer first payment can undo (calling a payment the sale,
// earning a renewal's commission) are checked again after they are
// written: the handler reloads the subscription and, if its first payment
// moved meanwhile, does its work again on the new view. Whoever recorded
// the earlier first payment appended it before it looked at the sales, so
// one of the two sees the other's write.

// addMonths returns t plus n calendar months, the day clamped to the last
// day of the month reached (Jan 31 plus one month is Feb 28 or 29), at the
// same time of day. Go's AddDate would overflow into the next month.
func addMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, t.Location())
	last := first.AddDate(0, 1, -1).Day()
	return time.Date(first.Year(), first.Month(), min(d, last), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
}

// kindOf returns the sale kind of a paid invoice: the first payment is the
// sale, every other payment a renewal.
func (s *Subscription) kindOf(i SubscriptionInvoice) SaleKind {
	if i.Key == s.first {
		return SaleKindSale
	}
	return SaleKindRenewal
}

// earnsCommission reports whether a paid invoice earns commission for an
// affiliate with recurringMonths: the first payment does; a later one does
// when it was paid no later than recurringMonths after the first payment.
func (s *Subscription) earnsCommission(i SubscriptionInvoice, recurringMonths int) bool {
	switch {
	case i.Amount <= 0 || s.first == "":
		return false
	case i.Key == s.first:
		return true
	}
	return recurringMonths > 0 && !i.PaidAt.After(addMonths(s.AnchorAt, recurringMonths))
}

// invoiceSale returns the sale an invoice makes.
func invoiceSale(sub *Subscription, inv SubscriptionInvoice, kind SaleKind) SaleRecorded {
	return SaleRecorded{SaleID: inv.SaleID, Kind: kind, Source: SaleSourceSubscription, SubscriptionID: sub.ID,
		ProductID: inv.ProductID, Amount: inv.Amount, Currency: inv.Currency, OccurredAt: inv.PaidAt}
}

// subscriptionSales brings the sales of sub's paid invoices in line with
// what its facts now say: the sale of the invoice just paid (invoiceKey,
// "" for other facts), every payment's kind once the first payment is
// known (when invoiceKey is that payment), and the commission of every
// payment that earns it, or its withdrawal. Decisions a newer first
// payment could undo are checked again against the subscription (see the
// top of this file).
func (s *Service) subscriptionSales(ctx context.Context, sub *Subscription, invoiceKey string) (uint64, error) {
	var pos uint64
	// The first payment's handler looks at every payment; so does a
	// handler doing its work again, since what it wrote before may be on
	// any of them.
	all := invoiceKey != "" && invoiceKey == sub.first
	for range s.maxAttempts {
		undoable, p, err := s.subscriptionSalesOnce(ctx, sub, invoiceKey, all)
		if err != nil {
			return 0, err
		}
		pos = maxPos(pos, p)
		if !undoable {
			return pos, nil
		}
		now, _, err := load(ctx, s, SubscriptionStream(sub.ID), newSubscription)
		if err != nil {
			return 0, err
		}
		if now.first == sub.first && now.AffiliateID == sub.AffiliateID {
			return pos, nil
		}
		sub, all = now, true
	}
	return 0, &Error{Kind: KindConflict, Code: CodeConflict, Message: "the subscription kept changing; try again", Err: ErrVersionConflict}
}

// subscriptionSalesOnce does subscriptionSales' work on one view of the
// subscription, on every paid invoice when all is set. undoable reports
// whether it took a decision that a newer first payment could undo.
func (s *Service) subscriptionSalesOnce(ctx context.Context, sub *Subscription, invoiceKey string, all bool) (undoable bool, pos uint64, err error) {
	var aff *Affiliate
	if sub.AffiliateID != "" && sub.first != "" {
		if aff, err = s.affiliateFor(ctx, sub.AffiliateID); err != nil {
			return false, 0, err
		}
	}
	invoices := sub.Invoices
	if !all && aff == nil {
		// Only the invoice just paid can need anything: no need to go
		// through (and sort) every invoice of a long subscription.
		invoices = func() []SubscriptionInvoice {
			if inv, ok := sub.invoices[invoiceKey]; ok {
				return []SubscriptionInvoice{inv}
			}
			return nil
		}
	}
	for _, inv := range invoices() {
		if inv.Amount <= 0 {
			continue
		}
		earns := aff != nil && sub.earnsCommission(inv, aff.RecurringMonths)
		if !all && !earns && inv.Key != invoiceKey {
			continue
		}
		kind := sub.kindOf(inv)
		undoable = undoable || kind == SaleKindSale || earns
		_, p, err := execute(ctx, s, SaleStream(inv.SaleID), newSale, func(x *Sale) error {
			x.recordSale(invoiceSale(sub, inv, kind))
			x.reclassify(kind)
			switch {
			case earns:
				x.earn(aff.ID, aff.RateBps)
			case aff != nil:
				x.withdraw()
			}
			return nil
		})
		if err != nil {
			return false, 0, err
		}
		pos = maxPos(pos, p)
	}
	return undoable, pos, nil
}
