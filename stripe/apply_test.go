package stripe_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/eventstore/codec"
	"github.com/aseptsoft/subledger/eventstore/embedded"
	"github.com/aseptsoft/subledger/eventstore/keyring"
	"github.com/aseptsoft/subledger/eventstore/repository"
	"github.com/aseptsoft/subledger/stripe"
)

// failingStore fails every append while fail is set.
type failingStore struct {
	domain.Store
	fail atomic.Bool
}

var errDiskOnFire = errors.New("the disk is on fire")

func (s *failingStore) Append(ctx context.Context, stream string, expected int64, events []domain.Event, meta domain.Meta) (uint64, error) {
	if s.fail.Load() {
		return 0, errDiskOnFire
	}
	return s.Store.Append(ctx, stream, expected, events, meta)
}

// applyEnv is a domain.Service on a real embedded store and key ring, as
// eventstore/repository's tests set it up, with an Applier.
type applyEnv struct {
	svc     *domain.Service
	store   *failingStore
	applier *stripe.Applier
}

func newApplyEnv(t *testing.T) *applyEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	es, err := embedded.Open(filepath.Join(dir, "events"), embedded.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { es.Close() })
	master, _, err := keyring.LoadOrCreateMasterKey(filepath.Join(dir, "master.key"), true, nil)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.OpenFileRing(ctx, filepath.Join(dir, "keyring"), master, es, keyring.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ring.Close() })
	reg, err := repository.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	store := &failingStore{Store: repository.New(es, codec.New(reg, ring, codec.Config{}))}
	_, signing, _ := ed25519.GenerateKey(nil)
	svc, err := domain.NewService(domain.Config{Store: store, Secret: bytes.Repeat([]byte("s"), 32), LicenseSigningKey: signing,
		Pseudonyms: repository.Pseudonyms{Ring: ring}, Now: func() time.Time { return mar5.Add(24 * time.Hour) },
		Passwords: domain.Argon2id{Time: 1, MemoryKiB: 1024, Threads: 1, KeyLen: 32, SaltLen: 16}})
	if err != nil {
		t.Fatal(err)
	}
	return &applyEnv{svc: svc, store: store, applier: &stripe.Applier{Service: svc, Translator: translator}}
}

// affiliate registers an affiliate at 10% and returns its id.
func (e *applyEnv) affiliate(t *testing.T) string {
	t.Helper()
	a, _, err := e.svc.RegisterAffiliate(context.Background(), domain.RegisterAffiliate{Name: "Ada Referrer",
		Email: "ada.referrer@example.org", CommissionRateBps: 1000, RecurringMonths: 1})
	if err != nil {
		t.Fatal(err)
	}
	return a.Affiliate.ID
}

func (e *applyEnv) apply(t *testing.T, body []byte) stripe.Outcome {
	t.Helper()
	out, err := e.applier.Apply(context.Background(), event(t, body))
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return out
}

// received reports whether an event's receipt was recorded (and records
// it, so call it last).
func (e *applyEnv) received(t *testing.T, body []byte) bool {
	t.Helper()
	ev := event(t, body)
	dup, _, err := e.svc.RecordStripeEvent(context.Background(), domain.RecordStripeEvent{EventID: ev.ID, Type: string(ev.Type), CreatedAt: time.Unix(ev.Created, 0)})
	if err != nil {
		t.Fatal(err)
	}
	return dup
}

func TestApply(t *testing.T) {
	ctx := context.Background()
	noMeta := []edit{set("data.object.subscription_details.metadata", map[string]any{}), set("data.object.lines.data.0.metadata", map[string]any{})}

	t.Run("a license checkout with an affiliate makes the license, the sale and the commission", func(t *testing.T) {
		e := newApplyEnv(t)
		aff := e.affiliate(t)
		out := e.apply(t, payload(t, "checkout.session.completed.payment", set("data.object.metadata.affiliate_id", aff)))
		if out.Ignored != "" || out.Duplicate || out.Position == 0 {
			t.Fatalf("outcome %+v", out)
		}
		lic, err := e.svc.License(ctx, e.svc.LicenseIDForPaymentIntent(licensePI))
		if err != nil {
			t.Fatal(err)
		}
		if lic.AccountID != accountID || lic.ProductID != "app-license" || lic.Quantity != 3 || lic.Amount != 14700 || !lic.PurchasedAt.Equal(jan5) || lic.Key == "" {
			t.Fatalf("license %+v", lic)
		}
		sale, err := e.svc.Sale(ctx, e.svc.SaleIDForPaymentIntent(licensePI))
		if err != nil {
			t.Fatal(err)
		}
		if !sale.Recorded || sale.Amount != 14700 || !sale.Earned || sale.AffiliateID != aff || sale.Commission != 1470 {
			t.Fatalf("sale %+v", sale)
		}
	})

	t.Run("a redelivered event is reported as duplicate and appends nothing", func(t *testing.T) {
		e := newApplyEnv(t)
		body := payload(t, "checkout.session.completed.payment")
		e.apply(t, body)
		out := e.apply(t, body)
		if !out.Duplicate || out.Ignored != "" || out.Position != 0 {
			t.Fatalf("second delivery: %+v", out)
		}
	})

	t.Run("a refund before its sale is kept and reverses the sale when it arrives", func(t *testing.T) {
		e := newApplyEnv(t)
		aff := e.affiliate(t)
		if out := e.apply(t, payload(t, "charge.refunded")); out.Ignored != "" {
			t.Fatalf("refund: %+v", out)
		}
		e.apply(t, payload(t, "checkout.session.completed.payment", set("data.object.metadata.affiliate_id", aff)))
		sale, err := e.svc.Sale(ctx, e.svc.SaleIDForPaymentIntent(licensePI))
		if err != nil {
			t.Fatal(err)
		}
		var reversed int64
		for _, r := range sale.Reversals {
			reversed += r.Amount
		}
		if reversed != -4900 {
			t.Fatalf("reversals %+v", sale.Reversals)
		}
		e.apply(t, payload(t, "charge.refunded.full"))
		lic, err := e.svc.License(ctx, e.svc.LicenseIDForPaymentIntent(licensePI))
		if err != nil || !lic.Refunded {
			t.Fatalf("license after the full refund: %+v, %v", lic, err)
		}
	})

	t.Run("a dispute is kept before its sale and reverses the first payment when it is lost", func(t *testing.T) {
		e := newApplyEnv(t)
		aff := e.affiliate(t)
		if out := e.apply(t, payload(t, "charge.dispute.closed")); out.Ignored != "" || out.Fact.Tie != stripe.TieReference {
			t.Fatalf("dispute: %+v", out)
		}
		e.apply(t, payload(t, "invoice.paid.create", set("data.object.subscription_details.metadata.affiliate_id", aff),
			set("data.object.lines.data.0.metadata.affiliate_id", aff)))
		sale, err := e.svc.Sale(ctx, e.svc.SaleIDForPaymentIntent(firstPI))
		if err != nil {
			t.Fatal(err)
		}
		var reversed int64
		for _, r := range sale.Reversals {
			reversed += r.Amount
			if !r.OccurredAt.Equal(feb10) {
				t.Errorf("reversal at %s, want the dispute's opening %s", r.OccurredAt, feb10)
			}
		}
		if !sale.Recorded || sale.Commission != 90 || reversed != -900 {
			t.Fatalf("sale %+v", sale)
		}
	})

	t.Run("an invoice without metadata is ignored until its subscription is known", func(t *testing.T) {
		e := newApplyEnv(t)
		invoice := payload(t, "invoice.paid.create", noMeta...)
		if out := e.apply(t, invoice); out.Ignored != stripe.IgnoredNotOurs {
			t.Fatalf("invoice of an unknown subscription: %+v", out)
		}
		e.apply(t, payload(t, "checkout.session.completed.subscription"))
		out := e.apply(t, invoice)
		if out.Ignored != "" || !out.Duplicate {
			t.Fatalf("redelivered invoice of a known subscription: %+v", out)
		}
		sub, err := e.svc.Subscription(ctx, e.svc.SubscriptionIDFor(stripeSub))
		if err != nil {
			t.Fatal(err)
		}
		if sub.AccountID != accountID || !sub.Paid || !sub.CurrentPeriodEnd.Equal(feb5) || sub.Status != domain.SubscriptionStatusActive {
			t.Fatalf("subscription %+v", sub.SubscriptionView)
		}
	})

	t.Run("a subscription's snapshots and failed payment are applied", func(t *testing.T) {
		e := newApplyEnv(t)
		for _, f := range []string{"customer.subscription.created", "invoice.paid.create", "invoice.paid.cycle", "invoice.payment_failed", "customer.subscription.updated"} {
			if out := e.apply(t, payload(t, f)); out.Ignored != "" {
				t.Fatalf("%s: %+v", f, out)
			}
		}
		sub, err := e.svc.Subscription(ctx, e.svc.SubscriptionIDFor(stripeSub))
		if err != nil {
			t.Fatal(err)
		}
		if sub.Status != domain.SubscriptionStatusPastDue || !sub.CancelAtPeriodEnd || sub.Amount != 900 {
			t.Fatalf("subscription %+v", sub.SubscriptionView)
		}
		e.apply(t, payload(t, "customer.subscription.deleted"))
		sub, err = e.svc.Subscription(ctx, e.svc.SubscriptionIDFor(stripeSub))
		if err != nil || sub.Status != domain.SubscriptionStatusEnded || !sub.EndedAt.Equal(mar5) {
			t.Fatalf("ended subscription %+v, %v", sub, err)
		}
	})

	t.Run("a refund without metadata before its sale is kept and counted when the sale arrives", func(t *testing.T) {
		e := newApplyEnv(t)
		aff := e.affiliate(t)
		out := e.apply(t, payload(t, "charge.refunded", set("data.object.metadata", map[string]any{})))
		if out.Ignored != "" || out.Fact.Tie != stripe.TieReference {
			t.Fatalf("outcome %+v", out)
		}
		e.apply(t, payload(t, "checkout.session.completed.payment", set("data.object.metadata.affiliate_id", aff)))
		sale, err := e.svc.Sale(ctx, e.svc.SaleIDForPaymentIntent(licensePI))
		if err != nil || len(sale.Reversals) != 1 {
			t.Fatalf("sale %+v, %v", sale, err)
		}
	})

	t.Run("ignored events record their receipt", func(t *testing.T) {
		e := newApplyEnv(t)
		body := payload(t, "payment_intent.succeeded")
		if out := e.apply(t, body); out.Ignored != stripe.IgnoredType || out.Duplicate || out.Position == 0 {
			t.Fatalf("first delivery %+v", out)
		}
		if out := e.apply(t, body); !out.Duplicate {
			t.Fatalf("second delivery %+v", out)
		}
	})

	t.Run("a fact the domain refuses is malformed and records nothing", func(t *testing.T) {
		e := newApplyEnv(t)
		body := payload(t, "checkout.session.completed.payment", set("data.object.metadata.product_id", remove))
		_, err := e.applier.Apply(ctx, event(t, body))
		if !errors.Is(err, stripe.ErrMalformedEvent) {
			t.Fatalf("Apply: %v", err)
		}
		assertNoPersonalData(t, err)
		if e.received(t, body) {
			t.Fatal("the refused event's receipt was recorded")
		}
	})

	t.Run("a store failure is an error to retry, not a malformed event, and records nothing", func(t *testing.T) {
		e := newApplyEnv(t)
		body := payload(t, "checkout.session.completed.payment")
		e.store.fail.Store(true)
		_, err := e.applier.Apply(ctx, event(t, body))
		if err == nil || errors.Is(err, stripe.ErrMalformedEvent) || !errors.Is(err, errDiskOnFire) {
			t.Fatalf("Apply: %v", err)
		}
		e.store.fail.Store(false)
		if out := e.apply(t, body); out.Duplicate || out.Ignored != "" {
			t.Fatalf("retry after the failure: %+v", out)
		}
		if _, err := e.svc.License(ctx, e.svc.LicenseIDForPaymentIntent(licensePI)); err != nil {
			t.Fatalf("the retry made no license: %v", err)
		}
	})
}
