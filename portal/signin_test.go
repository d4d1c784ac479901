package portal_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/aseptsoft/subledger/api"
)

// TestCustomerSignIn: the portal's sign-in is POST /v1/sessions: a wrong
// password is a 401 page, the e-mail address's failures are limited as the
// API limits them (429 after five), and the right password opens the page.
func TestCustomerSignIn(t *testing.T) {
	e := newEnvWith(t, api.SignInLimit{})
	e.signUp("Ann Example", "ann@example.com")
	e.signUp("Bob Other", "bob@example.com")
	b := e.browser()
	b.get("/portal/sign-in")
	tests := []struct {
		name     string
		email    string
		password string
		status   int
	}{
		{"a wrong password is refused", "ann@example.com", "not the password", 401},
		{"an unknown address is refused alike", "nobody@example.com", "the password!", 401},
		{"the right password signs in", "bob@example.com", "the password!", 303},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := b.post("/portal/sign-in", url.Values{"csrf": {b.csrf()}, "email": {tc.email}, "password": {tc.password}})
			if p.status != tc.status {
				t.Fatalf("status %d, want %d: %s", p.status, tc.status, p.body)
			}
			if p.status == 401 && !strings.Contains(p.body, "not right") {
				t.Fatalf("no message: %s", p.body)
			}
		})
	}
	if p := b.get("/portal/account"); p.status != 200 || !strings.Contains(p.body, "bob@example.com") {
		t.Fatalf("account page after sign-in: %d", p.status)
	}
	// Four more failures for Ann make five: the sixth attempt is limited.
	a := e.browser()
	a.get("/portal/sign-in")
	var last page
	for range 5 {
		last = a.post("/portal/sign-in", url.Values{"csrf": {a.csrf()}, "email": {"ann@example.com"}, "password": {"wrong again!"}})
		a.last = last.body
	}
	if last.status != 429 || last.header.Get("Retry-After") == "" {
		t.Fatalf("after five failures: %d (Retry-After %q)", last.status, last.header.Get("Retry-After"))
	}
}

// TestPasswordChangeEndsTheSession: a password changed in the portal ends
// the portal's own session too (as PUT /v1/accounts/{id}/password does).
func TestPasswordChangeEndsTheSession(t *testing.T) {
	e := newEnv(t)
	id := e.signUp("Ann Example", "ann@example.com")
	b := e.browser()
	b.signedIn(id)
	p := b.post("/portal/account/password", url.Values{"csrf": {b.csrf()}, "current_password": {"the password!"}, "new_password": {"a brand new password"}})
	if p.status != 200 || !strings.Contains(p.body, "Your password is changed") {
		t.Fatalf("change: %d %s", p.status, p.body)
	}
	if p := b.get("/portal/account"); p.status != 303 {
		t.Fatalf("account page after the change: %d", p.status)
	}
}
