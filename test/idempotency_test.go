package test

import (
	"bytes"
	"net/http"
	"sync"
	"testing"
)

func TestIdempotencyKey(t *testing.T) {
	v := newValidator(t)
	srv := startServer(t, v, options{})
	c := srv.client(t)

	p := newPerson("idem")
	key := "idem-" + randHex(12)
	body := p.signUpBody()
	before := c.stats()
	first := c.do(http.MethodPost, "/v1/accounts", srv.storeKey, body, "Idempotency-Key", key).want(http.StatusCreated)
	var a account
	first.json(&a)
	p.ID = a.ID

	t.Run("repeat_returns_the_first_response", func(t *testing.T) {
		c := srv.client(t)
		for range 2 {
			again := c.do(http.MethodPost, "/v1/accounts", srv.storeKey, body, "Idempotency-Key", key)
			if again.Status != first.Status || !bytes.Equal(again.Body, first.Body) {
				t.Errorf("repeat: %d %s, want %d %s", again.Status, again.Body, first.Status, first.Body)
			}
			if again.Header.Get("Location") != first.Header.Get("Location") {
				t.Errorf("repeat Location %q, want %q", again.Header.Get("Location"), first.Header.Get("Location"))
			}
		}
		after := c.stats()
		if after.Accounts["registered"] != before.Accounts["registered"]+1 {
			t.Errorf("accounts registered %d -> %d, want one more", before.Accounts["registered"], after.Accounts["registered"])
		}
	})

	t.Run("concurrent_repeats_run_once", func(t *testing.T) {
		c := srv.client(t)
		before := c.stats()
		q := newPerson("idem-race")
		k := "idem-race-" + randHex(8)
		b := q.signUpBody()
		var wg sync.WaitGroup
		res := make([]*response, 8)
		errs := make([]error, 8)
		for i := range res {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res[i], errs[i] = c.try(http.MethodPost, "/v1/accounts", srv.storeKey, b, "Idempotency-Key", k)
			}()
		}
		wg.Wait()
		for i := range res {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if res[i].Status != http.StatusCreated || !bytes.Equal(res[i].Body, res[0].Body) {
				t.Errorf("concurrent repeat %d: %d %s, want %d %s", i, res[i].Status, res[i].Body, res[0].Status, res[0].Body)
			}
		}
		if after := c.stats(); after.Accounts["registered"] != before.Accounts["registered"]+1 {
			t.Errorf("accounts registered %d -> %d, want one more", before.Accounts["registered"], after.Accounts["registered"])
		}
	})

	t.Run("same_key_other_body", func(t *testing.T) {
		c := srv.client(t)
		before := c.stats()
		other := newPerson("idem-other").signUpBody()
		c.do(http.MethodPost, "/v1/accounts", srv.storeKey, other, "Idempotency-Key", key).problem(http.StatusUnprocessableEntity, "idempotency_key_reused")
		// One more field is another body too.
		changed := p.signUpBody()
		changed["marketing_consent"] = true
		c.do(http.MethodPost, "/v1/accounts", srv.storeKey, changed, "Idempotency-Key", key).problem(http.StatusUnprocessableEntity, "idempotency_key_reused")
		c.unchanged(before, "a reused key")
	})

	t.Run("without_a_key_a_repeat_runs_again", func(t *testing.T) {
		c := srv.client(t)
		c.do(http.MethodPost, "/v1/accounts", srv.storeKey, body).problem(http.StatusConflict, "email_taken")
	})

	t.Run("errors_are_not_recorded", func(t *testing.T) {
		c := srv.client(t)
		k := "idem-err-" + randHex(8)
		q := newPerson("idem-err")
		bad := q.signUpBody()
		bad["password"] = "short"
		c.do(http.MethodPost, "/v1/accounts", srv.storeKey, bad, "Idempotency-Key", k).problem(http.StatusUnprocessableEntity, "validation_failed")
		c.do(http.MethodPost, "/v1/accounts", srv.storeKey, bad, "Idempotency-Key", k).problem(http.StatusUnprocessableEntity, "validation_failed")
	})

	t.Run("sign_in", func(t *testing.T) {
		c := srv.client(t)
		k := "idem-session-" + randHex(8)
		creds := map[string]any{"email": p.Email, "password": p.Password}
		s1 := c.do(http.MethodPost, "/v1/sessions", "", creds, "Idempotency-Key", k).want(http.StatusCreated)
		s2 := c.do(http.MethodPost, "/v1/sessions", "", creds, "Idempotency-Key", k).want(http.StatusCreated)
		var s session
		s1.json(&s)
		secret("session token", s.Token)
		if !bytes.Equal(s1.Body, s2.Body) {
			t.Errorf("repeated sign-in: %s, want %s", s2.Body, s1.Body)
		}
		c.do(http.MethodGet, "/v1/accounts/"+p.ID, s.Token, nil).want(http.StatusOK)
	})

	t.Run("survives_a_restart", func(t *testing.T) {
		srv.restart(t)
		c := srv.client(t)
		before := c.stats()
		again := c.do(http.MethodPost, "/v1/accounts", srv.storeKey, body, "Idempotency-Key", key)
		if again.Status != first.Status || !bytes.Equal(again.Body, first.Body) {
			t.Errorf("repeat after restart: %d %s, want %d %s", again.Status, again.Body, first.Status, first.Body)
		}
		c.do(http.MethodPost, "/v1/accounts", srv.storeKey, newPerson("idem-late").signUpBody(), "Idempotency-Key", key).problem(http.StatusUnprocessableEntity, "idempotency_key_reused")
		c.unchanged(before, "replays after a restart")
	})
}
