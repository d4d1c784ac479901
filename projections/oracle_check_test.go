package projections_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/domain/domaintest"
	"github.com/aseptsoft/subledger/projections"
)

// checkOracle compares what the stack's projections show of lc with the
// oracle (oracle_test.go): every affiliate's sales rows (kind, amount,
// commission, status at viewAt) and summaries over the observed ranges;
// then, at the instants where commission statuses turn (a nanosecond
// before each sale's hold ends, and at that instant), that every sale
// row's status in the report is the Sale aggregate's at the same instant,
// and the oracle's once the approval job has run.
func checkOracle(ctx context.Context, st *stack, lc domaintest.Lifecycle) error {
	hold := st.svc.CommissionHold()
	want := oracleRows(lc)
	payment := map[string]string{} // sale id -> payment intent
	for _, pi := range lc.PaymentIntents() {
		payment[st.svc.SaleIDForPaymentIntent(pi)] = pi
	}
	st.viewClock.set(viewAt)
	defer st.viewClock.set(viewAt)
	v := st.proj.View()
	affiliates := append(lc.AffiliateIDs(), domaintest.UnknownAffiliate)
	for _, aff := range affiliates {
		rows := collect(v.SalesRows(aff, time.Time{}, time.Time{}))
		var got, exp []string
		for i, r := range rows {
			if i > 0 && r.OccurredAt.Before(rows[i-1].OccurredAt) {
				return fmt.Errorf("sales rows of %s are not oldest first: %v after %v", aff, r, rows[i-1])
			}
			got = append(got, reportRow(r, payment))
		}
		for _, r := range want[aff] {
			exp = append(exp, r.String()+" "+r.status(viewAt, hold))
		}
		slices.Sort(got)
		slices.Sort(exp)
		if !slices.Equal(got, exp) {
			return fmt.Errorf("the sales rows of %s differ from the oracle's (hold %s, at %s):\n  report:\n    %s\n  oracle:\n    %s",
				aff, hold, viewAt.Format(time.RFC3339), strings.Join(got, "\n    "), strings.Join(exp, "\n    "))
		}
		for _, r := range summaryRanges {
			gotS := fmt.Sprintf("%+v", v.SalesSummary(aff, r[0], r[1]))
			var wantS []projections.SummaryRow
			for _, s := range oracleSummaries(want[aff], r[0], r[1]) {
				wantS = append(wantS, projections.SummaryRow{Period: s.Period, Currency: s.Currency, Sales: s.Sales, GrossAmount: s.Gross,
					CommissionAmount: s.Commission, ReversedAmount: s.Reversed, NetCommissionAmount: s.NetCommissionAmt})
			}
			if gotS != fmt.Sprintf("%+v", wantS) {
				return fmt.Errorf("the summary of %s over [%s, %s) differs from the oracle's:\n  report: %s\n  oracle: %+v",
					aff, r[0].Format(time.RFC3339), r[1].Format(time.RFC3339), gotS, wantS)
			}
		}
	}

	// The instants where statuses turn.
	var instants []time.Time
	oracleSale := map[string]oracleRow{} // by payment intent
	for _, rows := range want {
		for _, r := range rows {
			if r.Kind != "reversal" {
				oracleSale[r.Payment] = r
				instants = append(instants, r.At.Add(hold-1), r.At.Add(hold))
			}
		}
	}
	sales := map[string]*domain.Sale{}
	for _, at := range instants {
		st.viewClock.set(at)
		v := st.proj.View()
		for _, aff := range affiliates {
			for r := range v.SalesRows(aff, time.Time{}, time.Time{}) {
				if r.Kind == projections.RowReversal {
					continue
				}
				x := sales[r.SaleID]
				if x == nil {
					var err error
					if x, err = st.svc.Sale(ctx, r.SaleID); err != nil {
						return fmt.Errorf("sale of %s: %w", reportRow(r, payment), err)
					}
					sales[r.SaleID] = x
				}
				if d := x.CommissionStatusAt(at, hold); d != r.CommissionStatus {
					return fmt.Errorf("at %s (hold %s) the report shows %s as %s, the Sale aggregate says %s",
						at.Format(time.RFC3339Nano), hold, reportRow(r, payment), r.CommissionStatus, d)
				}
				if o, ok := oracleSale[payment[r.SaleID]]; ok && !at.Before(approveAt) && o.status(at, hold) != string(r.CommissionStatus) {
					return fmt.Errorf("at %s (hold %s) the report shows %s as %s, the oracle says %s",
						at.Format(time.RFC3339Nano), hold, reportRow(r, payment), r.CommissionStatus, o.status(at, hold))
				}
			}
		}
	}
	return nil
}

// reportRow writes a report row as the oracle writes its rows, with its
// status: the sale named by its payment intent.
func reportRow(r projections.SalesRow, payment map[string]string) string {
	pi, ok := payment[r.SaleID]
	if !ok {
		pi = "unknown-sale-" + r.SaleID
	}
	o := oracleRow{At: r.OccurredAt, Payment: pi, Kind: string(r.Kind), Product: r.ProductID, Amount: r.Amount, Currency: r.Currency, Commission: r.CommissionAmount}
	return o.String() + " " + string(r.CommissionStatus)
}
