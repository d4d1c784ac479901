package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/internal/nettest"
	"github.com/aseptsoft/subledger/stripe/stripemocktest"
)

// closedURL returns the URL of a 127.0.0.1 port nobody listens on.
func closedURL(t *testing.T) string {
	return "http://" + nettest.ClosedAddr(t)
}

// TestCheckout against stripe-mock: a license and a plan get a session;
// the account's Stripe customer is made once and kept encrypted; unknown
// products and affiliate codes are 422; a Stripe that cannot be reached
// is 502 with nothing recorded.
func TestCheckout(t *testing.T) {
	mock := stripemocktest.Start(t)
	e := newEnv(t, generousLimits, withStripe(t, mock))
	ctx := context.Background()
	id := e.signUp("Check Out", "check.out@example.com", "check out password")
	token := e.signIn("check.out@example.com", "check out password")
	reg, res, err := e.svc.RegisterAffiliate(ctx, domain.RegisterAffiliate{Name: "Aff", Email: "aff@example.com", CommissionRateBps: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.proj.WaitFor(ctx, res.Position); err != nil {
		t.Fatal(err)
	}
	body := func(product string, extra ...string) map[string]any {
		m := map[string]any{"account_id": id, "product_id": product, "success_url": "https://store.example/ok", "cancel_url": "https://store.example/cancel"}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return m
	}
	tests := []struct {
		name   string
		token  string
		body   map[string]any
		status int
		code   string
	}{
		{"a license by the store is 201", storeKey, body("app-license", "affiliate_code", strings.ToLower(reg.Affiliate.Code)), 201, ""},
		{"a plan by the customer is 201", token, body("pro-monthly"), 201, ""},
		{"an unknown product is 422", storeKey, body("nope"), 422, "unknown_product"},
		{"an unknown affiliate code is 422", storeKey, body("app-license", "affiliate_code", "NOPE2345"), 422, "unknown_affiliate_code"},
		{"a bad return URL is 422", storeKey, body("app-license", "success_url", "javascript:alert(1)"), 422, "validation_failed"},
	}
	var customer string
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.with(t).do("POST", "/v1/checkout-sessions", tc.token, tc.body)
			if r.status != tc.status || (tc.code != "" && r.code(t) != tc.code) {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if tc.status == 201 {
				out := r.json(t)
				if out["id"] == "" || out["url"] == "" {
					t.Fatalf("session %v", out)
				}
				acc, err := e.svc.Account(ctx, id)
				if err != nil || acc.StripeCustomerID == "" || (customer != "" && acc.StripeCustomerID != customer) {
					t.Fatalf("customer %q after %q (err %v): made twice or not kept", acc.StripeCustomerID, customer, err)
				}
				customer = acc.StripeCustomerID
			}
		})
	}
	t.Run("another customer's account is 404", func(t *testing.T) {
		other := e.signUp("Other", "other@example.com", "other password!")
		_ = other
		otherToken := e.signIn("other@example.com", "other password!")
		if r := e.with(t).do("POST", "/v1/checkout-sessions", otherToken, body("app-license")); r.status != 404 {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("Stripe unreachable is 502 and records nothing", func(t *testing.T) {
		down := newEnv(t, generousLimits, withStripe(t, closedURL(t)))
		id := down.signUp("Down", "down@example.com", "down password!")
		before := down.store.Position()
		r := down.do("POST", "/v1/checkout-sessions", storeKey, map[string]any{"account_id": id, "product_id": "app-license",
			"success_url": "https://store.example/ok", "cancel_url": "https://store.example/cancel"})
		if r.status != 502 || r.code(t) != "stripe_unavailable" {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if after := down.store.Position(); after != before {
			t.Fatalf("the failed checkout appended %d events", after-before)
		}
	})
	_ = time.Second
}

// TestCancelAndReactivate against stripe-mock.
func TestCancelAndReactivate(t *testing.T) {
	mock := stripemocktest.Start(t)
	e := newEnv(t, generousLimits, withStripe(t, mock))
	ctx := context.Background()
	id := e.signUp("Sub Scriber", "sub@example.com", "subscriber password")
	token := e.signIn("sub@example.com", "subscriber password")
	now := e.clock.now()
	sub, res, err := e.svc.RecordSubscriptionChange(ctx, domain.RecordSubscriptionChange{SubscriptionID: "sub_1MowQVLkdIwHu7ixeRlqHVzs", Change: "created", Status: "active",
		AccountID: id, ProductID: "pro-monthly", Amount: 900, Currency: "usd", CurrentPeriodEnd: now.Add(20 * 24 * time.Hour), StartedAt: now.Add(-10 * 24 * time.Hour), OccurredAt: now})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.proj.WaitFor(ctx, res.Position); err != nil {
		t.Fatal(err)
	}
	path := "/v1/subscriptions/" + sub.ID
	steps := []struct {
		name   string
		path   string
		body   any
		status int
		check  func(map[string]any) bool
	}{
		{"cancel at period end keeps it active", path + "/cancel", map[string]any{}, 200, func(m map[string]any) bool { return m["cancel_at_period_end"] == true && m["status"] == "active" }},
		{"reactivate withdraws the cancellation", path + "/reactivate", nil, 200, func(m map[string]any) bool { return m["cancel_at_period_end"] == false }},
		{"cancel at once ends it", path + "/cancel", map[string]any{"at_period_end": false}, 200, func(m map[string]any) bool { return m["status"] == "ended" }},
		{"reactivating an ended one is 409", path + "/reactivate", nil, 409, nil},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			r := e.with(t).do("POST", st.path, token, st.body)
			if r.status != st.status {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if st.check != nil && !st.check(r.json(t)) {
				t.Fatalf("subscription %s", r.body)
			}
			if st.check != nil {
				if got := e.do("GET", path, token, nil).json(t); !st.check(got) {
					t.Fatalf("GET after: %v", got)
				}
			}
		})
	}
}
