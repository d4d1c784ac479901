// A sale's reversals: how its refunds and disputes become reversal rows of
// its commission.
//
// The facts are sets (refunded totals per charge, disputes by key), so the
// rows are a function of the set, never of the arrival order: refund deltas
// (per charge, by increasing total) and reversing disputes are taken in
// time order, each row is its part of the cumulative reversed amount
// (capped at the sale's amount), and its commission the difference between
// the rounded commission after it and before it. reconcile records the
// rows, and the corrections (CommissionReversalAdjusted) that bring the
// rows already recorded to the ones the facts now call for.

package domain

import (
	"math/bits"
	"sort"
	"time"
)

// merge combines two observations of one dispute, whatever their order: a
// closed observation wins over an open one; between two of the same kind the
// larger status string wins, so the result is the same in any order.
func (d disputeFact) merge(o disputeFact) disputeFact {
	if d == (disputeFact{}) {
		return o
	}
	if o.Closed != d.Closed {
		if o.Closed {
			return o
		}
		return d
	}
	if o.Status > d.Status {
		return o
	}
	return d
}

// reverses reports whether the dispute takes money back: not when the
// merchant won it, and not for an inquiry (warning_*).
func (d disputeFact) reverses() bool {
	return d.Status != DisputeWon && !hasPrefix(d.Status, disputeWarningPrefix)
}

// hasPrefix reports whether s begins with p.
func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

// RefundedAmount returns the total refunded over the payment's charges.
func (s *Sale) RefundedAmount() int64 {
	max := map[string]int64{}
	for _, f := range s.refunds {
		if f.Total > max[f.Charge] {
			max[f.Charge] = f.Total
		}
	}
	var sum int64
	for _, v := range max {
		sum += v
	}
	return sum
}

// FullyRefundedAt returns the Stripe time of the refund that brought the
// refunded total to the sale's amount, or zero while it has not.
func (s *Sale) FullyRefundedAt() time.Time {
	if !s.Recorded || s.Amount <= 0 {
		return time.Time{}
	}
	var cum int64
	for _, c := range s.contributions(false) {
		cum += c.amount
		if cum >= s.Amount {
			return c.at
		}
	}
	return time.Time{}
}

// contribution is one refund delta or dispute that reverses part of a sale.
type contribution struct {
	key    string
	reason string
	amount int64
	at     time.Time
}

// contributions returns the refund deltas (per charge, by increasing
// cumulative total) and the reversing disputes, ordered by time then key. It
// is a function of the set of known facts only.
func (s *Sale) contributions(withDisputes bool) []contribution {
	byCharge := map[string][]string{}
	for k, f := range s.refunds {
		byCharge[f.Charge] = append(byCharge[f.Charge], k)
	}
	var cs []contribution
	for _, ks := range byCharge {
		sort.Slice(ks, func(i, j int) bool {
			a, b := s.refunds[ks[i]], s.refunds[ks[j]]
			if a.Total != b.Total {
				return a.Total < b.Total
			}
			return ks[i] < ks[j]
		})
		var prev int64
		for _, k := range ks {
			f := s.refunds[k]
			if d := f.Total - prev; d > 0 {
				cs = append(cs, contribution{key: k, reason: ReversalRefund, amount: d, at: f.At})
			}
			prev = f.Total
		}
	}
	if withDisputes {
		for k, d := range s.disputes {
			if d.reverses() && d.Amount > 0 {
				cs = append(cs, contribution{key: k, reason: ReversalDispute, amount: d.Amount, at: d.OpenedAt})
			}
		}
	}
	sort.Slice(cs, func(i, j int) bool {
		if !cs[i].at.Equal(cs[j].at) {
			return cs[i].at.Before(cs[j].at)
		}
		return cs[i].key < cs[j].key
	})
	return cs
}

// commissionOf returns amount * bps / 10000 rounded toward zero.
func commissionOf(amount int64, bps int) int64 {
	return proportion(amount, int64(bps), 10000)
}

// proportion returns c * r / a rounded toward zero, without overflow, for
// 0 <= c <= a, 0 <= r <= a, a > 0.
func proportion(c, r, a int64) int64 {
	hi, lo := bits.Mul64(uint64(c), uint64(r))
	q, _ := bits.Div64(hi, lo, uint64(a))
	return int64(q)
}

// desiredReversals returns the reversal rows the known facts call for. The
// reversals are applied in time order; each row's amount is its part of the
// cumulative reversed amount (capped at the sale's amount) and its
// commission the difference between the rounded commission of the
// cumulative amount after it and before it (API.md), so that a single
// reversal row is the per-row formula and the rows of a full refund add up
// to exactly the sale's commission.
func (s *Sale) desiredReversals() map[string]Reversal {
	if !s.Earned || s.Amount <= 0 {
		return nil
	}
	rows := map[string]Reversal{}
	var cum, cumC int64
	for _, c := range s.contributions(true) {
		next := min(s.Amount, cum+c.amount)
		nextC := commissionOf(next, s.RateBps)
		if next > cum {
			rows[rowID(s.ID, c.key)] = Reversal{Reason: c.reason, Amount: -(next - cum), CommissionAmount: -(nextC - cumC), OccurredAt: c.at}
		}
		cum, cumC = next, nextC
	}
	return rows
}

// reconcile records the reversal rows and corrections that bring the rows
// already recorded to the ones the known facts call for.
func (s *Sale) reconcile() {
	want := s.desiredReversals()
	ids := make([]string, 0, len(want)+len(s.Reversals))
	for id := range want {
		ids = append(ids, id)
	}
	for id := range s.Reversals {
		if _, ok := want[id]; !ok {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		w, wanted := want[id]
		had, ok := s.Reversals[id]
		switch {
		case wanted && !ok:
			s.record(CommissionReversed{SaleID: s.ID, ReversalID: id, AffiliateID: s.AffiliateID, Reason: w.Reason,
				ProductID: s.ProductID, Amount: w.Amount, Currency: s.Currency, CommissionAmount: w.CommissionAmount, OccurredAt: w.OccurredAt})
		case !wanted:
			s.record(CommissionReversalAdjusted{SaleID: s.ID, ReversalID: id, AffiliateID: s.AffiliateID, Reason: had.Reason, OccurredAt: had.OccurredAt})
		case w.Amount != had.Amount || w.CommissionAmount != had.CommissionAmount || !w.OccurredAt.Equal(had.OccurredAt) || w.Reason != had.Reason:
			s.record(CommissionReversalAdjusted{SaleID: s.ID, ReversalID: id, AffiliateID: s.AffiliateID, Reason: w.Reason,
				Amount: w.Amount, CommissionAmount: w.CommissionAmount, OccurredAt: w.OccurredAt})
		}
	}
}
