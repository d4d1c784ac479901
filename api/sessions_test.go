package api_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/aseptsoft/subledger/api"
)

// TestSessionsEnd checks every way a session ends: sign-out, idle time,
// absolute age, a password change or reset, and erasure.
func TestSessionsEnd(t *testing.T) {
	tests := []struct {
		name string
		act  func(e *env, id, token string)
		live bool
	}{
		{"an unused session within its idle time works", func(e *env, id, token string) { e.clock.advance(90 * time.Minute) }, true},
		{"a session used now and then outlives its idle time", func(e *env, id, token string) {
			for range 4 {
				e.clock.advance(90 * time.Minute)
				if r := e.do("GET", "/v1/accounts/"+id, token, nil); r.status != 200 {
					e.t.Fatalf("use: %d", r.status)
				}
			}
		}, true},
		{"an idle session ends", func(e *env, id, token string) { e.clock.advance(2*time.Hour + time.Second) }, false},
		{"a session ends at its absolute age however used", func(e *env, id, token string) {
			for range 7 * 24 {
				e.clock.advance(time.Hour)
				e.do("GET", "/v1/accounts/"+id, token, nil)
			}
		}, false},
		{"signing out ends it", func(e *env, id, token string) {
			if r := e.do("DELETE", "/v1/sessions/current", token, nil); r.status != 204 {
				e.t.Fatalf("sign-out: %d", r.status)
			}
		}, false},
		{"a password change ends it", func(e *env, id, token string) {
			if r := e.do("PUT", "/v1/accounts/"+id+"/password", storeKey, map[string]any{"new_password": "a brand new password"}); r.status != 204 {
				e.t.Fatalf("password: %d %s", r.status, r.body)
			}
		}, false},
		{"erasure ends it", func(e *env, id, token string) {
			if r := e.do("DELETE", "/v1/accounts/"+id, adminKey, nil); r.status != 200 {
				e.t.Fatalf("erase: %d", r.status)
			}
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, generousLimits)
			id := e.signUp("Sess Ion", "sess@example.com", "session password")
			token := e.signIn("sess@example.com", "session password")
			tc.act(e, id, token)
			r := e.do("GET", "/v1/accounts/"+id, token, nil)
			if got := r.status == http.StatusOK; got != tc.live {
				t.Fatalf("GET with the session: %d, want live=%v", r.status, tc.live)
			}
			if !tc.live && r.code(t) != "unauthenticated" {
				t.Fatalf("code %s", r.code(t))
			}
		})
	}
}

// TestPasswordChangeNeedsTheCurrentPassword for a customer.
func TestPasswordChangeNeedsTheCurrentPassword(t *testing.T) {
	e := newEnv(t, generousLimits)
	id := e.signUp("Pat", "pat@example.com", "pat's first password")
	tests := []struct {
		name   string
		body   map[string]any
		status int
		code   string
	}{
		{"without the current password it is 422", map[string]any{"new_password": "pat's next password"}, 422, "validation_failed"},
		{"with a wrong current password it is 403", map[string]any{"current_password": "wrong password!", "new_password": "pat's next password"}, 403, "invalid_credentials"},
		{"a short new password is 422", map[string]any{"current_password": "pat's first password", "new_password": "short"}, 422, "validation_failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := e.with(t)
			token := e.signIn("pat@example.com", "pat's first password")
			r := e.do("PUT", "/v1/accounts/"+id+"/password", token, tc.body)
			if r.status != tc.status || r.code(t) != tc.code {
				t.Fatalf("%d %s, want %d %s", r.status, r.code(t), tc.status, tc.code)
			}
		})
	}
	token := e.signIn("pat@example.com", "pat's first password")
	if r := e.do("PUT", "/v1/accounts/"+id+"/password", token, map[string]any{"current_password": "pat's first password", "new_password": "pat's next password"}); r.status != 204 {
		t.Fatalf("change: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/v1/sessions", "", map[string]any{"email": "pat@example.com", "password": "pat's first password"}); r.status != 401 {
		t.Fatalf("old password signs in: %d", r.status)
	}
	e.signIn("pat@example.com", "pat's next password")
}

// TestSignInFailuresLookAlike: an unknown e-mail and a wrong password give
// the same answer, and take about as long (the unknown one hashes against
// nothing). Timing is compared as medians of several tries with a loose
// bound, since the machine is shared.
func TestSignInFailuresLookAlike(t *testing.T) {
	e := newEnv(t, generousLimits)
	e.signUp("Tim Ing", "tim@example.com", "tim's password")
	try := func(email string) (response, time.Duration) {
		start := time.Now()
		r := e.do("POST", "/v1/sessions", "", map[string]any{"email": email, "password": "not the password"})
		return r, time.Since(start)
	}
	var unknownTimes, wrongTimes []time.Duration
	for range 15 {
		ru, du := try("nobody@example.com")
		rw, dw := try("tim@example.com")
		if ru.status != 401 || rw.status != 401 || ru.code(t) != "invalid_credentials" || rw.code(t) != "invalid_credentials" {
			t.Fatalf("unknown: %d %s; wrong: %d %s", ru.status, ru.body, rw.status, rw.body)
		}
		if ru.json(t)["detail"] != rw.json(t)["detail"] {
			t.Fatalf("details differ: %s / %s", ru.body, rw.body)
		}
		unknownTimes, wrongTimes = append(unknownTimes, du), append(wrongTimes, dw)
	}
	mu, mw := median(unknownTimes), median(wrongTimes)
	if mu*3 < mw || mw*3 < mu {
		t.Fatalf("median times differ too much: unknown e-mail %v, wrong password %v", mu, mw)
	}
	t.Logf("median: unknown e-mail %v, wrong password %v", mu, mw)
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s[len(s)/2]
}

// TestSignInIsRateLimited per e-mail address after repeated failures, and
// per client.
func TestSignInIsRateLimited(t *testing.T) {
	t.Run("repeated failures for one e-mail are 429 with Retry-After", func(t *testing.T) {
		e := newEnv(t, func(c *api.Config) { c.SignInLimit = api.SignInLimit{PerClient: 1000, ClientBurst: 1000} })
		e.signUp("Rae", "rae@example.com", "rae's password!")
		for i := range 5 {
			if r := e.do("POST", "/v1/sessions", "", map[string]any{"email": "rae@example.com", "password": "wrong password"}); r.status != 401 {
				t.Fatalf("failure %d: %d", i, r.status)
			}
		}
		r := e.do("POST", "/v1/sessions", "", map[string]any{"email": "RAE@example.com", "password": "rae's password!"})
		if r.status != 429 || r.code(t) != "rate_limited" {
			t.Fatalf("sixth try: %d %s", r.status, r.body)
		}
		if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
			t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
		}
		// Another address is not limited.
		e.signUp("Sam", "sam@example.com", "sam's password!")
		e.signIn("sam@example.com", "sam's password!")
		// Once the wait is over, the right password works again.
		e.clock.advance(31 * time.Second)
		e.signIn("rae@example.com", "rae's password!")
	})
	t.Run("repeated wrong current passwords through a session are 429", func(t *testing.T) {
		e := newEnv(t, func(c *api.Config) { c.SignInLimit = api.SignInLimit{PerClient: 1000, ClientBurst: 1000} })
		id := e.signUp("Guess", "guess@example.com", "guess's password")
		token := e.signIn("guess@example.com", "guess's password")
		body := map[string]any{"current_password": "a wrong guess", "new_password": "a new password!"}
		for i := range 5 {
			if r := e.do("PUT", "/v1/accounts/"+id+"/password", token, body); r.status != 403 {
				t.Fatalf("guess %d: %d", i, r.status)
			}
		}
		if r := e.do("PUT", "/v1/accounts/"+id+"/password", token, body); r.status != 429 || r.code(t) != "rate_limited" {
			t.Fatalf("sixth guess: %d %s", r.status, r.body)
		}
	})
	t.Run("a client over its rate is 429", func(t *testing.T) {
		e := newEnv(t, func(c *api.Config) { c.SignInLimit = api.SignInLimit{PerClient: 0.001, ClientBurst: 3} })
		for i := range 3 {
			if r := e.do("POST", "/v1/sessions", "", map[string]any{"email": "x" + strconv.Itoa(i) + "@example.com", "password": "whatever pw"}); r.status != 401 {
				t.Fatalf("try %d: %d", i, r.status)
			}
		}
		if r := e.do("POST", "/v1/sessions", "", map[string]any{"email": "y@example.com", "password": "whatever pw"}); r.status != 429 {
			t.Fatalf("fourth: %d", r.status)
		}
	})
}
