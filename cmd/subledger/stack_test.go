package main

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aseptsoft/subledger/domain"
)

// --commission-hold 0 means no hold: a referred sale's commission is
// approved at once; any other value holds it that long.
func TestCommissionHoldFlag(t *testing.T) {
	tests := []struct {
		name string
		hold time.Duration
		want domain.CommissionStatus
	}{
		{name: "a hold of 0 approves at once", hold: 0, want: domain.CommissionStatusApproved},
		{name: "a hold of 24h keeps it pending", hold: 24 * time.Hour, want: domain.CommissionStatusPending},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			cfg := config{DataDir: t.TempDir(), Store: "embedded", CommissionHold: tt.hold, now: func() time.Time { return t0 }}
			st, err := openStack(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			svc, err := st.service(cfg, benchSigningKey(), domain.Argon2id{Time: 1, MemoryKiB: 64})
			if err != nil {
				t.Fatal(err)
			}
			aff, _, err := svc.RegisterAffiliate(ctx, domain.RegisterAffiliate{Name: "Aff", Email: "aff@example.org", CommissionRateBps: 1000})
			if err != nil {
				t.Fatal(err)
			}
			acc, _, err := svc.RegisterAccount(ctx, domain.RegisterAccount{Name: "Customer", Email: "customer@example.org", Password: "a long password"})
			if err != nil {
				t.Fatal(err)
			}
			lic, _, err := svc.RecordCheckoutPaid(ctx, domain.RecordCheckoutPaid{SessionID: "cs_1", PaymentIntentID: "pi_1", AccountID: acc.ID,
				ProductID: "app-license", Quantity: 1, AffiliateID: aff.Affiliate.ID, Amount: 4900, Currency: "eur", OccurredAt: t0})
			if err != nil {
				t.Fatal(err)
			}
			sale, err := svc.Sale(ctx, lic.SaleID)
			if err != nil {
				t.Fatal(err)
			}
			if got := svc.CommissionStatus(sale); got != tt.want {
				t.Fatalf("commission status %s, want %s", got, tt.want)
			}
		})
	}
}
