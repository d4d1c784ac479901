package projections_test

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/domain/domaintest"
)

// The oracle: what an affiliate's reports must say about a lifecycle,
// worked out from the lifecycle's description by the rules of
// ../shared/API.md ("How the rows arise") in the plainest code, apart from
// the domain. It reads the facts' commands as data (amounts, times,
// payment intents) and calls nothing of the domain's: not its rounding,
// its month arithmetic, its ordering or its ids. The report names a sale
// by an opaque id; the oracle names it by its payment intent, and the
// test maps one to the other.
//
// Where the domain breaks ties by keyed digests (two payments of a
// subscription, or two reversals of a sale, at one instant), the oracle
// cannot follow; the generator never draws such ties, and the oracle
// panics if it meets one.

// oracleRow is one row of an affiliate's sales report.
type oracleRow struct {
	At         time.Time
	Payment    string // the payment intent of the sale the row is about
	Kind       string // "sale", "renewal" or "reversal"
	Product    string
	Amount     int64
	Currency   string
	Commission int64
	// ReversedInFull is set on a sale or renewal row whose whole amount
	// its reversal rows give back.
	ReversedInFull bool
}

// status is the row's commission status at now under hold.
func (r oracleRow) status(now time.Time, hold time.Duration) string {
	if r.Kind == "reversal" || r.ReversedInFull {
		return "reversed"
	}
	if now.Before(r.At.Add(hold)) {
		return "pending"
	}
	return "approved"
}

func (r oracleRow) String() string {
	return fmt.Sprintf("%s %s %s %s %d %s commission %d", r.At.Format(time.RFC3339), r.Payment, r.Kind, r.Product, r.Amount, r.Currency, r.Commission)
}

// oracleSummary is one row of an affiliate's summary report.
type oracleSummary struct {
	Period, Currency                                     string
	Sales, Gross, Commission, Reversed, NetCommissionAmt int64
}

// oracleCommission is amount * bps / 10000, rounded toward zero. Amounts
// here are at most a few million and rates at most 10000, so the product
// fits an int64 with room to spare.
func oracleCommission(amount int64, bps int) int64 {
	return amount * int64(bps) / 10000
}

// oracleAddMonths is t plus n calendar months, the day clamped to the last
// day of the month reached, at the same time of day.
func oracleAddMonths(t time.Time, n int) time.Time {
	year, month := t.Year(), int(t.Month())+n
	for month > 12 {
		year, month = year+1, month-12
	}
	daysIn := []int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[month-1]
	if month == 2 && (year%4 == 0 && (year%100 != 0 || year%400 == 0)) {
		daysIn = 29
	}
	day := t.Day()
	if day > daysIn {
		day = daysIn
	}
	return time.Date(year, time.Month(month), day, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// oraclePayment is a payment that earns an affiliate commission.
type oraclePayment struct {
	pi, kind, product, currency, affiliate string
	amount                                 int64
	at                                     time.Time
}

// oracleRows returns the rows of every affiliate's sales report, by
// affiliate id, oldest first (rows at one instant in no given order).
func oracleRows(lc domaintest.Lifecycle) map[string][]oracleRow {
	type affiliate struct{ rate, months int }
	affiliates := map[string]affiliate{}
	for i, id := range lc.AffiliateIDs() {
		affiliates[id] = affiliate{lc.Affiliates[i].CommissionRateBps, lc.Affiliates[i].RecurringMonths}
	}

	// The payments that earn commission: a paid license checkout, and
	// the paid invoices of a subscription above 0 that API.md counts.
	var earning []oraclePayment
	seenLicense := map[string]bool{}
	invoices := map[string][]domain.RecordInvoicePaid{} // by Stripe subscription
	seenInvoice := map[string]bool{}
	subAffiliate := map[string]string{}
	for _, f := range lc.Facts {
		switch c := f.Command.(type) {
		case domain.RecordCheckoutPaid:
			if seenLicense[c.PaymentIntentID] {
				continue
			}
			seenLicense[c.PaymentIntentID] = true
			if _, ok := affiliates[c.AffiliateID]; ok && c.Amount > 0 {
				earning = append(earning, oraclePayment{c.PaymentIntentID, "sale", c.ProductID, c.Currency, c.AffiliateID, c.Amount, c.OccurredAt})
			}
		case domain.RecordInvoicePaid:
			if !seenInvoice[c.InvoiceID] {
				seenInvoice[c.InvoiceID] = true
				invoices[c.SubscriptionID] = append(invoices[c.SubscriptionID], c)
			}
			subAffiliate[c.SubscriptionID] = oneAffiliate(subAffiliate[c.SubscriptionID], c.AffiliateID)
		case domain.RecordSubscriptionCheckout:
			subAffiliate[c.SubscriptionID] = oneAffiliate(subAffiliate[c.SubscriptionID], c.AffiliateID)
		case domain.RecordSubscriptionChange:
			subAffiliate[c.SubscriptionID] = oneAffiliate(subAffiliate[c.SubscriptionID], c.AffiliateID)
		}
	}
	for sub, list := range invoices {
		aff, ok := affiliates[subAffiliate[sub]]
		if !ok {
			continue
		}
		// Invoices of 0 make no row; the earliest paid one above 0 is the
		// sale, and starts the window.
		var paid []domain.RecordInvoicePaid
		for _, in := range list {
			if in.Amount > 0 {
				paid = append(paid, in)
			}
		}
		if len(paid) == 0 {
			continue
		}
		sort.Slice(paid, func(i, j int) bool { return paid[i].OccurredAt.Before(paid[j].OccurredAt) })
		for i := 1; i < len(paid); i++ {
			if paid[i].OccurredAt.Equal(paid[i-1].OccurredAt) {
				panic("oracle: two payments of " + sub + " at one instant")
			}
		}
		windowEnd := oracleAddMonths(paid[0].OccurredAt, aff.months)
		for i, in := range paid {
			kind := "renewal"
			if i == 0 {
				kind = "sale"
			} else if aff.months == 0 || in.OccurredAt.After(windowEnd) {
				continue
			}
			earning = append(earning, oraclePayment{in.PaymentIntentID, kind, in.ProductID, in.Currency, subAffiliate[sub], in.Amount, in.OccurredAt})
		}
	}

	out := map[string][]oracleRow{}
	for _, p := range earning {
		rate := affiliates[p.affiliate].rate
		commission := oracleCommission(p.amount, rate)
		sale := oracleRow{At: p.at, Payment: p.pi, Kind: p.kind, Product: p.product, Amount: p.amount, Currency: p.currency, Commission: commission}
		var reversed int64
		var rows []oracleRow
		for _, c := range oracleReversals(lc, p.pi) {
			// The cumulative amount reversed, capped at the sale's; the
			// row's commission is the difference of the rounded
			// commissions of the cumulative amounts after and before it.
			next := reversed + c.amount
			if next > p.amount {
				next = p.amount
			}
			if next > reversed {
				rows = append(rows, oracleRow{At: c.at, Payment: p.pi, Kind: "reversal", Product: p.product, Amount: -(next - reversed),
					Currency: p.currency, Commission: -(oracleCommission(next, rate) - oracleCommission(reversed, rate))})
			}
			reversed = next
		}
		sale.ReversedInFull = reversed >= p.amount
		out[p.affiliate] = append(out[p.affiliate], sale)
		out[p.affiliate] = append(out[p.affiliate], rows...)
	}
	for aff := range out {
		sort.SliceStable(out[aff], func(i, j int) bool { return out[aff][i].At.Before(out[aff][j].At) })
	}
	return out
}

// oneAffiliate keeps the one affiliate a subscription's facts name; they
// all name the same (from the checkout metadata), or none.
func oneAffiliate(cur, v string) string {
	if cur != "" && v != "" && cur != v {
		panic("oracle: a subscription's facts name two affiliates")
	}
	if v != "" {
		return v
	}
	return cur
}

// oracleContribution is one refund part or dispute that reverses a sale.
type oracleContribution struct {
	amount int64
	at     time.Time
}

// oracleReversals returns what reverses the payment pi, oldest first: each
// increase of a charge's refunded total, at the first time that total was
// reported, and each dispute that was not won and is not an inquiry, at
// the time it was opened.
func oracleReversals(lc domaintest.Lifecycle, pi string) []oracleContribution {
	type refunded struct {
		charge string
		total  int64
	}
	firstSeen := map[refunded]time.Time{}
	type dispute struct {
		amount int64
		opened time.Time
		status string
		closed bool
	}
	disputes := map[string]dispute{}
	for _, f := range lc.Facts {
		switch c := f.Command.(type) {
		case domain.RecordRefund:
			if c.PaymentIntentID != pi {
				continue
			}
			k := refunded{c.ChargeID, c.AmountRefundedTotal}
			if at, ok := firstSeen[k]; !ok || c.OccurredAt.Before(at) {
				firstSeen[k] = c.OccurredAt
			}
		case domain.RecordDispute:
			if c.PaymentIntentID != pi {
				continue
			}
			d := disputes[c.DisputeID]
			d.amount, d.opened = c.Amount, c.OpenedAt
			if c.Closed || !d.closed {
				d.status, d.closed = c.Status, c.Closed
			}
			disputes[c.DisputeID] = d
		}
	}
	var out []oracleContribution
	byCharge := map[string][]refunded{}
	for k := range firstSeen {
		byCharge[k.charge] = append(byCharge[k.charge], k)
	}
	for _, ks := range byCharge {
		sort.Slice(ks, func(i, j int) bool { return ks[i].total < ks[j].total })
		var before int64
		for _, k := range ks {
			out = append(out, oracleContribution{k.total - before, firstSeen[k]})
			before = k.total
		}
	}
	for _, d := range disputes {
		if d.status != "won" && !strings.HasPrefix(d.status, "warning_") {
			out = append(out, oracleContribution{d.amount, d.opened})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].at.Before(out[j].at) })
	for i := 1; i < len(out); i++ {
		if out[i].at.Equal(out[i-1].at) {
			panic("oracle: two reversals of " + pi + " at one instant")
		}
	}
	return out
}

// oracleSummaries returns the summary report of rows over [from, to): one
// row per calendar month (UTC) and currency that has rows, by month then
// currency.
func oracleSummaries(rows []oracleRow, from, to time.Time) []oracleSummary {
	byKey := map[[2]string]*oracleSummary{}
	var keys [][2]string
	for _, r := range rows {
		if r.At.Before(from) || !r.At.Before(to) {
			continue
		}
		k := [2]string{r.At.UTC().Format("2006-01"), r.Currency}
		s := byKey[k]
		if s == nil {
			s = &oracleSummary{Period: k[0], Currency: k[1]}
			byKey[k] = s
			keys = append(keys, k)
		}
		if r.Kind == "reversal" {
			s.Reversed += -r.Commission
		} else {
			s.Sales++
			s.Gross += r.Amount
			s.Commission += r.Commission
		}
		s.NetCommissionAmt = s.Commission - s.Reversed
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	out := make([]oracleSummary, 0, len(keys))
	for _, k := range keys {
		out = append(out, *byKey[k])
	}
	return out
}
