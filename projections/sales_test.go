package projections

import (
	"fmt"
	"testing"
	"time"

	"github.com/aseptsoft/subledger/domain"
)

func earned(sale, affiliate string, kind domain.SaleKind, amount int64, at time.Time) domain.CommissionEarned {
	return domain.CommissionEarned{SaleID: sale, AffiliateID: affiliate, Kind: kind, ProductID: "pro", Amount: amount,
		Currency: "eur", RateBps: 2000, CommissionAmount: amount * 2000 / 10000, OccurredAt: at}
}

func reversed(sale, reversal, affiliate string, amount int64, at time.Time) domain.CommissionReversed {
	return domain.CommissionReversed{SaleID: sale, ReversalID: reversal, AffiliateID: affiliate, Reason: domain.ReversalRefund,
		ProductID: "pro", Amount: -amount, Currency: "eur", CommissionAmount: -(amount * 2000 / 10000), OccurredAt: at}
}

func TestSalesRows(t *testing.T) {
	t0 := day(2024, 1, 10)
	hold := 30 * 24 * time.Hour
	row := func(sale string, kind RowKind, amount int64, at time.Time, status domain.CommissionStatus) SalesRow {
		return SalesRow{OccurredAt: at, SaleID: sale, Kind: kind, ProductID: "pro", Amount: amount, Currency: "eur",
			CommissionAmount: amount * 2000 / 10000, CommissionStatus: status}
	}
	tests := []struct {
		name     string
		events   []domain.Event
		now      time.Time
		from, to time.Time
		want     []SalesRow
	}{
		{
			name:   "fresh sale is pending",
			events: []domain.Event{earned("s1", "f1", domain.SaleKindSale, 10000, t0)},
			now:    t0.Add(hold - time.Second),
			want:   []SalesRow{row("s1", RowSale, 10000, t0, domain.CommissionStatusPending)},
		},
		{
			name:   "sale is approved once the hold has passed, without an approval event",
			events: []domain.Event{earned("s1", "f1", domain.SaleKindSale, 10000, t0)},
			now:    t0.Add(hold),
			want:   []SalesRow{row("s1", RowSale, 10000, t0, domain.CommissionStatusApproved)},
		},
		{
			name:   "approval event approves even before the hold by this clock",
			events: []domain.Event{earned("s1", "f1", domain.SaleKindSale, 10000, t0), domain.CommissionApproved{SaleID: "s1", AffiliateID: "f1", ApprovedAt: t0.Add(hold)}},
			now:    t0,
			want:   []SalesRow{row("s1", RowSale, 10000, t0, domain.CommissionStatusApproved)},
		},
		{
			name: "partial refund leaves the sale's status and adds a reversal row",
			events: []domain.Event{earned("s1", "f1", domain.SaleKindSale, 10000, t0),
				reversed("s1", "r1", "f1", 2500, t0.Add(time.Hour))},
			now: t0,
			want: []SalesRow{row("s1", RowSale, 10000, t0, domain.CommissionStatusPending),
				row("s1", RowReversal, -2500, t0.Add(time.Hour), domain.CommissionStatusReversed)},
		},
		{
			name: "full refund reverses the sale",
			events: []domain.Event{earned("s1", "f1", domain.SaleKindSale, 10000, t0),
				domain.CommissionApproved{SaleID: "s1", AffiliateID: "f1"},
				reversed("s1", "r1", "f1", 2500, t0.Add(time.Hour)), reversed("s1", "r2", "f1", 7500, t0.Add(2*time.Hour))},
			now: t0,
			want: []SalesRow{row("s1", RowSale, 10000, t0, domain.CommissionStatusReversed),
				row("s1", RowReversal, -2500, t0.Add(time.Hour), domain.CommissionStatusReversed),
				row("s1", RowReversal, -7500, t0.Add(2*time.Hour), domain.CommissionStatusReversed)},
		},
		{
			name: "adjusted reversal moves and a removed one disappears",
			events: []domain.Event{earned("s1", "f1", domain.SaleKindSale, 10000, t0),
				reversed("s1", "r1", "f1", 10000, t0.Add(time.Hour)), reversed("s1", "r2", "f1", 1000, t0.Add(2*time.Hour)),
				domain.CommissionReversalAdjusted{SaleID: "s1", ReversalID: "r1", AffiliateID: "f1", Reason: domain.ReversalDispute,
					Amount: -4000, CommissionAmount: -800, OccurredAt: t0.Add(3 * time.Hour)},
				domain.CommissionReversalAdjusted{SaleID: "s1", ReversalID: "r2", AffiliateID: "f1"}},
			now: t0,
			want: []SalesRow{row("s1", RowSale, 10000, t0, domain.CommissionStatusPending),
				row("s1", RowReversal, -4000, t0.Add(3*time.Hour), domain.CommissionStatusReversed)},
		},
		{
			name: "rows are oldest first, only the affiliate's, only in [from, to)",
			events: []domain.Event{
				earned("s3", "f1", domain.SaleKindRenewal, 3000, t0.Add(3*time.Hour)),
				earned("s1", "f1", domain.SaleKindSale, 1000, t0.Add(time.Hour)),
				earned("s0", "f1", domain.SaleKindSale, 1000, t0),
				earned("s2", "f1", domain.SaleKindSale, 2000, t0.Add(2*time.Hour)),
				earned("x1", "f2", domain.SaleKindSale, 2000, t0.Add(2*time.Hour)),
				earned("s4", "f1", domain.SaleKindSale, 2000, t0.Add(4*time.Hour)),
			},
			now: t0, from: t0.Add(time.Hour), to: t0.Add(4 * time.Hour),
			want: []SalesRow{row("s1", RowSale, 1000, t0.Add(time.Hour), domain.CommissionStatusPending),
				row("s2", RowSale, 2000, t0.Add(2*time.Hour), domain.CommissionStatusPending),
				row("s3", RowRenewal, 3000, t0.Add(3*time.Hour), domain.CommissionStatusPending)},
		},
		{
			name:   "empty range has no rows",
			events: []domain.Event{earned("s1", "f1", domain.SaleKindSale, 1000, t0)},
			now:    t0, from: t0, to: t0,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newProjector(t, Config{Now: func() time.Time { return tc.now }, CommissionHold: hold})
			for i, e := range tc.events {
				applyEvents(t, p, uint64(i+1), e)
			}
			to := tc.to
			if to.IsZero() && tc.from.IsZero() {
				to = t0.AddDate(1, 0, 0)
			}
			got := collect(p.View().SalesRows("f1", tc.from, to))
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("rows:\n got %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestSalesRowsStopEarly(t *testing.T) {
	t0 := day(2024, 1, 1)
	p := newProjector(t, Config{})
	for i := range 10 {
		applyEvents(t, p, uint64(i+1), earned(fmt.Sprint("s", i), "f1", domain.SaleKindSale, 100, t0.Add(time.Duration(i)*time.Minute)))
	}
	n := 0
	for range p.View().SalesRows("f1", time.Time{}, time.Time{}) {
		n++
		if n == 3 {
			break
		}
	}
	if n != 3 {
		t.Fatalf("n = %d", n)
	}
}

func TestCommissionsDue(t *testing.T) {
	t0 := day(2024, 1, 1)
	hold := 24 * time.Hour
	p := newProjector(t, Config{Now: func() time.Time { return t0.Add(hold + time.Hour) }, CommissionHold: hold})
	applyEvents(t, p, 1,
		earned("due", "f1", domain.SaleKindSale, 100, t0),
		earned("approved", "f1", domain.SaleKindSale, 100, t0),
		domain.CommissionApproved{SaleID: "approved", AffiliateID: "f1"},
		earned("refunded", "f1", domain.SaleKindSale, 100, t0),
		reversed("refunded", "r", "f1", 100, t0),
		earned("early", "f1", domain.SaleKindSale, 100, t0.Add(2*time.Hour)),
	)
	got := collect(p.View().CommissionsDue())
	if len(got) != 1 || got[0].SaleID != "due" || got[0].AffiliateID != "f1" {
		t.Fatalf("CommissionsDue = %+v", got)
	}
}

func TestCommissionStatusFollowsTheClockWithoutNewEvents(t *testing.T) {
	t0 := day(2024, 1, 1)
	hold := 24 * time.Hour
	clock := &fixedClock{t: t0}
	p := newProjector(t, Config{Now: clock.now, CommissionHold: hold})
	applyEvents(t, p, 1, earned("s1", "f1", domain.SaleKindSale, 100, t0))
	status := func() domain.CommissionStatus {
		rows := collect(p.View().SalesRows("f1", time.Time{}, time.Time{}))
		if len(rows) != 1 {
			t.Fatalf("rows %v", rows)
		}
		return rows[0].CommissionStatus
	}
	if got := status(); got != domain.CommissionStatusPending {
		t.Fatalf("at the sale: %s", got)
	}
	clock.set(t0.Add(hold))
	if got := status(); got != domain.CommissionStatusApproved {
		t.Fatalf("after the hold: %s", got)
	}
	if due := collect(p.View().CommissionsDue()); len(due) != 1 {
		t.Fatalf("due after the hold: %v", due)
	}
}
