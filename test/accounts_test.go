package test

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// longEmail returns a valid address of exactly n bytes (n >= 80).
func longEmail(n int) string {
	local := "zq." + randHex(8) // 19 bytes
	const tld = "example"
	rest := n - len(local) - 1 - len(tld) // bytes of the "ddd." labels
	var b strings.Builder
	for rest > 0 {
		l := min(rest, 61) // a label of l-1 characters and its dot
		if rest-l == 1 {
			l-- // never leave a lone dot
		}
		b.WriteString(strings.Repeat("d", l-1) + ".")
		rest -= l
	}
	return local + "@" + b.String() + tld
}

func TestSignUp(t *testing.T) {
	v := newValidator(t)
	srv := startServer(t, v, options{})
	c := srv.client(t)
	existing := newPerson("existing")
	c.signUp(existing)

	t.Run("created", func(t *testing.T) {
		c := srv.client(t)
		p := newPerson("created")
		before := c.stats()
		body := p.signUpBody()
		body["marketing_consent"] = true
		body["unknown_field"] = "ignored"
		res := c.do(http.MethodPost, "/v1/accounts", srv.storeKey, body).want(http.StatusCreated)
		var a account
		res.json(&a)
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("Content-Type %q", ct)
		}
		if loc := res.Header.Get("Location"); a.ID == "" || loc != "/v1/accounts/"+a.ID {
			t.Errorf("Location %q for id %q", loc, a.ID)
		}
		if a.Status != "active" || str(a.Name) != p.Name || str(a.Company) != p.Company || str(a.Email) != p.Email || !a.MarketingConsent || a.ErasedAt != nil {
			t.Errorf("account %s", res.Body)
		}
		for _, ts := range []string{a.CreatedAt, a.UpdatedAt} {
			if tm, err := time.Parse(time.RFC3339Nano, ts); err != nil || !strings.HasSuffix(ts, "Z") || time.Since(tm) > time.Hour {
				t.Errorf("time %q: not a recent RFC 3339 UTC time (%v)", ts, err)
			}
		}
		if bytes.Contains(res.Body, []byte(p.Password)) {
			t.Errorf("the response holds the password")
		}
		got, _ := c.getAccount(a.ID)
		if !reflect.DeepEqual(got, a) {
			t.Errorf("GET %+v, want %+v", got, a)
		}
		after := c.stats()
		if after.Accounts["registered"] != before.Accounts["registered"]+1 || after.Accounts["active"] != before.Accounts["active"]+1 {
			t.Errorf("stats accounts %v -> %v, want one more registered and active", before.Accounts, after.Accounts)
		}
	})

	t.Run("limits_accepted", func(t *testing.T) {
		c := srv.client(t)
		cases := []struct {
			name string
			edit func(b map[string]any)
		}{
			{"name_of_200_characters", func(b map[string]any) { b["name"] = strings.Repeat("é", 200) }},
			{"company_of_200_characters", func(b map[string]any) { b["company"] = strings.Repeat("ß", 200) }},
			{"email_of_254_characters", func(b map[string]any) { b["email"] = secret("e-mail address", longEmail(254)) }},
			{"password_of_10_characters", func(b map[string]any) { b["password"] = secret("password", randHex(5)) }},
			{"no_company", func(b map[string]any) { delete(b, "company") }},
			{"by_an_admin", func(map[string]any) {}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				c := srv.client(t)
				b := newPerson("limit").signUpBody()
				tc.edit(b)
				key := srv.storeKey
				if tc.name == "by_an_admin" {
					key = srv.adminKey
				}
				var a account
				c.do(http.MethodPost, "/v1/accounts", key, b).want(http.StatusCreated).json(&a)
				if str(a.Name) != strings.TrimSpace(b["name"].(string)) || str(a.Email) != b["email"] {
					t.Errorf("account %+v for %v", a, b)
				}
			})
		}
		_ = c
	})

	t.Run("email_taken", func(t *testing.T) {
		for _, tc := range []struct{ name, email string }{
			{"same_address", existing.Email},
			{"upper_case", strings.ToUpper(existing.Email)},
			{"surrounding_whitespace", "  " + existing.Email + "\t"},
			{"mixed_case_and_whitespace", " " + strings.ToUpper(existing.Email[:4]) + existing.Email[4:] + " "},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := srv.client(t)
				before := c.stats()
				_, acc := c.getAccount(existing.ID)
				p := newPerson("dup")
				b := p.signUpBody()
				b["email"] = tc.email
				c.do(http.MethodPost, "/v1/accounts", srv.storeKey, b).problem(http.StatusConflict, "email_taken")
				c.unchanged(before, "a duplicate sign-up")
				if _, now := c.getAccount(existing.ID); !bytes.Equal(now, acc) {
					t.Errorf("the existing account changed: %s -> %s", acc, now)
				}
			})
		}
	})

	t.Run("rejected", func(t *testing.T) {
		valid := func() map[string]any { return newPerson("bad").signUpBody() }
		with := func(k string, v any) map[string]any {
			b := valid()
			b[k] = v
			return b
		}
		without := func(keys ...string) map[string]any {
			b := valid()
			for _, k := range keys {
				delete(b, k)
			}
			return b
		}
		huge := append([]byte(`{"name":"`), bytes.Repeat([]byte("a"), 1<<20)...)
		huge = append(huge, `","email":"huge@quixotic.example","password":"0123456789abc"}`...)
		cases := []struct {
			name    string
			body    any
			headers []string
			status  int
			code    string
			fields  []string // validation_failed: the fields named, sorted
			fcode   string   // and, when set, the code of each
		}{
			{name: "malformed_json", body: rawBody(`{"name": "x",`), status: 400, code: "malformed_json"},
			{name: "json_array", body: rawBody(`["name"]`), status: 400, code: "malformed_json"},
			{name: "json_string", body: rawBody(`"name"`), status: 400, code: "malformed_json"},
			{name: "json_null", body: rawBody(`null`), status: 400, code: "malformed_json"},
			{name: "empty_body", body: rawBody(``), status: 400, code: "malformed_json"},
			{name: "two_objects", body: rawBody(`{} {}`), status: 400, code: "malformed_json"},
			{name: "trailing_garbage", body: rawBody(`{"name":"x"} x`), status: 400, code: "malformed_json"},
			{name: "not_utf8_json", body: rawBody("{\"name\": \"\xff\xfe"), status: 400, code: "malformed_json"},
			{name: "name_wrong_type", body: with("name", 5), status: 422, code: "validation_failed", fields: []string{"name"}},
			{name: "email_wrong_type", body: with("email", true), status: 422, code: "validation_failed", fields: []string{"email"}},
			{name: "password_wrong_type", body: with("password", 1234567890123), status: 422, code: "validation_failed", fields: []string{"password"}},
			{name: "company_wrong_type", body: with("company", []string{"x"}), status: 422, code: "validation_failed", fields: []string{"company"}},
			{name: "marketing_consent_wrong_type", body: with("marketing_consent", "yes"), status: 422, code: "validation_failed", fields: []string{"marketing_consent"}},
			{name: "empty_object", body: map[string]any{}, status: 422, code: "validation_failed", fields: []string{"email", "name", "password"}},
			{name: "missing_name", body: without("name"), status: 422, code: "validation_failed", fields: []string{"name"}, fcode: "required"},
			{name: "missing_email", body: without("email"), status: 422, code: "validation_failed", fields: []string{"email"}, fcode: "required"},
			{name: "missing_password", body: without("password"), status: 422, code: "validation_failed", fields: []string{"password"}, fcode: "required"},
			{name: "null_name", body: with("name", nil), status: 422, code: "validation_failed", fields: []string{"name"}},
			{name: "blank_name", body: with("name", " \t "), status: 422, code: "validation_failed", fields: []string{"name"}},
			{name: "name_over_200_characters", body: with("name", strings.Repeat("é", 201)), status: 422, code: "validation_failed", fields: []string{"name"}, fcode: "too_long"},
			{name: "company_over_200_characters", body: with("company", strings.Repeat("c", 201)), status: 422, code: "validation_failed", fields: []string{"company"}, fcode: "too_long"},
			{name: "email_over_254_characters", body: with("email", longEmail(255)), status: 422, code: "validation_failed", fields: []string{"email"}},
			{name: "email_without_at", body: with("email", "zq.quixotic.example"), status: 422, code: "validation_failed", fields: []string{"email"}},
			{name: "email_without_domain", body: with("email", "zq@"), status: 422, code: "validation_failed", fields: []string{"email"}},
			{name: "email_with_display_name", body: with("email", "Zeb <zq@quixotic.example>"), status: 422, code: "validation_failed", fields: []string{"email"}},
			{name: "email_with_inner_space", body: with("email", "zq q@quixotic.example"), status: 422, code: "validation_failed", fields: []string{"email"}},
			{name: "empty_email", body: with("email", ""), status: 422, code: "validation_failed", fields: []string{"email"}},
			{name: "password_of_9_characters", body: with("password", "123456789"), status: 422, code: "validation_failed", fields: []string{"password"}, fcode: "too_short"},
			{name: "empty_password", body: with("password", ""), status: 422, code: "validation_failed", fields: []string{"password"}},
			{name: "every_field_bad", body: map[string]any{"name": "", "company": strings.Repeat("c", 201), "email": "x", "password": "short"}, status: 422, code: "validation_failed", fields: []string{"company", "email", "name", "password"}},
			{name: "body_over_1_MiB", body: rawBody(huge), status: 413, code: "body_too_large"},
			{name: "text_plain", body: rawBody(`{}`), headers: []string{"Content-Type", "text/plain"}, status: 415, code: "unsupported_media_type"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				c := srv.client(t)
				before := c.stats()
				_, acc := c.getAccount(existing.ID)
				p := c.do(http.MethodPost, "/v1/accounts", srv.storeKey, tc.body, tc.headers...).problem(tc.status, tc.code)
				if tc.fields != nil {
					if got := p.fields(); !slices.Equal(got, tc.fields) {
						t.Errorf("errors[].field %v, want %v", got, tc.fields)
					}
					for _, e := range p.Errors {
						if e.Code == "" || (tc.fcode != "" && e.Code != tc.fcode) {
							t.Errorf("errors[] %+v: want code %q", e, tc.fcode)
						}
					}
				}
				c.unchanged(before, tc.name)
				if _, now := c.getAccount(existing.ID); !bytes.Equal(now, acc) {
					t.Errorf("the existing account changed: %s -> %s", acc, now)
				}
			})
		}
	})
}

// TestRequestErrors covers routing and authentication: unknown routes,
// wrong methods, missing and bad tokens, roles, and ids that do not exist.
func TestRequestErrors(t *testing.T) {
	v := newValidator(t)
	srv := startServer(t, v, options{})
	c := srv.client(t)
	me, other := newPerson("me"), newPerson("other")
	c.signUp(me)
	c.signUp(other)
	c.signIn(me)
	c.signIn(other)
	before := c.stats()
	_, mine := c.getAccount(me.ID)
	acct := "/v1/accounts/" + me.ID

	t.Run("unknown_route", func(t *testing.T) {
		for _, tc := range []struct{ method, path string }{
			{"GET", "/"},
			{"GET", "/v1"},
			{"GET", "/v1/nope"},
			{"GET", "/v2/accounts"},
			{"POST", "/v1/account"},
			{"GET", acct + "/nope"},
			{"DELETE", "/v1/sessions/other"},
			{"GET", "/V1/PRODUCTS"},
		} {
			t.Run(tc.method+strings.ReplaceAll(tc.path, "/", "_"), func(t *testing.T) {
				c := srv.client(t)
				c.do(tc.method, tc.path, srv.adminKey, nil).problem(http.StatusNotFound, "not_found")
			})
		}
	})

	t.Run("wrong_method", func(t *testing.T) {
		for _, tc := range []struct {
			method, path string
			allow        []string
		}{
			{"GET", "/v1/accounts", []string{"POST"}},
			{"PUT", "/v1/accounts", []string{"POST"}},
			{"POST", acct, []string{"DELETE", "GET", "PATCH"}},
			{"PUT", acct, []string{"DELETE", "GET", "PATCH"}},
			{"GET", acct + "/password", []string{"PUT"}},
			{"POST", acct + "/export", []string{"GET"}},
			{"GET", "/v1/sessions", []string{"POST"}},
			{"GET", "/v1/sessions/current", []string{"DELETE"}},
			{"GET", "/v1/password-resets", []string{"POST"}},
			{"DELETE", "/v1/products", []string{"GET"}},
			{"POST", "/v1/stats", []string{"GET"}},
			{"POST", "/healthz", []string{"GET"}},
			{"PATCH", "/openapi.json", []string{"GET"}},
		} {
			t.Run(tc.method+strings.ReplaceAll(strings.ReplaceAll(tc.path, me.ID, "ID"), "/", "_"), func(t *testing.T) {
				c := srv.client(t)
				res := c.do(tc.method, tc.path, srv.adminKey, nil)
				res.problem(http.StatusMethodNotAllowed, "method_not_allowed")
				allow := map[string]bool{}
				for _, m := range strings.Split(strings.Join(res.Header.Values("Allow"), ","), ",") {
					allow[strings.ToUpper(strings.TrimSpace(m))] = true
				}
				for _, m := range tc.allow {
					if !allow[m] {
						t.Errorf("Allow %q lacks %s", res.Header.Get("Allow"), m)
					}
				}
				if allow[tc.method] {
					t.Errorf("Allow %q names the refused method", res.Header.Get("Allow"))
				}
			})
		}
	})

	t.Run("unauthenticated", func(t *testing.T) {
		bad := []struct{ name, header string }{
			{"no_header", ""},
			{"bearer_without_token", "Bearer"},
			{"bearer_blank", "Bearer   "},
			{"unknown_token", "Bearer " + "sk_admin_" + randHex(16)},
			{"basic_scheme", "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+srv.adminKey))},
			{"key_without_scheme", srv.adminKey},
			{"key_with_suffix", "Bearer " + srv.adminKey + "x"},
			{"key_prefix", "Bearer " + srv.adminKey[:len(srv.adminKey)-1]},
			{"token_of_600_characters", "Bearer " + strings.Repeat("t", 600)},
			{"signed_out_looking_token", "Bearer slr_" + randHex(20)},
		}
		routes := []struct{ method, path string }{
			{"GET", acct},
			{"PATCH", acct},
			{"DELETE", acct},
			{"PUT", acct + "/password"},
			{"GET", acct + "/export"},
			{"GET", acct + "/events"},
			{"POST", "/v1/accounts"},
			{"GET", "/v1/stats"},
			{"DELETE", "/v1/sessions/current"},
		}
		for _, b := range bad {
			t.Run(b.name, func(t *testing.T) {
				c := srv.client(t)
				for _, r := range routes {
					var body any
					if r.method == "POST" || r.method == "PATCH" || r.method == "PUT" {
						body = map[string]any{"name": "Mallory", "email": "mallory@quixotic.example", "password": "0123456789abc", "new_password": "0123456789abc"}
					}
					h := []string{}
					if b.header != "" {
						h = []string{"Authorization", b.header}
					}
					c.do(r.method, r.path, "", body, h...).problem(http.StatusUnauthorized, "unauthenticated")
				}
				c.unchanged(before, b.name)
				if _, now := c.getAccount(me.ID); !bytes.Equal(now, mine) {
					t.Errorf("the account changed: %s -> %s", mine, now)
				}
			})
		}
		t.Run("scheme_in_lower_case_is_accepted", func(t *testing.T) {
			c := srv.client(t)
			c.do("GET", acct, "", nil, "Authorization", "bearer "+srv.adminKey).want(http.StatusOK)
		})
	})

	t.Run("forbidden", func(t *testing.T) {
		c := srv.client(t)
		for _, r := range []struct{ method, path, token string }{
			{"GET", "/v1/stats", srv.storeKey},
			{"GET", "/v1/marketing/recipients", srv.storeKey},
			{"GET", acct + "/events", srv.storeKey},
			{"GET", acct + "/export", srv.storeKey},
			{"GET", "/v1/stats", me.Token},
			{"GET", "/v1/marketing/recipients", me.Token},
			{"GET", acct + "/events", me.Token},
			{"POST", "/v1/accounts", me.Token},
			{"DELETE", "/v1/sessions/current", srv.storeKey},
			{"DELETE", "/v1/sessions/current", srv.adminKey},
		} {
			var body any
			if r.method == "POST" {
				body = newPerson("forbidden").signUpBody()
			}
			c.do(r.method, r.path, r.token, body).problem(http.StatusForbidden, "forbidden")
		}
		c.unchanged(before, "forbidden requests")
	})

	t.Run("another_customers_account", func(t *testing.T) {
		c := srv.client(t)
		for _, r := range []struct {
			method, path string
			body         any
		}{
			{"GET", acct, nil},
			{"PATCH", acct, map[string]any{"name": "Mallory"}},
			{"DELETE", acct, nil},
			{"PUT", acct + "/password", map[string]any{"current_password": me.Password, "new_password": "0123456789abc"}},
			{"GET", acct + "/export", nil},
			{"GET", acct + "/licenses", nil},
			{"GET", acct + "/subscriptions", nil},
		} {
			c.do(r.method, r.path, other.Token, r.body).problem(http.StatusNotFound, "not_found")
		}
		c.unchanged(before, "another customer's requests")
		if _, now := c.getAccount(me.ID); !bytes.Equal(now, mine) {
			t.Errorf("the account changed: %s -> %s", mine, now)
		}
		c.do("GET", acct, me.Token, nil).want(http.StatusOK)
	})

	t.Run("no_such_id", func(t *testing.T) {
		ids := []struct{ name, id string }{
			{"unknown_uuid", "6b1d0c52-3f29-4c2e-9a8e-2b7f5f0e4d11"},
			{"not_a_uuid", "nobody"},
			{"space", "%20"},
			{"nul_byte", "a%00b"},
			{"newline", "a%0Ab"},
			{"encoded_slash", "a%2Fb"},
			{"dot_dot", ".."},
			{"300_characters", strings.Repeat("a", 300)},
			{"non_ascii", "%C3%A9t%C3%A9"},
		}
		for _, id := range ids {
			t.Run(id.name, func(t *testing.T) {
				c := srv.client(t)
				base := "/v1/accounts/" + id.id
				for _, r := range []struct {
					method, path string
					body         any
				}{
					{"GET", base, nil},
					{"PATCH", base, map[string]any{"name": "Nobody At All"}},
					{"DELETE", base, nil},
					{"PUT", base + "/password", map[string]any{"new_password": "0123456789abc"}},
					{"GET", base + "/export", nil},
					{"GET", base + "/events", nil},
					{"GET", base + "/licenses", nil},
					{"GET", base + "/subscriptions", nil},
					{"GET", "/v1/licenses/" + id.id, nil},
					{"GET", "/v1/subscriptions/" + id.id, nil},
				} {
					c.do(r.method, r.path, srv.adminKey, r.body).problem(http.StatusNotFound, "not_found")
				}
				c.unchanged(before, "requests for "+id.name)
			})
		}
	})
}
