package projections

import (
	"reflect"
	"testing"
	"time"

	"github.com/aseptsoft/subledger/domain"
)

func TestStats(t *testing.T) {
	d1, d2, d3 := day(2024, 1, 31), day(2024, 2, 1), day(2024, 2, 2)
	sub := func(id, plan string, status domain.SubscriptionStatus, started, ended time.Time) domain.SubscriptionView {
		return domain.SubscriptionView{AccountID: "a1", ProductID: plan, Status: status, StartedAt: started, EndedAt: ended}
	}
	p := newProjector(t, Config{})
	applyEvents(t, p, 1,
		domain.AccountRegistered{AccountID: "a1", RegisteredAt: d1.Add(time.Hour)},
		domain.AccountRegistered{AccountID: "a2", RegisteredAt: d1.Add(2 * time.Hour)},
		domain.AccountRegistered{AccountID: "a3", RegisteredAt: d2},
		domain.AccountRegistered{AccountID: "a4", RegisteredAt: d3},
		domain.AccountClosed{AccountID: "a2", ClosedAt: d3},
		domain.AccountErased{AccountID: "a3", ErasedAt: d3},
		domain.SaleRecorded{SaleID: "s1", Kind: domain.SaleKindSale, ProductID: "desktop", Amount: 4900, Currency: "eur", OccurredAt: d1},
		domain.SaleRecorded{SaleID: "s2", Kind: domain.SaleKindSale, ProductID: "desktop", Amount: 4900, Currency: "eur", OccurredAt: d1.Add(time.Hour)},
		domain.SaleRecorded{SaleID: "s3", Kind: domain.SaleKindSale, ProductID: "desktop", Amount: 5900, Currency: "usd", OccurredAt: d1},
		domain.SaleRecorded{SaleID: "s4", Kind: domain.SaleKindRenewal, ProductID: "pro", Amount: 1500, Currency: "eur", OccurredAt: d2},
	)
	applyEvents(t, p, 2,
		domain.SubscriptionStarted{SubscriptionID: "x1", View: sub("x1", "pro", domain.SubscriptionStatusActive, d1, time.Time{})},
		domain.SubscriptionStarted{SubscriptionID: "x2", View: sub("x2", "pro", domain.SubscriptionStatusActive, d1, time.Time{})},
		domain.SubscriptionStarted{SubscriptionID: "x3", View: sub("x3", "team", domain.SubscriptionStatusActive, d2, time.Time{})},
		domain.SubscriptionPaymentFailed{SubscriptionID: "x2", View: sub("x2", "pro", domain.SubscriptionStatusPastDue, d1, time.Time{})},
		domain.SubscriptionEnded{SubscriptionID: "x1", View: sub("x1", "pro", domain.SubscriptionStatusEnded, d1, d3)},
		// A snapshot of a subscription that never started counts nowhere.
		domain.SubscriptionSynced{SubscriptionID: "x9", View: sub("x9", "pro", domain.SubscriptionStatusActive, d1, time.Time{})},
	)
	tests := []struct {
		name     string
		from, to time.Time
		want     Stats
	}{
		{
			name: "all time",
			want: Stats{
				Position: 2,
				Accounts: AccountCounts{Registered: 4, Active: 2, Closed: 1, Erased: 1},
				SignUps:  []DayCount{{"2024-01-31", 2}, {"2024-02-01", 1}, {"2024-02-02", 1}},
				Sales: []ProductSales{
					{Day: "2024-01-31", ProductID: "desktop", Currency: "eur", Sales: 2, SalesAmount: 9800},
					{Day: "2024-01-31", ProductID: "desktop", Currency: "usd", Sales: 1, SalesAmount: 5900},
					{Day: "2024-02-01", ProductID: "pro", Currency: "eur", Renewals: 1, RenewalsAmount: 1500},
				},
				Subscriptions: []PlanSubscriptions{{ProductID: "pro", PastDue: 1, Ended: 1}, {ProductID: "team", Active: 1}},
				Churn:         []PlanChurn{{Period: "2024-01", ProductID: "pro", Started: 2}, {Period: "2024-02", ProductID: "pro", Ended: 1}, {Period: "2024-02", ProductID: "team", Started: 1}},
			},
		},
		{
			name: "a range limits the series, not the current counts",
			from: d2, to: d3,
			want: Stats{
				Position:      2,
				Accounts:      AccountCounts{Registered: 4, Active: 2, Closed: 1, Erased: 1},
				SignUps:       []DayCount{{"2024-02-01", 1}},
				Sales:         []ProductSales{{Day: "2024-02-01", ProductID: "pro", Currency: "eur", Renewals: 1, RenewalsAmount: 1500}},
				Subscriptions: []PlanSubscriptions{{ProductID: "pro", PastDue: 1, Ended: 1}, {ProductID: "team", Active: 1}},
				Churn:         []PlanChurn{{Period: "2024-02", ProductID: "pro", Ended: 1}, {Period: "2024-02", ProductID: "team", Started: 1}},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.View().Stats(tc.from, tc.to); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Stats:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
