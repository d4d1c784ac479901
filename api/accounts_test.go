package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestBadInputChangesNothing sends every kind of bad input and checks its
// status and code, and that no account was made or changed.
func TestBadInputChangesNothing(t *testing.T) {
	e := newEnv(t, generousLimits)
	id := e.signUp("Ann Example", "ann@example.com", "ann's password")
	long := strings.Repeat("x", 201)
	tests := []struct {
		name   string
		method string
		path   string
		token  string
		body   any
		ctype  string
		status int
		code   string
		field  string
	}{
		{"malformed JSON is 400", "POST", "/v1/accounts", storeKey, `{"name":`, "", 400, "malformed_json", ""},
		{"a JSON array is 400", "POST", "/v1/accounts", storeKey, `[]`, "", 400, "malformed_json", ""},
		{"two JSON values are 400", "POST", "/v1/accounts", storeKey, `{} {}`, "", 400, "malformed_json", ""},
		{"an empty body is 400", "POST", "/v1/accounts", storeKey, ``, "", 400, "malformed_json", ""},
		{"a form body is 415", "POST", "/v1/accounts", storeKey, `name=x`, "application/x-www-form-urlencoded", 415, "unsupported_media_type", ""},
		{"a wrong type is 422 naming the field", "POST", "/v1/accounts", storeKey, `{"name": 5, "email": "b@example.com", "password": "long enough pw"}`, "", 422, "validation_failed", "name"},
		{"a missing name is 422", "POST", "/v1/accounts", storeKey, map[string]any{"email": "b@example.com", "password": "long enough pw"}, "", 422, "validation_failed", "name"},
		{"a blank name is 422", "POST", "/v1/accounts", storeKey, map[string]any{"name": "  ", "email": "b@example.com", "password": "long enough pw"}, "", 422, "validation_failed", "name"},
		{"a name over 200 characters is 422", "POST", "/v1/accounts", storeKey, map[string]any{"name": long, "email": "b@example.com", "password": "long enough pw"}, "", 422, "validation_failed", "name"},
		{"a company over 200 characters is 422", "POST", "/v1/accounts", storeKey, map[string]any{"name": "B", "company": long, "email": "b@example.com", "password": "long enough pw"}, "", 422, "validation_failed", "company"},
		{"an e-mail over 254 characters is 422", "POST", "/v1/accounts", storeKey, map[string]any{"name": "B", "email": strings.Repeat("b", 250) + "@example.com", "password": "long enough pw"}, "", 422, "validation_failed", "email"},
		{"an invalid e-mail is 422", "POST", "/v1/accounts", storeKey, map[string]any{"name": "B", "email": "not an address", "password": "long enough pw"}, "", 422, "validation_failed", "email"},
		{"a short password is 422", "POST", "/v1/accounts", storeKey, map[string]any{"name": "B", "email": "b@example.com", "password": "short"}, "", 422, "validation_failed", "password"},
		{"a taken e-mail in another case is 409", "POST", "/v1/accounts", storeKey, map[string]any{"name": "B", "email": " ANN@example.com ", "password": "long enough pw"}, "", 409, "email_taken", ""},
		{"an oversized body is 413", "POST", "/v1/accounts", storeKey, `{"name": "` + strings.Repeat("x", 1<<20) + `"}`, "", 413, "body_too_large", ""},
		{"a patch with a wrong type is 422", "PATCH", "/v1/accounts/" + id, storeKey, `{"marketing_consent": "yes"}`, "", 422, "validation_failed", "marketing_consent"},
		{"a patch with a name over 200 is 422", "PATCH", "/v1/accounts/" + id, storeKey, map[string]any{"name": long}, "", 422, "validation_failed", "name"},
		{"a patch with a bad e-mail is 422", "PATCH", "/v1/accounts/" + id, storeKey, map[string]any{"email": "x@"}, "", 422, "validation_failed", "email"},
		{"an unknown route is 404", "GET", "/v1/nothing", storeKey, nil, "", 404, "not_found", ""},
		{"a wrong method is 405", "PUT", "/v1/accounts", storeKey, nil, "", 405, "method_not_allowed", ""},
		{"a missing token is 401", "GET", "/v1/accounts/" + id, "", nil, "", 401, "unauthenticated", ""},
		{"an unknown token is 401", "GET", "/v1/accounts/" + id, "nope-nope-nope-nope", nil, "", 401, "unauthenticated", ""},
		{"an unknown id is 404", "GET", "/v1/accounts/00000000-0000-0000-0000-000000000000", storeKey, nil, "", 404, "not_found", ""},
		{"a malformed id is 404", "GET", "/v1/accounts/%00x", storeKey, nil, "", 404, "not_found", ""},
		{"an unknown id's patch is 404", "PATCH", "/v1/accounts/nope", storeKey, map[string]any{"name": "X"}, "", 404, "not_found", ""},
		{"a bad limit is 400", "GET", "/v1/accounts/" + id + "/licenses?limit=501", storeKey, nil, "", 400, "bad_request", ""},
		{"a bad cursor is 400", "GET", "/v1/accounts/" + id + "/licenses?cursor=%21%21", storeKey, nil, "", 400, "bad_request", ""},
	}
	before := e.do("GET", "/v1/accounts/"+id, storeKey, nil).body
	registered := func() float64 {
		return e.do("GET", "/v1/stats", adminKey, nil).json(t)["accounts"].(map[string]any)["registered"].(float64)
	}
	n := registered()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := e.with(t)
			var headers []string
			if tc.ctype != "" {
				headers = []string{"Content-Type", tc.ctype}
			}
			r := e.do(tc.method, tc.path, tc.token, tc.body, headers...)
			if r.status != tc.status || r.code(t) != tc.code {
				t.Fatalf("got %d %s, want %d %s: %s", r.status, r.code(t), tc.status, tc.code, r.body)
			}
			if tc.field != "" {
				errs, _ := r.json(t)["errors"].([]any)
				if len(errs) == 0 || errs[0].(map[string]any)["field"] != tc.field {
					t.Fatalf("errors = %v, want field %s", errs, tc.field)
				}
			}
			if tc.status == http.StatusMethodNotAllowed && !strings.Contains(r.header.Get("Allow"), "POST") {
				t.Fatalf("Allow = %q", r.header.Get("Allow"))
			}
			if got := registered(); got != n {
				t.Fatalf("accounts registered %v, want %v", got, n)
			}
			if after := e.do("GET", "/v1/accounts/"+id, storeKey, nil).body; string(after) != string(before) {
				t.Fatalf("account changed:\n%s\n%s", before, after)
			}
		})
	}
}

// TestIdempotencyKey checks that a repeat returns the first response, that
// another request with the key is refused, and that keys are per caller.
func TestIdempotencyKey(t *testing.T) {
	e := newEnv(t, generousLimits)
	body := map[string]any{"name": "Idem Potent", "email": "idem@example.com", "password": "idem password"}
	first := e.do("POST", "/v1/accounts", storeKey, body, "Idempotency-Key", "k1")
	if first.status != 201 {
		t.Fatalf("first: %d %s", first.status, first.body)
	}
	tests := []struct {
		name   string
		token  string
		key    string
		body   any
		status int
		same   bool
	}{
		{"a repeat returns the first response", storeKey, "k1", body, 201, true},
		{"another body with the key is 422", storeKey, "k1", map[string]any{"name": "Other", "email": "other@example.com", "password": "other password"}, 422, false},
		{"another caller's key is its own", adminKey, "k1", body, 409, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.with(t).do("POST", "/v1/accounts", tc.token, tc.body, "Idempotency-Key", tc.key)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.same && (string(r.body) != string(first.body) || r.header.Get("Location") != first.header.Get("Location")) {
				t.Fatalf("repeat differs:\n%s\n%s", first.body, r.body)
			}
			if tc.status == 422 && r.code(t) != "idempotency_key_reused" {
				t.Fatalf("code %s", r.code(t))
			}
		})
	}
	if n := e.do("GET", "/v1/stats", adminKey, nil).json(t)["accounts"].(map[string]any)["registered"].(float64); n != 1 {
		t.Fatalf("%v accounts registered, want 1", n)
	}
}

// TestIdempotencyRecordIsShreddedWithItsSubject: a recorded sign-up
// response is about the person; after their erasure a repeat neither
// returns it nor runs again (which would bring the person back): 409.
func TestIdempotencyRecordIsShreddedWithItsSubject(t *testing.T) {
	e := newEnv(t, generousLimits)
	body := map[string]any{"name": "Shred Me", "email": "shred@example.com", "password": "shred password"}
	first := e.do("POST", "/v1/accounts", storeKey, body, "Idempotency-Key", "k")
	id := first.json(t)["id"].(string)
	if r := e.do("DELETE", "/v1/accounts/"+id, storeKey, nil); r.status != 200 {
		t.Fatalf("erase: %d %s", r.status, r.body)
	}
	again := e.do("POST", "/v1/accounts", storeKey, body, "Idempotency-Key", "k")
	if again.status != 409 || again.code(t) != "conflict" || strings.Contains(string(again.body), id) {
		t.Fatalf("after erasure: %d %s, want 409 conflict", again.status, again.body)
	}
	if n := e.do("GET", "/v1/stats", adminKey, nil).json(t)["accounts"].(map[string]any)["registered"].(float64); n != 1 {
		t.Fatalf("%v accounts registered, want 1: the retry made the person again", n)
	}
}

// TestIdempotencyRecordsExpire: after 24 hours a key answers nothing any
// more, and the request runs again.
func TestIdempotencyRecordsExpire(t *testing.T) {
	e := newEnv(t, generousLimits)
	su := map[string]any{"name": "Ex Pire", "email": "expire@example.com", "password": "expire password"}
	if r := e.do("POST", "/v1/accounts", storeKey, su, "Idempotency-Key", "s"); r.status != 201 {
		t.Fatalf("sign-up: %d", r.status)
	}
	e.clock.advance(23 * time.Hour)
	if r := e.do("POST", "/v1/accounts", storeKey, su, "Idempotency-Key", "s"); r.status != 201 || r.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("within 24 h: %d %v", r.status, r.header)
	}
	e.clock.advance(2 * time.Hour)
	if r := e.do("POST", "/v1/accounts", storeKey, su, "Idempotency-Key", "s"); r.status != 409 || r.code(t) != "email_taken" {
		t.Fatalf("after 24 h the request must run again (and find the address taken): %d %s", r.status, r.body)
	}
}
