package projections

import (
	"testing"
	"time"

	"github.com/aseptsoft/subledger/domain"
)

func TestSubscriptions(t *testing.T) {
	t0 := day(2024, 6, 1)
	view := func(status domain.SubscriptionStatus, product string) domain.SubscriptionView {
		v := domain.SubscriptionView{AccountID: "a1", ProductID: product, Status: status, CurrentPeriodEnd: t0.AddDate(0, 1, 0),
			Amount: 1500, Currency: "usd", StartedAt: t0}
		if status == domain.SubscriptionStatusEnded {
			v.EndedAt = t0.AddDate(0, 0, 10)
		}
		return v
	}
	active := view(domain.SubscriptionStatusActive, "pro-monthly")
	tests := []struct {
		name      string
		events    []domain.Event
		wantFound bool
		want      domain.SubscriptionView
		wantStats []PlanSubscriptions
	}{
		{
			name: "snapshot before start is not shown",
			events: []domain.Event{domain.SubscriptionSynced{SubscriptionID: "s1", StripeSubscriptionID: "sub_1",
				View: domain.SubscriptionView{Status: domain.SubscriptionStatusActive}}},
		},
		{
			name: "started subscription shows the latest view",
			events: []domain.Event{
				domain.SubscriptionCheckoutCompleted{SubscriptionID: "s1", StripeSubscriptionID: "sub_1", View: active},
				domain.SubscriptionStarted{SubscriptionID: "s1", StripeSubscriptionID: "sub_1", View: active},
				domain.SubscriptionCancellationRequested{SubscriptionID: "s1", View: func() domain.SubscriptionView { v := active; v.CancelAtPeriodEnd = true; return v }()},
			},
			wantFound: true,
			want:      func() domain.SubscriptionView { v := active; v.CancelAtPeriodEnd = true; return v }(),
			wantStats: []PlanSubscriptions{{ProductID: "pro-monthly", Active: 1}},
		},
		{
			name: "payment failure makes it past due",
			events: []domain.Event{
				domain.SubscriptionStarted{SubscriptionID: "s1", StripeSubscriptionID: "sub_1", View: active},
				domain.SubscriptionPaymentFailed{SubscriptionID: "s1", View: view(domain.SubscriptionStatusPastDue, "pro-monthly")},
			},
			wantFound: true,
			want:      view(domain.SubscriptionStatusPastDue, "pro-monthly"),
			wantStats: []PlanSubscriptions{{ProductID: "pro-monthly", PastDue: 1}},
		},
		{
			name: "plan change and end move the statistics",
			events: []domain.Event{
				domain.SubscriptionStarted{SubscriptionID: "s1", StripeSubscriptionID: "sub_1", View: active},
				domain.SubscriptionPlanChanged{SubscriptionID: "s1", View: view(domain.SubscriptionStatusActive, "pro-yearly")},
				domain.SubscriptionEnded{SubscriptionID: "s1", View: view(domain.SubscriptionStatusEnded, "pro-yearly")},
			},
			wantFound: true,
			want:      view(domain.SubscriptionStatusEnded, "pro-yearly"),
			wantStats: []PlanSubscriptions{{ProductID: "pro-yearly", Ended: 1}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newProjector(t, Config{})
			for i, e := range tc.events {
				applyEvents(t, p, uint64(i+1), e)
			}
			v := p.View()
			s, ok := v.Subscription("s1")
			if ok != tc.wantFound || s.SubscriptionView != tc.want {
				t.Fatalf("Subscription = %+v, %v; want %+v, %v", s, ok, tc.want, tc.wantFound)
			}
			page, err := v.Subscriptions("a1", 10, "")
			if err != nil || len(page.Items) != map[bool]int{true: 1}[tc.wantFound] {
				t.Fatalf("Subscriptions = %+v, %v", page, err)
			}
			if got := v.Stats(time.Time{}, time.Time{}).Subscriptions; len(got) != len(tc.wantStats) || (len(got) > 0 && got[0] != tc.wantStats[0]) {
				t.Fatalf("stats = %+v, want %+v", got, tc.wantStats)
			}
		})
	}
}
