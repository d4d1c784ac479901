package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aseptsoft/subledger/api"
	"github.com/aseptsoft/subledger/domain"
)

// portalToken makes a portal link as the store and returns its token.
func portalToken(t *testing.T, e *env, accountID string) string {
	t.Helper()
	r := e.do("POST", "/v1/portal-sessions", storeKey, map[string]any{"account_id": accountID, "return_url": "https://store.example/account"})
	if r.status != http.StatusCreated {
		t.Fatalf("portal session: %d %s", r.status, r.body)
	}
	if strings.Contains(string(r.body), `\u0026`) {
		t.Fatalf("the link is HTML-escaped, so it cannot be copied: %s", r.body)
	}
	u, err := url.Parse(r.json(t)["url"].(string))
	if err != nil || u.Path != "/portal/link" || u.Query().Get("return_url") != "https://store.example/account" {
		t.Fatalf("url %v: %v", u, err)
	}
	return u.Query().Get("token")
}

func TestPortalLinks(t *testing.T) {
	tests := []struct {
		name   string
		token  func(t *testing.T, e *env, accountID string) string
		status int // of the redemption; 0: works
	}{
		{"a fresh link gives a session of the account", portalToken, 0},
		{"a spent link is invalid", func(t *testing.T, e *env, id string) string {
			tok := portalToken(t, e, id)
			if _, p := e.srv.RedeemPortalLink(httptest.NewRequest("GET", "/", nil), "r1", tok); p != nil {
				t.Fatal(p)
			}
			return tok
		}, 422},
		{"an expired link is invalid", func(t *testing.T, e *env, id string) string {
			tok := portalToken(t, e, id)
			e.clock.advance(domain.PortalLinkTTL)
			return tok
		}, 422},
		{"a forged link is invalid", func(t *testing.T, e *env, id string) string { return "slp_" + strings.Repeat("A", 43) }, 422},
		{"a link of an account erased since is invalid", func(t *testing.T, e *env, id string) string {
			tok := portalToken(t, e, id)
			if r := e.do("DELETE", "/v1/accounts/"+id, storeKey, nil); r.status != 200 {
				t.Fatalf("erase: %d %s", r.status, r.body)
			}
			return tok
		}, 422},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			id := e.signUp("Ann", "ann@example.com", "the password!")
			tok := tc.token(t, e, id)
			sess, p := e.srv.RedeemPortalLink(httptest.NewRequest("GET", "/", nil), "r2", tok)
			if tc.status != 0 {
				if p == nil || p.Status != tc.status || p.Code != domain.CodeInvalidToken {
					t.Fatalf("problem %+v, want %d invalid_token", p, tc.status)
				}
				return
			}
			if p != nil || sess.AccountID != id {
				t.Fatalf("redeem: %+v %+v", sess, p)
			}
			if r := e.do("GET", "/v1/accounts/"+id, sess.Token, nil); r.status != 200 {
				t.Fatalf("the session does not read its account: %d %s", r.status, r.body)
			}
		})
	}
}

func TestPortalSessionRequests(t *testing.T) {
	e := newEnv(t)
	id := e.signUp("Ann", "ann@example.com", "the password!")
	tests := []struct {
		name   string
		body   map[string]any
		status int
		field  string
	}{
		{"no account is refused", map[string]any{}, 422, "account_id"},
		{"a relative return url is refused", map[string]any{"account_id": id, "return_url": "/back"}, 422, "return_url"},
		{"a javascript return url is refused", map[string]any{"account_id": id, "return_url": "javascript:alert(1)"}, 422, "return_url"},
		{"an unknown account is 404", map[string]any{"account_id": "nobody"}, 404, ""},
		{"an account without return url gets a link", map[string]any{"account_id": id}, 201, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", "/v1/portal-sessions", adminKey, tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.field != "" && !strings.Contains(string(r.body), `"field":"`+tc.field+`"`) {
				t.Fatalf("body %s does not name %s", r.body, tc.field)
			}
		})
	}
	off := newEnv(t, func(c *api.Config) { c.NoPortal = true })
	if r := off.do("POST", "/v1/portal-sessions", adminKey, map[string]any{"account_id": id}); r.status != 503 || r.code(t) != "portal_unavailable" {
		t.Fatalf("portal off: %d %s", r.status, r.body)
	}
}

// TestAffiliateSessions: an affiliate session (from the API key) reads the
// affiliate's own reports, not another's, and stops on sign-out and on the
// affiliate's erasure.
func TestAffiliateSessions(t *testing.T) {
	e := newEnv(t, generousLimits)
	ctx := context.Background()
	mine, _, err := e.svc.RegisterAffiliate(ctx, domain.RegisterAffiliate{Name: "Mine", Email: "mine@example.com", CommissionRateBps: 1000})
	if err != nil {
		t.Fatal(err)
	}
	other, res, err := e.svc.RegisterAffiliate(ctx, domain.RegisterAffiliate{Name: "Other", Email: "other@example.com", CommissionRateBps: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.proj.WaitFor(ctx, res.Position); err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/", nil)
	if _, p := e.srv.SignInAffiliateKey(req, "r", "sla_wrong"); p == nil || p.Status != 401 {
		t.Fatalf("a wrong key: %+v", p)
	}
	sess, p := e.srv.SignInAffiliateKey(req, "r", mine.APIKey)
	if p != nil || sess.AffiliateID != mine.Affiliate.ID || !strings.HasPrefix(sess.Token, domain.AffiliateSessionTokenPrefix) {
		t.Fatalf("sign-in: %+v %+v", sess, p)
	}
	q := "/reports/summary?from=2026-01-01&to=2027-01-01"
	if r := e.do("GET", "/v1/affiliates/"+mine.Affiliate.ID+q, sess.Token, nil); r.status != 200 {
		t.Fatalf("own report: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/v1/affiliates/"+other.Affiliate.ID+q, sess.Token, nil); r.status != 404 {
		t.Fatalf("another's report: %d %s", r.status, r.body)
	}
	if p := e.srv.SignOutAffiliate(req, "r", sess.Token); p != nil {
		t.Fatal(p)
	}
	if r := e.do("GET", "/v1/affiliates/"+mine.Affiliate.ID+q, sess.Token, nil); r.status != 401 {
		t.Fatalf("after sign-out: %d %s", r.status, r.body)
	}
	sess, _ = e.srv.SignInAffiliateKey(req, "r", mine.APIKey)
	e.clock.advance(3 * time.Hour)
	if r := e.do("GET", "/v1/affiliates/"+mine.Affiliate.ID+q, sess.Token, nil); r.status != 401 {
		t.Fatalf("after the idle timeout: %d %s", r.status, r.body)
	}
	sess, _ = e.srv.SignInAffiliateKey(req, "r", mine.APIKey)
	if r := e.do("DELETE", "/v1/affiliates/"+mine.Affiliate.ID, adminKey, nil); r.status != 200 {
		t.Fatalf("erase: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/v1/affiliates/"+mine.Affiliate.ID+q, sess.Token, nil); r.status != 401 {
		t.Fatalf("after erasure: %d %s", r.status, r.body)
	}
}
