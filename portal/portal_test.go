package portal_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aseptsoft/subledger/domain"
)

// TestHeaders: every portal answer carries the security headers, pages
// with forms included, and the stylesheet is served from the portal.
func TestHeaders(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	id := e.signUp("Ann Example", "ann@example.com")
	want := map[string]string{
		"Content-Security-Policy": "default-src 'self'",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "same-origin",
	}
	for _, path := range []string{"/portal/sign-in", e.portalLink(id), "/portal/account", "/portal/static/style.css", "/portal/nothing", "/portal/link?token=slp_forged"} {
		t.Run(path[strings.Index(path, "/portal"):], func(t *testing.T) {
			p := b.get(path)
			for h, v := range want {
				if !strings.Contains(p.header.Get(h), v) {
					t.Errorf("%s: %q, want %q", h, p.header.Get(h), v)
				}
			}
			if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") {
				t.Errorf("CSP %q", csp)
			}
			if strings.Contains(p.body, "<script>") || strings.Contains(p.body, " style=") || strings.Contains(p.body, "onclick") {
				t.Errorf("inline script or style in %s", path)
			}
		})
	}
}

// TestCSRF: a form without its token, with another browser's token, or
// from another origin (or none) is refused with 403 and changes nothing;
// the same form with its token and origin goes through.
func TestCSRF(t *testing.T) {
	e := newEnv(t)
	id := e.signUp("Ann Example", "ann@example.com")
	b := e.browser()
	b.signedIn(id)
	good := b.csrf()
	other := e.browser()
	other.signedIn(e.signUp("Bob Other", "bob@example.com"))
	tests := []struct {
		name    string
		token   string
		headers []string
		status  int
	}{
		{"a form without its token is refused", "", nil, 403},
		{"a form with another browser's token is refused", other.csrf(), nil, 403},
		{"a form with a made-up token is refused", "AAAA" + good[4:], nil, 403},
		{"a form from another origin is refused", good, []string{"Origin", "https://evil.example"}, 403},
		{"a form without origin or referer is refused", good, []string{"Origin", ""}, 403},
		{"a form with another site's referer is refused", good, []string{"Origin", "", "Referer", "https://evil.example/x"}, 403},
		{"a form with its token from the portal goes through", good, nil, 303},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := b.post("/portal/account/details", url.Values{"csrf": {tc.token}, "name": {"Changed " + tc.name}, "email": {"ann@example.com"}}, tc.headers...)
			if p.status != tc.status {
				t.Fatalf("status %d, want %d: %s", p.status, tc.status, p.body)
			}
			_, acc := e.apiDo("GET", "/v1/accounts/"+id, nil)
			changed := acc["name"] == "Changed "+tc.name
			if changed != (tc.status == 303) {
				t.Fatalf("name %v after status %d", acc["name"], p.status)
			}
			if tc.status == 403 && !strings.Contains(p.body, "Nothing was changed") {
				t.Fatalf("the refusal does not say so: %s", p.body)
			}
		})
	}
}

// TestLinks: a spent, expired or forged link is a 422 page that sets no
// session; a fresh one signs in once.
func TestLinks(t *testing.T) {
	e := newEnv(t)
	id := e.signUp("Ann Example", "ann@example.com")
	tests := []struct {
		name   string
		link   func() string
		status int
	}{
		{"a fresh link signs in", func() string { return e.portalLink(id) }, 200},
		{"a spent link is refused", func() string {
			l := e.portalLink(id)
			e.browser().get(l)
			return l
		}, 422},
		{"an expired link is refused", func() string {
			l := e.portalLink(id)
			e.clock.advance(domain.PortalLinkTTL + time.Second)
			return l
		}, 422},
		{"a forged link is refused", func() string { return e.url + "/portal/link?token=slp_" + strings.Repeat("x", 43) }, 422},
		{"a link without token is refused", func() string { return e.url + "/portal/link" }, 422},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := e.browser()
			p := b.get(tc.link())
			if p.status != tc.status {
				t.Fatalf("status %d, want %d: %s", p.status, tc.status, p.body)
			}
			acc := b.get("/portal/account")
			if signedIn := acc.status == 200; signedIn != (tc.status == 200) {
				t.Fatalf("account page %d after a link answered %d", acc.status, p.status)
			}
			if tc.status != 200 && !strings.Contains(p.body, "This link does not work") {
				t.Fatalf("no clear page: %s", p.body)
			}
		})
	}
}

// TestAnotherAffiliate: an affiliate signed in to the portal gets 404 for
// another affiliate's page, and none of its figures.
func TestAnotherAffiliate(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mine, _, err := e.svc.RegisterAffiliate(ctx, domain.RegisterAffiliate{Name: "Mine", Email: "mine@example.com", CommissionRateBps: 1000})
	if err != nil {
		t.Fatal(err)
	}
	other, res, err := e.svc.RegisterAffiliate(ctx, domain.RegisterAffiliate{Name: "Other", Email: "other@example.com", CommissionRateBps: 2500})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.proj.WaitFor(ctx, res.Position); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.get("/portal/sign-in")
	if p := b.post("/portal/affiliate/sign-in", url.Values{"csrf": {b.csrf()}, "api_key": {mine.APIKey}}); p.status != 303 {
		t.Fatalf("sign-in: %d %s", p.status, p.body)
	}
	if p := b.get("/portal/affiliate"); p.status != 200 || !strings.Contains(p.body, mine.Affiliate.Code) {
		t.Fatalf("own page: %d %s", p.status, p.body)
	}
	p := b.get("/portal/affiliates/" + other.Affiliate.ID)
	if p.status != 404 || strings.Contains(p.body, other.Affiliate.Code) || strings.Contains(p.body, "2500") {
		t.Fatalf("another's page: %d %s", p.status, p.body)
	}
	if p := b.get("/portal/affiliates/" + mine.Affiliate.ID); p.status != 200 {
		t.Fatalf("own page by id: %d", p.status)
	}
	// A customer's cookie does not open the affiliate page either.
	c := e.browser()
	c.signedIn(e.signUp("Ann Example", "ann@example.com"))
	if p := c.get("/portal/affiliate"); p.status != 303 {
		t.Fatalf("a customer on the affiliate page: %d", p.status)
	}
}

// TestBadInput: invalid values are a page with the API's status and its
// messages beside the fields, and change nothing.
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	id := e.signUp("Ann Example", "ann@example.com")
	e.signUp("Bob Other", "bob@example.com")
	b := e.browser()
	b.signedIn(id)
	tests := []struct {
		name   string
		path   string
		form   url.Values
		status int
		shows  string
	}{
		{"an empty name is refused beside the field", "/portal/account/details", url.Values{"name": {" "}, "email": {"ann@example.com"}}, 422, `id="e-name"`},
		{"an invalid e-mail is refused beside the field", "/portal/account/details", url.Values{"name": {"Ann"}, "email": {"not an address"}}, 422, `id="e-email"`},
		{"a taken e-mail is refused beside the field", "/portal/account/details", url.Values{"name": {"Ann"}, "email": {"bob@example.com"}}, 409, "Another account uses this e-mail address"},
		{"a short new password is refused beside the field", "/portal/account/password", url.Values{"current_password": {"the password!"}, "new_password": {"short"}}, 422, `id="e-password_new_password"`},
		{"a wrong current password is refused beside the field", "/portal/account/password", url.Values{"current_password": {"not it at all"}, "new_password": {"a long new password"}}, 403, "This is not your current password"},
		{"deleting without the right e-mail is refused", "/portal/account/delete", url.Values{"confirm_email": {"bob@example.com"}}, 422, `id="e-confirm_email"`},
		{"a cancellation without the payment provider changes nothing", "/portal/account/subscriptions/nope/cancel", url.Values{}, 503, "payment provider could not be reached"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b.get("/portal/account")
			tc.form.Set("csrf", b.csrf())
			p := b.post(tc.path, tc.form)
			if p.status != tc.status || !strings.Contains(p.body, tc.shows) {
				t.Fatalf("status %d, want %d showing %q: %s", p.status, tc.status, tc.shows, p.body)
			}
			st, acc := e.apiDo("GET", "/v1/accounts/"+id, nil)
			if st != 200 || acc["name"] != "Ann Example" || acc["email"] != "ann@example.com" || acc["status"] != "active" {
				t.Fatalf("the account changed: %d %v", st, acc)
			}
		})
	}
	// The refused password change left the session working.
	if p := b.get("/portal/account"); p.status != 200 {
		t.Fatalf("account page after refusals: %d", p.status)
	}
	// Another affiliate's or a bad date range on the affiliate page: 422 beside the fields.
	ctx := context.Background()
	aff, res, err := e.svc.RegisterAffiliate(ctx, domain.RegisterAffiliate{Name: "Mine", Email: "mine@example.com", CommissionRateBps: 1000})
	if err != nil {
		t.Fatal(err)
	}
	_ = e.proj.WaitFor(ctx, res.Position)
	a := e.browser()
	a.get("/portal/sign-in")
	a.post("/portal/affiliate/sign-in", url.Values{"csrf": {a.csrf()}, "api_key": {aff.APIKey}})
	if p := a.get("/portal/affiliate?from=2025-05-01&to=2025-01-01"); p.status != 422 || !strings.Contains(p.body, `id="e-to"`) {
		t.Fatalf("a reversed range: %d %s", p.status, p.body)
	}
	if p := a.get("/portal/affiliate?from=2025-01-01&to=2025-05-01&cursor=forged!"); p.status != 400 {
		t.Fatalf("a forged cursor: %d", p.status)
	}
}

// TestErasureEndsTheSession: after "delete my account", the cookie and
// the link stop working, and the log holds no personal data.
func TestErasureEndsTheSession(t *testing.T) {
	e := newEnv(t)
	id := e.signUp("Ann Example", "ann@example.com")
	link := e.portalLink(id)
	b := e.browser()
	b.signedIn(id)
	u, _ := url.Parse(e.url + "/portal/account")
	saved := b.c.Jar.Cookies(u)
	p := b.post("/portal/account/delete", url.Values{"csrf": {b.csrf()}, "confirm_email": {"Ann@Example.com "}})
	if p.status != 200 || !strings.Contains(p.body, "Your account is deleted") {
		t.Fatalf("delete: %d %s", p.status, p.body)
	}
	if _, acc := e.apiDo("GET", "/v1/accounts/"+id, nil); acc["status"] != "erased" {
		t.Fatalf("account %v", acc)
	}
	// The same cookie, kept by a browser that ignored its removal, no
	// longer works.
	kept := e.browser()
	kept.c.Jar.SetCookies(u, saved)
	if p := kept.get("/portal/account"); p.status != 401 || !strings.Contains(p.body, "Your session has ended") {
		t.Fatalf("the kept cookie after erasure: %d %s", p.status, p.body)
	}
	if p := e.browser().get(link); p.status != 422 {
		t.Fatalf("an unspent link of the erased account: %d", p.status)
	}
	for _, s := range []string{"ann@example.com", "Ann Example", "sls_", "slp_"} {
		if strings.Contains(strings.ToLower(e.logs.String()), strings.ToLower(s)) {
			t.Fatalf("the log holds %q", s)
		}
	}
}

// TestAffiliateMailedLink: the link mailed to an affiliate signs it in once.
func TestAffiliateMailedLink(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	aff, res, err := e.svc.RegisterAffiliate(ctx, domain.RegisterAffiliate{Name: "Mine", Email: "mine@example.com", CommissionRateBps: 1000})
	if err != nil {
		t.Fatal(err)
	}
	_ = e.proj.WaitFor(ctx, res.Position)
	b := e.browser()
	b.get("/portal/sign-in")
	if p := b.post("/portal/affiliate/link", url.Values{"csrf": {b.csrf()}, "email": {"Mine@example.com"}}); p.status != 202 {
		t.Fatalf("request: %d %s", p.status, p.body)
	}
	select {
	case <-e.mail.ready:
	case <-time.After(10 * time.Second):
		t.Fatal("no mail")
	}
	e.mail.mu.Lock()
	body := e.mail.sent[0]
	e.mail.mu.Unlock()
	i := strings.Index(body, e.url+"/portal/sign-in/link?token=")
	if i < 0 {
		t.Fatalf("mail without link: %s", body)
	}
	link := strings.Fields(body[i:])[0]
	token := link[strings.Index(link, "token=")+len("token="):]
	// Following the link (as a mail scanner does) spends nothing.
	for range 2 {
		if p := b.get(link); p.status != 200 || !strings.Contains(p.body, "Sign in to your reports") {
			t.Fatalf("link: %d %s", p.status, p.body)
		}
	}
	if p := b.post("/portal/sign-in/link", url.Values{"csrf": {b.csrf()}, "token": {token}}); p.status != 200 {
		t.Fatalf("confirm: %d %s", p.status, p.body)
	}
	if p := b.get("/portal/affiliate"); p.status != 200 || !strings.Contains(p.body, aff.Affiliate.Code) {
		t.Fatalf("page: %d", p.status)
	}
	c := e.browser()
	c.get(link)
	if p := c.post("/portal/sign-in/link", url.Values{"csrf": {c.csrf()}, "token": {token}}); p.status != 422 {
		t.Fatalf("a spent mailed link: %d", p.status)
	}
	// Without its CSRF token the button is refused and spends nothing.
	if p := c.post("/portal/sign-in/link", url.Values{"token": {token}}); p.status != 403 {
		t.Fatalf("a confirmation without CSRF token: %d", p.status)
	}
}
