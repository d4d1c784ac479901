package domain

import (
	"context"
	"strings"
	"time"
)

// What the external order test (order_test.go, package domain_test, which
// may import domaintest) needs of the package's insides.

// OrderRun is a Service over an in-memory store with a settable clock, for
// one delivery of a lifecycle.
type OrderRun struct{ f *fixture }

// NewOrderRun returns a fresh run; its Service hands out the ids
// domaintest.NewIDs does (the fixture's ids have the same form).
func NewOrderRun(t tb) *OrderRun { return &OrderRun{f: newFixture(t)} }

// Service returns the run's Service.
func (r *OrderRun) Service() *Service { return r.f.svc }

// SetClock sets the Service's clock.
func (r *OrderRun) SetClock(at time.Time) {
	r.f.clockMu.Lock()
	defer r.f.clockMu.Unlock()
	r.f.now = at
}

// SetTick makes every reading of the clock advance it by d, so that a
// decision that wrongly depends on the clock shows.
func (r *OrderRun) SetTick(d time.Duration) {
	r.f.clockMu.Lock()
	defer r.f.clockMu.Unlock()
	r.f.tick = d
}

// Forget shreds a subject's personal data, as the key ring does.
func (r *OrderRun) Forget(_ context.Context, subject string) error {
	r.f.store.forget(subject)
	return nil
}

// States returns every stream's aggregate as the Service loads it, by
// stream name.
func (r *OrderRun) States(t tb) map[string]any {
	t.Helper()
	ctx := context.Background()
	s := &Service{store: r.f.store}
	out := map[string]any{}
	for _, stream := range r.f.store.streamNames("") {
		var a any
		var err error
		switch {
		case strings.HasPrefix(stream, "account-"):
			a, _, err = load(ctx, s, stream, newAccount)
		case strings.HasPrefix(stream, "reservation-"):
			a, _, err = load(ctx, s, stream, newReservation)
		case strings.HasPrefix(stream, "license-"):
			a, _, err = load(ctx, s, stream, newLicense)
		case strings.HasPrefix(stream, "subscription-"):
			a, _, err = load(ctx, s, stream, newSubscription)
		case strings.HasPrefix(stream, "sale-"):
			a, _, err = load(ctx, s, stream, newSale)
		case strings.HasPrefix(stream, "affiliate-"):
			a, _, err = load(ctx, s, stream, newAffiliate)
		case strings.HasPrefix(stream, StripeEventStream("")):
			a, _, err = load(ctx, s, stream, newStripeReceipt)
		case strings.HasPrefix(stream, StripeIntentStream("")):
			a, _, err = load(ctx, s, stream, newStripeIntent)
		default:
			t.Fatalf("unknown stream %s", stream)
		}
		if err != nil {
			t.Fatal(err)
		}
		out[stream] = a
	}
	return out
}
