package main

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aseptsoft/subledger/domain"
)

// generateConfig shapes the synthetic business that `bench rebuild` replays.
type generateConfig struct {
	Accounts   int
	Affiliates int
	Workers    int
	Seed       uint64
}

// generate runs a synthetic business through the domain service: sign-ups,
// license purchases (some refunded), subscriptions with monthly renewals
// (some cancelled), a share of them referred by affiliates. It uses the same
// commands as the API and the Stripe webhook, so the store holds what a real
// deployment would.
func generate(ctx context.Context, svc *domain.Service, cfg generateConfig, progress func(done int)) error {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	affiliates := make([]string, cfg.Affiliates)
	for i := range affiliates {
		a, _, err := svc.RegisterAffiliate(ctx, domain.RegisterAffiliate{
			Name: fmt.Sprintf("Affiliate %d", i), Email: fmt.Sprintf("affiliate%d@example.com", i),
			CommissionRateBps: 1000 + 500*(i%4), RecurringMonths: 12,
		})
		if err != nil {
			return fmt.Errorf("register affiliate: %w", err)
		}
		affiliates[i] = a.Affiliate.ID
	}
	var next, done atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, cfg.Workers)
	for w := 0; w < cfg.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := int(next.Add(1) - 1)
				if n >= cfg.Accounts {
					return
				}
				rng := rand.New(rand.NewPCG(cfg.Seed, uint64(n)))
				if err := generateCustomer(ctx, svc, n, rng, start, affiliates); err != nil {
					errc <- fmt.Errorf("customer %d: %w", n, err)
					return
				}
				if d := done.Add(1); progress != nil && d%1000 == 0 {
					progress(int(d))
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	return <-errc
}

func generateCustomer(ctx context.Context, svc *domain.Service, n int, rng *rand.Rand, start time.Time, affiliates []string) error {
	acc, _, err := svc.RegisterAccount(ctx, domain.RegisterAccount{
		Name: fmt.Sprintf("Customer %d", n), Company: fmt.Sprintf("Company %d GmbH", n%5000),
		Email: fmt.Sprintf("customer%d@example.com", n), Password: "generated password",
		MarketingConsent: n%3 == 0,
	})
	if err != nil {
		return err
	}
	at := start.Add(time.Duration(rng.IntN(300*24)) * time.Hour)
	affiliate := ""
	if len(affiliates) > 0 && rng.IntN(3) == 0 {
		affiliate = affiliates[rng.IntN(len(affiliates))]
	}
	ref := func(kind string, i int) string { return fmt.Sprintf("%s_%d_%d", kind, n, i) }
	// Half of the customers buy a perpetual license; one sale in twenty is
	// refunded.
	if rng.IntN(2) == 0 {
		pi := ref("pi", 0)
		amount := int64(4900 * (1 + rng.IntN(3)))
		if _, _, err := svc.RecordCheckoutPaid(ctx, domain.RecordCheckoutPaid{
			SessionID: ref("cs", 0), PaymentIntentID: pi, AccountID: acc.ID, ProductID: "desktop-license",
			Quantity: 1 + rng.IntN(3), AffiliateID: affiliate, Amount: amount, Currency: "eur", OccurredAt: at,
		}); err != nil {
			return err
		}
		if rng.IntN(20) == 0 {
			if _, _, err := svc.RecordRefund(ctx, domain.RecordRefund{
				ChargeID: ref("ch", 0), PaymentIntentID: pi, AmountRefundedTotal: amount, Currency: "eur", OccurredAt: at.Add(72 * time.Hour),
			}); err != nil {
				return err
			}
		}
	}
	// Two customers in three subscribe to the Pro plan and renew monthly;
	// some cancel.
	if rng.IntN(3) < 2 {
		sub := ref("sub", 0)
		const price = 1500
		if _, _, err := svc.RecordSubscriptionCheckout(ctx, domain.RecordSubscriptionCheckout{
			SessionID: ref("cs", 1), SubscriptionID: sub, AccountID: acc.ID, ProductID: "pro-monthly",
			AffiliateID: affiliate, Amount: price, Currency: "eur", OccurredAt: at,
		}); err != nil {
			return err
		}
		months := 1 + rng.IntN(6)
		for m := 0; m < months; m++ {
			reason := domain.BillingReasonCycle
			if m == 0 {
				reason = domain.BillingReasonCreate
			}
			periodStart := at.AddDate(0, m, 0)
			if _, _, err := svc.RecordInvoicePaid(ctx, domain.RecordInvoicePaid{
				InvoiceID: ref("in", m), SubscriptionID: sub, PaymentIntentID: ref("pi_sub", m), BillingReason: reason,
				AccountID: acc.ID, ProductID: "pro-monthly", AffiliateID: affiliate, Amount: price, Currency: "eur",
				PeriodStart: periodStart, PeriodEnd: periodStart.AddDate(0, 1, 0), OccurredAt: periodStart,
			}); err != nil {
				return err
			}
		}
		if rng.IntN(4) == 0 {
			end := at.AddDate(0, months, 0)
			if _, _, err := svc.RecordSubscriptionChange(ctx, domain.RecordSubscriptionChange{
				SubscriptionID: sub, Change: "deleted", Status: "canceled", AccountID: acc.ID, ProductID: "pro-monthly",
				AffiliateID: affiliate, Amount: price, Currency: "eur", CurrentPeriodEnd: end, StartedAt: at, EndedAt: end, OccurredAt: end,
			}); err != nil {
				return err
			}
		}
	}
	return nil
}

// benchSigningKey is a fixed license-signing key for generated stores.
func benchSigningKey() ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("subledger bench signing key"))
	return ed25519.NewKeyFromSeed(seed[:])
}
