package projections

import (
	"encoding/binary"
	"slices"
	"strings"
	"time"
)

// SummaryRow is one row of an affiliate's summary report: one calendar
// month (UTC) and currency. Sales counts sale and renewal rows; GrossAmount
// and CommissionAmount sum them; ReversedAmount is the commission given
// back by reversals in the month (positive); NetCommissionAmount is
// CommissionAmount - ReversedAmount.
type SummaryRow struct {
	Period              string // "2006-01"
	Currency            string
	Sales               int64
	GrossAmount         int64
	CommissionAmount    int64
	ReversedAmount      int64
	NetCommissionAmount int64
}

// month is a calendar month (UTC) as year*12 + month-1.
type month int32

func monthOf(t time.Time) month {
	y, m, _ := t.UTC().Date()
	return month(y*12 + int(m) - 1)
}

func (m month) start() time.Time {
	y, mm := int(m)/12, int(m)%12
	if mm < 0 {
		y, mm = y-1, mm+12
	}
	return time.Date(y, time.Month(mm+1), 1, 0, 0, 0, 0, time.UTC)
}

func (m month) String() string { return m.start().Format("2006-01") }

// summaryKey names a summary row: affiliate, month, currency.
type summaryKey struct {
	affiliate string
	month     month
	currency  string
}

func (k summaryKey) bytes() []byte {
	b := make([]byte, 0, len(k.affiliate)+1+4+len(k.currency))
	b = appendString(b, k.affiliate)
	b = binary.BigEndian.AppendUint32(b, uint32(k.month)^(1<<31))
	return append(b, k.currency...)
}

// summaryDelta is a change of (or the whole of) a month's figures. rows
// counts the report rows of every kind, so that a month whose only rows
// carry no commission (a reversal at a rate of 0) keeps its summary row.
type summaryDelta struct {
	sales, gross, commission, reversed, rows int64
}

// summaryRow is a stored monthly summary, maintained by apply.
type summaryRow struct {
	key summaryKey
	summaryDelta
}

// summarize adds r's contribution to its month's summary, times sign.
func (w *writer) summarize(r *saleRow, sign int64) {
	if r == nil {
		return
	}
	k := summaryKey{affiliate: r.AffiliateID, month: monthOf(r.OccurredAt), currency: r.Currency}
	d := w.summaries[k]
	d.add(r, sign)
	w.summaries[k] = d
}

func (d *summaryDelta) add(r *saleRow, sign int64) {
	d.rows += sign
	if r.Kind == RowReversal {
		d.reversed -= sign * r.Commission
		return
	}
	d.sales += sign
	d.gross += sign * r.Amount
	d.commission += sign * r.Commission
}

func (w *writer) flushSummaries() error {
	// Look up every summary before writing any (see deltaWrite).
	writes := w.summaryWrites[:0]
	for k, d := range w.summaries {
		if d == (summaryDelta{}) {
			continue
		}
		old, err := first[summaryRow](w.txn, tableSummaries, k.bytes())
		if err != nil {
			return err
		}
		row := &summaryRow{key: k, summaryDelta: d}
		if old != nil {
			row.sales += old.sales
			row.gross += old.gross
			row.commission += old.commission
			row.reversed += old.reversed
			row.rows += old.rows
		}
		if row.summaryDelta == (summaryDelta{}) {
			row = nil
		}
		writes = append(writes, deltaWrite[summaryRow]{old, row})
	}
	w.summaryWrites = writes
	return writeDeltas(w.txn, tableSummaries, writes)
}

// SalesSummary returns the affiliate's summary report over [from, to): one
// row per calendar month (UTC) and currency that has rows, by month then
// currency. Whole months come from the maintained monthly figures; the
// parts of months cut by from or to are summed from the rows.
func (v *View) SalesSummary(affiliateID string, from, to time.Time) []SummaryRow {
	from, to = from.UTC(), to.UTC()
	if !to.After(from) {
		return nil
	}
	firstFull := monthOf(from)
	if !firstFull.start().Equal(from) {
		firstFull++
	}
	endFull := monthOf(to) // months in [firstFull, endFull) are whole
	var out []SummaryRow
	if firstFull >= endFull {
		return v.summarizeRows(out, affiliateID, from, to)
	}
	out = v.summarizeRows(out, affiliateID, from, firstFull.start())
	it, err := v.txn.LowerBound(tableSummaries, indexID, summaryKey{affiliate: affiliateID, month: firstFull}.bytes())
	if err == nil {
		for raw := it.Next(); raw != nil; raw = it.Next() {
			s := raw.(*summaryRow)
			if s.key.affiliate != affiliateID || s.key.month >= endFull {
				break
			}
			out = append(out, s.key.row(s.summaryDelta))
		}
	}
	return v.summarizeRows(out, affiliateID, endFull.start(), to)
}

func (k summaryKey) row(d summaryDelta) SummaryRow {
	return SummaryRow{Period: k.month.String(), Currency: k.currency, Sales: d.sales, GrossAmount: d.gross,
		CommissionAmount: d.commission, ReversedAmount: d.reversed, NetCommissionAmount: d.commission - d.reversed}
}

// summarizeRows appends the summary of the rows in [from, to), by month
// and currency.
func (v *View) summarizeRows(out []SummaryRow, affiliateID string, from, to time.Time) []SummaryRow {
	if !to.After(from) {
		return out
	}
	sums := map[summaryKey]summaryDelta{}
	it, err := v.txn.LowerBound(tableSaleRows, indexAffTime, stringTimeKey(affiliateID, from))
	if err != nil {
		return out
	}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		r := raw.(*saleRow)
		if r.AffiliateID != affiliateID || !r.OccurredAt.Before(to) {
			break
		}
		k := summaryKey{month: monthOf(r.OccurredAt), currency: r.Currency}
		d := sums[k]
		d.add(r, 1)
		sums[k] = d
	}
	keys := make([]summaryKey, 0, len(sums))
	for k, d := range sums {
		if d != (summaryDelta{}) {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b summaryKey) int {
		if a.month != b.month {
			return int(a.month - b.month)
		}
		return strings.Compare(a.currency, b.currency)
	})
	for _, k := range keys {
		out = append(out, k.row(sums[k]))
	}
	return out
}
