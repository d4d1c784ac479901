package test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSessions(t *testing.T) {
	v := newValidator(t)
	srv := startServer(t, v, options{})
	c := srv.client(t)

	t.Run("sign_in", func(t *testing.T) {
		c := srv.client(t)
		p := newPerson("signin")
		c.signUp(p)
		res := c.do(http.MethodPost, "/v1/sessions", "", map[string]any{"email": p.Email, "password": p.Password}).want(http.StatusCreated)
		var s session
		res.json(&s)
		secret("session token", s.Token)
		if s.AccountID != p.ID || len(s.Token) < 20 {
			t.Errorf("session %s", res.Body)
		}
		if exp, err := time.Parse(time.RFC3339Nano, s.ExpiresAt); err != nil || !exp.After(time.Now()) || !strings.HasSuffix(s.ExpiresAt, "Z") {
			t.Errorf("expires_at %q (%v)", s.ExpiresAt, err)
		}
		var a account
		c.do(http.MethodGet, "/v1/accounts/"+p.ID, s.Token, nil).want(http.StatusOK).json(&a)
		if str(a.Email) != p.Email {
			t.Errorf("own account %+v", a)
		}
		// The address is matched whatever its case and surrounding space.
		var s2 session
		c.do(http.MethodPost, "/v1/sessions", "", map[string]any{"email": " " + strings.ToUpper(p.Email) + " ", "password": p.Password}).want(http.StatusCreated).json(&s2)
		secret("session token", s2.Token)
		if s2.AccountID != p.ID || s2.Token == s.Token {
			t.Errorf("second session %+v (first token %s)", s2, s.Token)
		}
	})

	t.Run("invalid_credentials", func(t *testing.T) {
		c := srv.client(t)
		p := newPerson("wrongpw")
		c.signUp(p)
		before := c.stats()
		wrong := c.do(http.MethodPost, "/v1/sessions", "", map[string]any{"email": p.Email, "password": p.Password + "x"})
		pw := wrong.problem(http.StatusUnauthorized, "invalid_credentials")
		unknown := c.do(http.MethodPost, "/v1/sessions", "", map[string]any{"email": "nobody." + randHex(4) + "@quixotic.example", "password": p.Password})
		pu := unknown.problem(http.StatusUnauthorized, "invalid_credentials")
		pw.RequestID, pu.RequestID = "", ""
		if !equalJSONShape(wrong.Body, unknown.Body) || pw.Type != pu.Type || pw.Title != pu.Title || pw.Detail != pu.Detail || pw.Code != pu.Code {
			t.Errorf("a wrong password and an unknown e-mail answer differently:\n%s\n%s", wrong.Body, unknown.Body)
		}
		if wrong.Header.Get("Content-Type") != unknown.Header.Get("Content-Type") {
			t.Errorf("Content-Type %q vs %q", wrong.Header.Get("Content-Type"), unknown.Header.Get("Content-Type"))
		}
		c.unchanged(before, "failed sign-ins")
	})

	t.Run("bad_sign_in_requests", func(t *testing.T) {
		c := srv.client(t)
		before := c.stats()
		for _, tc := range []struct {
			name   string
			body   any
			status int
			code   string
			fields []string
		}{
			{"malformed_json", rawBody(`{"email":`), 400, "malformed_json", nil},
			{"empty_object", map[string]any{}, 422, "validation_failed", []string{"email", "password"}},
			{"missing_password", map[string]any{"email": "zq@quixotic.example"}, 422, "validation_failed", []string{"password"}},
			{"email_wrong_type", map[string]any{"email": 1, "password": "0123456789"}, 422, "validation_failed", []string{"email"}},
		} {
			p := c.do(http.MethodPost, "/v1/sessions", "", tc.body).problem(tc.status, tc.code)
			if tc.fields != nil && !slices.Equal(p.fields(), tc.fields) {
				t.Errorf("%s: fields %v, want %v", tc.name, p.fields(), tc.fields)
			}
		}
		c.unchanged(before, "bad sign-in requests")
	})

	t.Run("rate_limited_after_repeated_failures", func(t *testing.T) {
		c := srv.client(t)
		p := newPerson("ratelimit")
		c.signUp(p)
		var last *response
		for i := range 12 {
			last = c.do(http.MethodPost, "/v1/sessions", "", map[string]any{"email": p.Email, "password": "wrong-" + strconv.Itoa(i) + "-password"})
			if last.Status != http.StatusUnauthorized {
				break
			}
		}
		last.problem(http.StatusTooManyRequests, "rate_limited")
		if ra, err := strconv.Atoi(last.Header.Get("Retry-After")); err != nil || ra < 1 {
			t.Errorf("Retry-After %q", last.Header.Get("Retry-After"))
		}
		// Even the right password is refused while the address is limited.
		c.do(http.MethodPost, "/v1/sessions", "", map[string]any{"email": p.Email, "password": p.Password}).problem(http.StatusTooManyRequests, "rate_limited")
	})

	t.Run("sign_out", func(t *testing.T) {
		c := srv.client(t)
		p := newPerson("signout")
		c.signUp(p)
		tok := c.signIn(p)
		keep := c.signIn(p)
		c.do(http.MethodDelete, "/v1/sessions/current", tok, nil).want(http.StatusNoContent)
		c.do(http.MethodGet, "/v1/accounts/"+p.ID, tok, nil).problem(http.StatusUnauthorized, "unauthenticated")
		c.do(http.MethodDelete, "/v1/sessions/current", tok, nil).problem(http.StatusUnauthorized, "unauthenticated")
		// Only that session ended.
		c.do(http.MethodGet, "/v1/accounts/"+p.ID, keep, nil).want(http.StatusOK)
	})

	t.Run("own_account_and_others", func(t *testing.T) {
		c := srv.client(t)
		me, other := newPerson("own"), newPerson("nosy")
		c.signUp(me)
		c.signUp(other)
		c.signIn(me)
		c.signIn(other)
		var a account
		c.do(http.MethodGet, "/v1/accounts/"+me.ID, me.Token, nil).want(http.StatusOK).json(&a)
		if str(a.Name) != me.Name {
			t.Errorf("own account %+v", a)
		}
		_, before := c.getAccount(me.ID)
		for _, r := range []struct {
			method, path string
			body         any
		}{
			{"GET", "/v1/accounts/" + me.ID, nil},
			{"PATCH", "/v1/accounts/" + me.ID, map[string]any{"name": "Nosy Parker"}},
			{"DELETE", "/v1/accounts/" + me.ID, nil},
			{"PUT", "/v1/accounts/" + me.ID + "/password", map[string]any{"current_password": me.Password, "new_password": "0123456789abc"}},
			{"GET", "/v1/accounts/" + me.ID + "/export", nil},
		} {
			res := c.do(r.method, r.path, other.Token, r.body)
			res.problem(http.StatusNotFound, "not_found")
			if bytes.Contains(res.Body, []byte(me.Email)) || bytes.Contains(res.Body, []byte(me.Name)) {
				t.Errorf("%s leaks the account: %s", res.what, res.Body)
			}
		}
		if _, now := c.getAccount(me.ID); !bytes.Equal(now, before) {
			t.Errorf("the account changed: %s -> %s", before, now)
		}
		var patched account
		newName := secret("name", "Zebulon Renamed-"+randHex(4))
		c.do(http.MethodPatch, "/v1/accounts/"+me.ID, me.Token, map[string]any{"name": newName}).want(http.StatusOK).json(&patched)
		if str(patched.Name) != newName || str(patched.Email) != me.Email {
			t.Errorf("patched %+v", patched)
		}
	})

	t.Run("rectification", func(t *testing.T) {
		c := srv.client(t)
		p := newPerson("rectify")
		c.signUp(p)
		c.signIn(p)
		oldEmail := p.Email
		q := newPerson("rectified")
		var a account
		res := c.do(http.MethodPatch, "/v1/accounts/"+p.ID, p.Token, map[string]any{"name": q.Name, "company": q.Company, "email": q.Email}).want(http.StatusOK)
		res.json(&a)
		if str(a.Name) != q.Name || str(a.Company) != q.Company || str(a.Email) != q.Email || a.Status != "active" {
			t.Errorf("PATCH answered %s", res.Body)
		}
		got, _ := c.getAccount(p.ID)
		if str(got.Name) != q.Name || str(got.Company) != q.Company || str(got.Email) != q.Email {
			t.Errorf("GET after PATCH %+v", got)
		}
		if got.UpdatedAt == got.CreatedAt {
			t.Errorf("updated_at not moved: %+v", got)
		}
		p.Email = q.Email
		c.signIn(p)
		c.do(http.MethodPost, "/v1/sessions", "", map[string]any{"email": oldEmail, "password": p.Password}).problem(http.StatusUnauthorized, "invalid_credentials")
		// The old address is free for someone else, the new one is taken.
		n := newPerson("newcomer")
		n.Email = oldEmail
		c.signUp(n)
		taken := newPerson("late")
		taken.Email = q.Email
		c.do(http.MethodPost, "/v1/accounts", srv.storeKey, taken.signUpBody()).problem(http.StatusConflict, "email_taken")
		// Nor can the newcomer take the rectified address.
		_, before := c.getAccount(n.ID)
		c.do(http.MethodPatch, "/v1/accounts/"+n.ID, srv.storeKey, map[string]any{"email": strings.ToUpper(q.Email)}).problem(http.StatusConflict, "email_taken")
		if _, now := c.getAccount(n.ID); !bytes.Equal(now, before) {
			t.Errorf("the account changed: %s -> %s", before, now)
		}
		// Changing an address only in case is no conflict with oneself.
		c.do(http.MethodPatch, "/v1/accounts/"+n.ID, srv.adminKey, map[string]any{"email": strings.ToUpper(n.Email)}).want(http.StatusOK)
	})

	t.Run("bad_patches_change_nothing", func(t *testing.T) {
		c := srv.client(t)
		p := newPerson("badpatch")
		c.signUp(p)
		c.signIn(p)
		for _, tc := range []struct {
			name   string
			body   any
			status int
			code   string
			fields []string
		}{
			{"malformed_json", rawBody(`{"name"`), 400, "malformed_json", nil},
			{"name_wrong_type", map[string]any{"name": 1}, 422, "validation_failed", []string{"name"}},
			{"consent_wrong_type", map[string]any{"marketing_consent": "true"}, 422, "validation_failed", []string{"marketing_consent"}},
			{"blank_name", map[string]any{"name": "  "}, 422, "validation_failed", []string{"name"}},
			{"name_over_200_characters", map[string]any{"name": strings.Repeat("n", 201)}, 422, "validation_failed", []string{"name"}},
			{"company_over_200_characters", map[string]any{"company": strings.Repeat("c", 201)}, 422, "validation_failed", []string{"company"}},
			{"email_over_254_characters", map[string]any{"email": longEmail(255)}, 422, "validation_failed", []string{"email"}},
			{"email_invalid", map[string]any{"email": "not-an-address"}, 422, "validation_failed", []string{"email"}},
			{"valid_name_but_invalid_email", map[string]any{"name": "Fine Name", "email": "bad@"}, 422, "validation_failed", []string{"email"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := srv.client(t)
				before := c.stats()
				_, acc := c.getAccount(p.ID)
				pr := c.do(http.MethodPatch, "/v1/accounts/"+p.ID, p.Token, tc.body).problem(tc.status, tc.code)
				if tc.fields != nil && !slices.Equal(pr.fields(), tc.fields) {
					t.Errorf("fields %v, want %v", pr.fields(), tc.fields)
				}
				c.unchanged(before, tc.name)
				if _, now := c.getAccount(p.ID); !bytes.Equal(now, acc) {
					t.Errorf("the account changed: %s -> %s", acc, now)
				}
			})
		}
		t.Run("empty_patch", func(t *testing.T) {
			c := srv.client(t)
			_, acc := c.getAccount(p.ID)
			var a account
			c.do(http.MethodPatch, "/v1/accounts/"+p.ID, p.Token, map[string]any{}).want(http.StatusOK).json(&a)
			if _, now := c.getAccount(p.ID); !bytes.Equal(now, acc) || str(a.Name) != p.Name {
				t.Errorf("an empty PATCH changed the account: %s -> %s", acc, now)
			}
		})
	})

	t.Run("marketing_consent", func(t *testing.T) {
		c := srv.client(t)
		p := newPerson("consent")
		c.signUp(p)
		c.signIn(p)
		listed := func(t *testing.T) (inJSON, inCSV bool) {
			t.Helper()
			var l struct {
				Data []struct {
					AccountID string `json:"account_id"`
					Name      string `json:"name"`
					Email     string `json:"email"`
					ConsentAt string `json:"consent_at"`
				} `json:"data"`
			}
			c.do(http.MethodGet, "/v1/marketing/recipients?limit=500", srv.adminKey, nil).want(http.StatusOK).json(&l)
			for _, r := range l.Data {
				if r.AccountID == p.ID {
					inJSON = true
					if r.Email != p.Email || r.Name != p.Name || r.ConsentAt == "" {
						t.Errorf("recipient %+v", r)
					}
				}
			}
			res := c.do(http.MethodGet, "/v1/marketing/recipients?limit=500&format=csv", srv.adminKey, nil).want(http.StatusOK)
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
				t.Errorf("CSV Content-Type %q", ct)
			}
			rows, err := csv.NewReader(bytes.NewReader(res.Body)).ReadAll()
			if err != nil || len(rows) == 0 || !slices.Equal(rows[0], []string{"account_id", "name", "email", "consent_at"}) {
				t.Fatalf("CSV %q: %v", res.Body, err)
			}
			for _, row := range rows[1:] {
				if row[0] == p.ID {
					inCSV = true
					if row[1] != p.Name || row[2] != p.Email {
						t.Errorf("CSV row %q", row)
					}
				}
			}
			return inJSON, inCSV
		}
		if j, cv := listed(t); j || cv {
			t.Errorf("listed before consenting (json %v, csv %v)", j, cv)
		}
		var a account
		c.do(http.MethodPatch, "/v1/accounts/"+p.ID, p.Token, map[string]any{"marketing_consent": true}).want(http.StatusOK).json(&a)
		if !a.MarketingConsent {
			t.Errorf("consent not given: %+v", a)
		}
		if j, cv := listed(t); !j || !cv {
			t.Errorf("not listed after consenting (json %v, csv %v)", j, cv)
		}
		c.do(http.MethodPatch, "/v1/accounts/"+p.ID, p.Token, map[string]any{"marketing_consent": false}).want(http.StatusOK).json(&a)
		if a.MarketingConsent {
			t.Errorf("consent not withdrawn: %+v", a)
		}
		if j, cv := listed(t); j || cv {
			t.Errorf("listed after withdrawing (json %v, csv %v)", j, cv)
		}
		got, _ := c.getAccount(p.ID)
		if got.MarketingConsent {
			t.Errorf("GET %+v", got)
		}
		c.do(http.MethodGet, "/v1/marketing/recipients?format=xml", srv.adminKey, nil).problem(http.StatusBadRequest, "bad_request")
	})

	t.Run("password_change", func(t *testing.T) {
		c := srv.client(t)
		p := newPerson("pwchange")
		c.signUp(p)
		old := c.signIn(p)
		other := c.signIn(p)
		path := "/v1/accounts/" + p.ID + "/password"
		newPw := secret("password", "pw-new-"+randHex(8))
		before := c.stats()
		pr := c.do(http.MethodPut, path, old, map[string]any{"new_password": newPw}).problem(http.StatusUnprocessableEntity, "validation_failed")
		if !slices.Contains(pr.fields(), "current_password") {
			t.Errorf("a customer without current_password: fields %v", pr.fields())
		}
		c.do(http.MethodPut, path, old, map[string]any{"current_password": p.Password + "x", "new_password": newPw}).problem(http.StatusForbidden, "invalid_credentials")
		pr = c.do(http.MethodPut, path, old, map[string]any{"current_password": p.Password, "new_password": "short"}).problem(http.StatusUnprocessableEntity, "validation_failed")
		if !slices.Equal(pr.fields(), []string{"new_password"}) {
			t.Errorf("short new password: fields %v", pr.fields())
		}
		c.unchanged(before, "refused password changes")
		c.do(http.MethodGet, "/v1/accounts/"+p.ID, old, nil).want(http.StatusOK)

		c.do(http.MethodPut, path, old, map[string]any{"current_password": p.Password, "new_password": newPw}).want(http.StatusNoContent)
		c.do(http.MethodGet, "/v1/accounts/"+p.ID, old, nil).problem(http.StatusUnauthorized, "unauthenticated")
		c.do(http.MethodGet, "/v1/accounts/"+p.ID, other, nil).problem(http.StatusUnauthorized, "unauthenticated")
		c.do(http.MethodPost, "/v1/sessions", "", map[string]any{"email": p.Email, "password": p.Password}).problem(http.StatusUnauthorized, "invalid_credentials")
		p.Password = newPw
		tok := c.signIn(p)

		// The store and admins set a password without the current one.
		storePw := secret("password", "pw-store-"+randHex(8))
		c.do(http.MethodPut, path, srv.storeKey, map[string]any{"new_password": storePw}).want(http.StatusNoContent)
		c.do(http.MethodGet, "/v1/accounts/"+p.ID, tok, nil).problem(http.StatusUnauthorized, "unauthenticated")
		p.Password = storePw
		c.signIn(p)
		adminPw := secret("password", "pw-admin-"+randHex(8))
		c.do(http.MethodPut, path, srv.adminKey, map[string]any{"new_password": adminPw}).want(http.StatusNoContent)
		p.Password = adminPw
		c.signIn(p)
	})
	_ = c
}

// equalJSONShape reports whether two JSON objects have the same keys with
// values of the same JSON types.
func equalJSONShape(a, b []byte) bool {
	var x, y map[string]any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil || len(x) != len(y) {
		return false
	}
	for k, v := range x {
		w, ok := y[k]
		if !ok || typeName(v) != typeName(w) {
			return false
		}
	}
	return true
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case []any:
		return "array"
	}
	return "object"
}
