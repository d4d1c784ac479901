package projections

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/aseptsoft/subledger/domain"
)

func TestSalesSummary(t *testing.T) {
	p := newProjector(t, Config{})
	applyEvents(t, p, 1,
		earned("s1", "f1", domain.SaleKindSale, 10000, day(2024, 1, 5)),
		earned("s2", "f1", domain.SaleKindRenewal, 5000, day(2024, 1, 20)),
		domain.CommissionEarned{SaleID: "s3", AffiliateID: "f1", Kind: domain.SaleKindSale, ProductID: "pro", Amount: 7000,
			Currency: "usd", CommissionAmount: 1400, OccurredAt: day(2024, 1, 21)},
		reversed("s1", "r1", "f1", 10000, day(2024, 2, 3)),
		earned("s4", "f1", domain.SaleKindSale, 999, day(2024, 3, 31).Add(23*time.Hour)),
		earned("x", "f2", domain.SaleKindSale, 1, day(2024, 1, 5)),
	)
	tests := []struct {
		name     string
		from, to time.Time
		want     []SummaryRow
	}{
		{
			name: "whole months give one row per month and currency",
			from: day(2024, 1, 1), to: day(2024, 4, 1),
			want: []SummaryRow{
				{Period: "2024-01", Currency: "eur", Sales: 2, GrossAmount: 15000, CommissionAmount: 3000, NetCommissionAmount: 3000},
				{Period: "2024-01", Currency: "usd", Sales: 1, GrossAmount: 7000, CommissionAmount: 1400, NetCommissionAmount: 1400},
				{Period: "2024-02", Currency: "eur", ReversedAmount: 2000, NetCommissionAmount: -2000},
				{Period: "2024-03", Currency: "eur", Sales: 1, GrossAmount: 999, CommissionAmount: 199, NetCommissionAmount: 199},
			},
		},
		{
			name: "cut months count only the rows inside the range",
			from: day(2024, 1, 10), to: day(2024, 3, 31),
			want: []SummaryRow{
				{Period: "2024-01", Currency: "eur", Sales: 1, GrossAmount: 5000, CommissionAmount: 1000, NetCommissionAmount: 1000},
				{Period: "2024-01", Currency: "usd", Sales: 1, GrossAmount: 7000, CommissionAmount: 1400, NetCommissionAmount: 1400},
				{Period: "2024-02", Currency: "eur", ReversedAmount: 2000, NetCommissionAmount: -2000},
			},
		},
		{
			name: "range inside one month",
			from: day(2024, 1, 2), to: day(2024, 1, 6),
			want: []SummaryRow{{Period: "2024-01", Currency: "eur", Sales: 1, GrossAmount: 10000, CommissionAmount: 2000, NetCommissionAmount: 2000}},
		},
		{name: "months without rows give no rows", from: day(2023, 1, 1), to: day(2024, 1, 1)},
		{name: "empty range gives no rows", from: day(2024, 1, 1), to: day(2024, 1, 1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := p.View().SalesSummary("f1", tc.from, tc.to)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("summary:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestSalesSummaryMatchesRows checks the maintained monthly figures against
// sums of the rows, over random rows, corrections and ranges.
func TestSalesSummaryMatchesRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	p := newProjector(t, Config{})
	base := day(2023, 11, 1)
	at := func() time.Time { return base.Add(time.Duration(rng.Int64N(int64(200 * 24 * time.Hour)))) }
	currencies := []string{"eur", "usd"}
	var pos uint64
	for b := range 20 {
		var events []domain.Event
		for i := range 50 {
			sale := fmt.Sprintf("s%d-%d", b, i)
			amount := 100 + rng.Int64N(10000)
			e := earned(sale, []string{"f1", "f2"}[rng.IntN(2)], []domain.SaleKind{domain.SaleKindSale, domain.SaleKindRenewal}[rng.IntN(2)], amount, at())
			e.Currency = currencies[rng.IntN(2)]
			events = append(events, e)
			if rng.IntN(3) == 0 {
				r := reversed(sale, sale+"-r", e.AffiliateID, amount/2, at())
				r.Currency = e.Currency
				events = append(events, r)
				switch rng.IntN(3) {
				case 0: // moved to another time and amount
					events = append(events, domain.CommissionReversalAdjusted{SaleID: sale, ReversalID: sale + "-r", AffiliateID: e.AffiliateID,
						Reason: domain.ReversalRefund, Amount: -amount, CommissionAmount: -e.CommissionAmount, OccurredAt: at()})
				case 1: // removed
					events = append(events, domain.CommissionReversalAdjusted{SaleID: sale, ReversalID: sale + "-r", AffiliateID: e.AffiliateID})
				}
			}
		}
		pos++
		applyEvents(t, p, pos, events...)
	}
	v := p.View()
	for range 200 {
		from, to := at(), at()
		if rng.IntN(2) == 0 {
			from = monthOf(from).start()
		}
		if to.Before(from) {
			from, to = to, from
		}
		for _, aff := range []string{"f1", "f2"} {
			got := v.SalesSummary(aff, from, to)
			want := v.summarizeRows(nil, aff, from, to)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s [%v, %v):\n got %+v\nwant %+v", aff, from, to, got, want)
			}
		}
	}
}
