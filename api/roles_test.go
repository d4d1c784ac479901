package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/stripe/stripemocktest"
)

// callers of the matrix.
const (
	none      = "none"
	unknown   = "unknown token"
	admin     = "admin"
	store     = "store"
	own       = "own session"
	other     = "another customer's session"
	affiliate = "affiliate"
	otherAff  = "another affiliate"
)

var callers = []string{none, unknown, admin, store, own, other, affiliate, otherAff}

// matrixRoute is one route of the matrix: how to call it and the status
// each caller gets. Routes that change state get a fresh account per call,
// so each cell is independent.
type matrixRoute struct {
	method, path string
	body         func(f *fixture) any
	want         map[string]int
}

// fixture is what a cell needs: an account that the "own" session owns, and
// another customer.
type fixture struct {
	accountID, email, password string
	tokens                     map[string]string
	licenseID                  string
	affiliateID                string
	subscriptionID             string
}

func all(status int) map[string]int {
	m := map[string]int{}
	for _, c := range callers {
		m[c] = status
	}
	return m
}

// ownerOnly is a route of store, admin and the account's own session.
func ownerRoute(ok int) map[string]int {
	return map[string]int{none: 401, unknown: 401, admin: ok, store: ok, own: ok, other: 404, affiliate: 403, otherAff: 403}
}

// affiliateRoute is a route of admins and the affiliate itself.
func affiliateRoute(ok int) map[string]int {
	return map[string]int{none: 401, unknown: 401, admin: ok, store: 403, own: 403, other: 403, affiliate: ok, otherAff: 404}
}

// adminOnly is a route of admins.
func adminOnly(ok int) map[string]int {
	return map[string]int{none: 401, unknown: 401, admin: ok, store: 403, own: 403, other: 403, affiliate: 403, otherAff: 403}
}

// matrix lists every route of the API with the status each caller gets. A
// route registered without an entry here fails TestRoleMatrix.
func matrix() []matrixRoute {
	account := func(f *fixture) string { return f.accountID }
	_ = account
	return []matrixRoute{
		{method: "GET", path: "/healthz", want: all(200)},
		{method: "GET", path: "/readyz", want: all(200)},
		{method: "GET", path: "/metrics", want: all(200)},
		{method: "GET", path: "/openapi.json", want: all(200)},
		{method: "GET", path: "/v1/products", want: all(200)},
		{method: "GET", path: "/v1/license-keys/public-key", want: all(200)},
		{method: "GET", path: "/v1/stats", want: adminOnly(200)},
		{method: "GET", path: "/v1/marketing/recipients", want: adminOnly(200)},
		{method: "POST", path: "/v1/accounts",
			body: func(f *fixture) any {
				return map[string]any{"name": "New Person", "email": randomEmail(), "password": "a long enough password"}
			},
			want: map[string]int{none: 401, unknown: 401, admin: 201, store: 201, own: 403, other: 403, affiliate: 403, otherAff: 403}},
		{method: "GET", path: "/v1/accounts/{id}", want: ownerRoute(200)},
		{method: "PATCH", path: "/v1/accounts/{id}", body: func(*fixture) any { return map[string]any{"name": "Renamed"} }, want: ownerRoute(200)},
		{method: "DELETE", path: "/v1/accounts/{id}", want: ownerRoute(200)},
		{method: "PUT", path: "/v1/accounts/{id}/password",
			body: func(f *fixture) any {
				return map[string]any{"current_password": f.password, "new_password": "another long password"}
			},
			want: ownerRoute(204)},
		{method: "GET", path: "/v1/accounts/{id}/export", want: map[string]int{none: 401, unknown: 401, admin: 200, store: 403, own: 200, other: 404, affiliate: 403, otherAff: 403}},
		{method: "GET", path: "/v1/accounts/{id}/events", want: adminOnly(200)},
		{method: "GET", path: "/v1/accounts/{id}/licenses", want: ownerRoute(200)},
		{method: "GET", path: "/v1/accounts/{id}/subscriptions", want: ownerRoute(200)},
		{method: "GET", path: "/v1/licenses/{license}", want: ownerRoute(200)},
		{method: "GET", path: "/v1/subscriptions/{sub}", want: ownerRoute(200)},
		{method: "POST", path: "/v1/subscriptions/{sub}/cancel", body: func(*fixture) any { return map[string]any{} }, want: ownerRoute(200)},
		{method: "POST", path: "/v1/subscriptions/{sub}/reactivate", body: func(*fixture) any { return map[string]any{} }, want: ownerRoute(200)},
		{method: "POST", path: "/v1/checkout-sessions",
			body: func(f *fixture) any {
				return map[string]any{"account_id": f.accountID, "product_id": "app-license", "success_url": "https://store.example/ok", "cancel_url": "https://store.example/no"}
			},
			want: map[string]int{none: 401, unknown: 401, admin: 403, store: 201, own: 201, other: 404, affiliate: 403, otherAff: 403}},
		{method: "POST", path: "/v1/sessions",
			body: func(f *fixture) any { return map[string]any{"email": f.email, "password": f.password} }, want: all(201)},
		{method: "DELETE", path: "/v1/sessions/current", want: map[string]int{none: 401, unknown: 401, admin: 403, store: 403, own: 204, other: 204, affiliate: 403, otherAff: 403}},
		{method: "POST", path: "/v1/password-resets", body: func(f *fixture) any { return map[string]any{"email": f.email} }, want: all(503)}, // no mailer here
		{method: "POST", path: "/v1/password-resets/confirm",
			body: func(*fixture) any {
				return map[string]any{"token": "slr_nothing", "new_password": "a long enough password"}
			}, want: all(422)},
		{method: "POST", path: "/v1/webhooks/stripe", body: func(*fixture) any { return map[string]any{"id": "evt_1"} }, want: all(400)}, // unsigned
		{method: "POST", path: "/v1/affiliates",
			body: func(*fixture) any {
				return map[string]any{"name": "New Partner", "email": "partner@example.com", "commission_rate_bps": 1500}
			}, want: adminOnly(201)},
		{method: "GET", path: "/v1/affiliates/{aff}", want: affiliateRoute(200)},
		{method: "DELETE", path: "/v1/affiliates/{aff}", want: affiliateRoute(200)},
		{method: "GET", path: "/v1/affiliates/{aff}/reports/summary?from=2026-01-01&to=2027-01-01", want: affiliateRoute(200)},
		{method: "GET", path: "/v1/affiliates/{aff}/reports/sales?from=2026-01-01&to=2027-01-01", want: affiliateRoute(200)},
		{method: "GET", path: "/v1/affiliates/{aff}/reports/sales?from=2026-01-01&to=2027-01-01&limit=2", want: affiliateRoute(200)},
		{method: "POST", path: "/v1/portal-sessions", body: func(f *fixture) any { return map[string]any{"account_id": f.accountID} },
			want: map[string]int{none: 401, unknown: 401, admin: 201, store: 201, own: 403, other: 403, affiliate: 403, otherAff: 403}},
		{method: "POST", path: "/v1/affiliate-portal-links", body: func(f *fixture) any { return map[string]any{"email": f.email} }, want: all(503)}, // no mailer here
	}
}

var emailSeq int

func randomEmail() string {
	emailSeq++
	return fmt.Sprintf("person-%d-%s@example.com", emailSeq, domain.HashToken(fmt.Sprint(emailSeq))[:8])
}

// TestRoleMatrix walks every route × every kind of caller and checks each
// status; every cell gets fresh accounts and sessions.
func TestRoleMatrix(t *testing.T) {
	e := newEnv(t, generousLimits, withStripe(t, stripemocktest.Start(t)))
	other, _, err := e.svc.RegisterAffiliate(context.Background(), domain.RegisterAffiliate{Name: "Other Aff", Email: "other-aff@example.com", CommissionRateBps: 1000})
	if err != nil {
		t.Fatal(err)
	}
	waitForProjections(t, e)
	routes := matrix()

	// Every registered route has an entry, and every entry is a route.
	listed := map[string]bool{}
	for _, r := range routes {
		path, _, _ := strings.Cut(r.path, "?")
		path = strings.NewReplacer("{aff}", "{id}", "{sub}", "{id}").Replace(path)
		listed[r.method+" "+path] = true
	}
	for _, r := range e.srv.Routes() {
		key := r.Method + " " + colonToBraces(r.Path)
		if !listed[key] && !listed[strings.Replace(key, "/v1/licenses/{id}", "/v1/licenses/{license}", 1)] {
			t.Errorf("route %s is not in the role matrix: add it", key)
		}
	}

	for _, r := range routes {
		for _, caller := range callers {
			want, ok := r.want[caller]
			if !ok {
				t.Errorf("%s %s: no expected status for %s", r.method, r.path, caller)
				continue
			}
			t.Run(fmt.Sprintf("%s %s by %s is %d", r.method, r.path, caller, want), func(t *testing.T) {
				f := newFixture(t, e.with(t), other.APIKey)
				path := strings.ReplaceAll(r.path, "{id}", f.accountID)
				path = strings.ReplaceAll(path, "{license}", f.licenseID)
				path = strings.ReplaceAll(path, "{aff}", f.affiliateID)
				path = strings.ReplaceAll(path, "{sub}", f.subscriptionID)
				var body any
				if r.body != nil {
					body = r.body(f)
				}
				res := e.do(r.method, path, f.tokens[caller], body)
				if res.status != want {
					t.Fatalf("status %d, want %d: %s", res.status, want, res.body)
				}
				if res.status >= 400 && res.code(t) == "" {
					t.Fatalf("error without a code: %s", res.body)
				}
			})
		}
	}
}

func colonToBraces(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if strings.HasPrefix(s, ":") {
			parts[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

// newFixture makes an account with a session, another customer with a
// session, and a license of the first account.
func newFixture(t *testing.T, e *env, otherAffiliateKey string) *fixture {
	f := &fixture{email: randomEmail(), password: "the owner's password"}
	f.accountID = e.signUp("Owner", f.email, f.password)
	otherEmail := randomEmail()
	e.signUp("Other", otherEmail, "the other's password")
	f.tokens = map[string]string{
		none: "", unknown: "sls_not-a-token", admin: adminKey, store: storeKey,
		own: e.signIn(f.email, f.password), other: e.signIn(otherEmail, "the other's password"),
		otherAff: otherAffiliateKey,
	}
	aff, res0, err := e.svc.RegisterAffiliate(context.Background(), domain.RegisterAffiliate{Name: "Aff", Email: randomEmail(), CommissionRateBps: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.proj.WaitFor(context.Background(), res0.Position); err != nil {
		t.Fatal(err)
	}
	f.affiliateID, f.tokens[affiliate] = aff.Affiliate.ID, aff.APIKey
	lic, res, err := e.svc.RecordCheckoutPaid(context.Background(), domain.RecordCheckoutPaid{
		AccountID: f.accountID, ProductID: "app-license", Quantity: 1, Amount: 4900, Currency: "usd",
		PaymentIntentID: "pi_" + f.accountID, SessionID: "cs_" + f.accountID, OccurredAt: e.clock.now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.proj.WaitFor(context.Background(), res.Position); err != nil {
		t.Fatal(err)
	}
	f.licenseID = lic.ID
	now := e.clock.now()
	sub, res, err := e.svc.RecordSubscriptionChange(context.Background(), domain.RecordSubscriptionChange{SubscriptionID: "sub_" + f.accountID, Change: "created",
		Status: "active", AccountID: f.accountID, ProductID: "pro-monthly", Amount: 900, Currency: "usd",
		CurrentPeriodEnd: now.Add(20 * 24 * time.Hour), StartedAt: now.Add(-24 * time.Hour), OccurredAt: now})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.proj.WaitFor(context.Background(), res.Position); err != nil {
		t.Fatal(err)
	}
	f.subscriptionID = sub.ID
	return f
}

func waitForProjections(t *testing.T, e *env) {
	t.Helper()
	if err := e.proj.WaitFor(context.Background(), e.store.Position()); err != nil {
		t.Fatal(err)
	}
}

var _ = http.StatusOK
