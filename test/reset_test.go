package test

import (
	"bytes"
	"context"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aseptsoft/subledger/mail/mailpittest"
)

var resetToken = regexp.MustCompile(`slr_[A-Za-z0-9_-]+`)

const mailTimeout = 30 * time.Second

// resetMail waits for the next reset mail to addr that is not one of
// seen, and returns its token.
func resetMail(t *testing.T, mp *mailpittest.Server, addr string, seen map[string]bool) string {
	t.Helper()
	m := mp.WaitFor(t, func(m mailpittest.Message) bool {
		return !seen[m.ID] && slices.ContainsFunc(m.To, func(to string) bool { return strings.EqualFold(to, addr) })
	}, mailTimeout)
	seen[m.ID] = true
	tokens := resetToken.FindAllString(m.Text, -1)
	if len(tokens) != 1 {
		t.Fatalf("reset mail %q: want one slr_ token, found %q in:\n%s", m.Subject, tokens, m.Text)
	}
	return secret("password-reset token", tokens[0])
}

func TestPasswordReset(t *testing.T) {
	v := newValidator(t)
	mp := mailpittest.Start(t)
	srv := startServer(t, v, options{smtpURL: mp.SMTPURL()})
	c := srv.client(t)
	seen := map[string]bool{}

	p := newPerson("reset")
	c.signUp(p)
	oldSession := c.signIn(p)
	unknown := secret("e-mail address", "nobody."+randHex(5)+"@quixotic.example")

	// Unknown first: were it mailed, it would have gone out before the
	// known one arrives.
	resU := c.do(http.MethodPost, "/v1/password-resets", "", map[string]any{"email": unknown}).want(http.StatusAccepted)
	resK := c.do(http.MethodPost, "/v1/password-resets", "", map[string]any{"email": p.Email}).want(http.StatusAccepted)
	if !bytes.Equal(resU.Body, resK.Body) || resU.Header.Get("Content-Type") != resK.Header.Get("Content-Type") {
		t.Errorf("a known and an unknown address answer differently: %s vs %s", resK.Body, resU.Body)
	}
	token := resetMail(t, mp, p.Email, seen)
	// An erased account's address is no account's: 202, and no mail (the
	// count of mails is checked after the server has drained).
	gone := newPerson("reset-erased")
	c.signUp(gone)
	c.do(http.MethodDelete, "/v1/accounts/"+gone.ID, srv.adminKey, nil).want(http.StatusOK)
	c.do(http.MethodPost, "/v1/password-resets", "", map[string]any{"email": gone.Email}).want(http.StatusAccepted)

	t.Run("mail", func(t *testing.T) {
		msgs, err := mp.Messages(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if slices.ContainsFunc(m.To, func(to string) bool { return strings.EqualFold(to, unknown) }) {
				t.Errorf("a reset mail went to an address no account has: %+v", m)
			}
			if seen[m.ID] && (m.Subject == "" || strings.Contains(m.Text, p.Password)) {
				t.Errorf("reset mail %+v", m)
			}
		}
	})

	t.Run("bad_confirmations", func(t *testing.T) {
		c := srv.client(t)
		before := c.stats()
		for _, tc := range []struct {
			name   string
			body   any
			status int
			code   string
		}{
			{"garbage_token", map[string]any{"token": "slr_" + randHex(16), "new_password": "0123456789abc"}, 422, "invalid_token"},
			{"not_a_token", map[string]any{"token": "hello", "new_password": "0123456789abc"}, 422, "invalid_token"},
			{"very_long_token", map[string]any{"token": "slr_" + strings.Repeat("a", 400), "new_password": "0123456789abc"}, 422, "invalid_token"},
			{"missing_token", map[string]any{"new_password": "0123456789abc"}, 422, "validation_failed"},
			{"missing_new_password", map[string]any{"token": "slr_" + randHex(16)}, 422, "validation_failed"},
			{"malformed_json", rawBody(`{"token":`), 400, "malformed_json"},
		} {
			c.do(http.MethodPost, "/v1/password-resets/confirm", "", tc.body).problem(tc.status, tc.code)
		}
		c.unchanged(before, "bad confirmations")
		c.do(http.MethodGet, "/v1/accounts/"+p.ID, oldSession, nil).want(http.StatusOK)
	})

	t.Run("bad_requests", func(t *testing.T) {
		c := srv.client(t)
		c.do(http.MethodPost, "/v1/password-resets", "", map[string]any{}).problem(http.StatusUnprocessableEntity, "validation_failed")
		c.do(http.MethodPost, "/v1/password-resets", "", rawBody(`{`)).problem(http.StatusBadRequest, "malformed_json")
	})

	t.Run("confirm", func(t *testing.T) {
		c := srv.client(t)
		newPw := secret("password", "pw-reset-"+randHex(8))
		c.do(http.MethodPost, "/v1/password-resets/confirm", "", map[string]any{"token": token, "new_password": newPw}).want(http.StatusNoContent)
		c.do(http.MethodPost, "/v1/password-resets/confirm", "", map[string]any{"token": token, "new_password": "pw-again-" + randHex(8)}).problem(http.StatusUnprocessableEntity, "invalid_token")
		c.do(http.MethodGet, "/v1/accounts/"+p.ID, oldSession, nil).problem(http.StatusUnauthorized, "unauthenticated")
		c.do(http.MethodPost, "/v1/sessions", "", map[string]any{"email": p.Email, "password": p.Password}).problem(http.StatusUnauthorized, "invalid_credentials")
		p.Password = newPw
		c.signIn(p)
	})

	t.Run("store_asks_for_the_customer", func(t *testing.T) {
		c := srv.client(t)
		tok := c.signIn(p)
		c.do(http.MethodPost, "/v1/password-resets", srv.storeKey, map[string]any{"email": strings.ToUpper(p.Email)}).want(http.StatusAccepted)
		token2 := resetMail(t, mp, p.Email, seen)
		if token2 == token {
			t.Errorf("the same token twice")
		}
		newPw := secret("password", "pw-reset2-"+randHex(8))
		c.do(http.MethodPost, "/v1/password-resets/confirm", "", map[string]any{"token": token2, "new_password": newPw}).want(http.StatusNoContent)
		c.do(http.MethodGet, "/v1/accounts/"+p.ID, tok, nil).problem(http.StatusUnauthorized, "unauthenticated")
		p.Password = newPw
		c.signIn(p)
	})

	t.Run("no_mail_for_an_unknown_address_after_drain", func(t *testing.T) {
		// A clean stop waits for mail still being sent; then nothing may
		// have gone to the unknown address.
		srv.stop(t)
		msgs, err := mp.Messages(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if slices.ContainsFunc(m.To, func(to string) bool {
				return strings.EqualFold(to, unknown) || strings.EqualFold(to, gone.Email)
			}) {
				t.Errorf("a reset mail went to an address no account has: %+v", m)
			}
		}
		if len(msgs) != 2 {
			t.Errorf("%d mails, want 2 (two resets of one account)", len(msgs))
		}
	})
}

func TestPasswordResetWithoutMail(t *testing.T) {
	v := newValidator(t)
	srv := startServer(t, v, options{})
	c := srv.client(t)
	p := newPerson("nomail")
	c.signUp(p)
	before := c.stats()
	c.do(http.MethodPost, "/v1/password-resets", "", map[string]any{"email": p.Email}).problem(http.StatusServiceUnavailable, "mail_unavailable")
	c.do(http.MethodPost, "/v1/password-resets", srv.storeKey, map[string]any{"email": "nobody@quixotic.example"}).problem(http.StatusServiceUnavailable, "mail_unavailable")
	c.unchanged(before, "refused resets")
}
