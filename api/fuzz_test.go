package api_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzBodies sends arbitrary bodies to every account and session route
// that takes one. Whatever comes in, the answer is never a 5xx, an error
// is problem+json with a code, and a success is JSON (or empty for 204).
// The seed corpus is in testdata/fuzz/FuzzBodies; make test fuzzes for a
// few seconds.
func FuzzBodies(f *testing.F) {
	f.Add(uint8(0), []byte(`{"name":"A","email":"a@example.com","password":"long enough pw"}`))
	f.Add(uint8(1), []byte(`{"name":"B","company":"C","marketing_consent":true}`))
	f.Add(uint8(2), []byte(`{"current_password":"x","new_password":"long enough pw"}`))
	f.Add(uint8(3), []byte(`{"email":"a@example.com","password":"long enough pw"}`))
	f.Add(uint8(4), []byte(`{"email":"a@example.com"}`))
	f.Add(uint8(5), []byte(`{"token":"slr_x","new_password":"long enough pw"}`))
	f.Add(uint8(0), []byte(`{"name":5}`))
	f.Add(uint8(1), []byte(`{"email":null,"name":"\u0000"}`))
	base := newEnv(f, generousLimits)
	id := base.signUp("Fuzz Target", "fuzz@example.com", "fuzz password")
	token := base.signIn("fuzz@example.com", "fuzz password")
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		e := base.with(t)
		routes := []struct{ method, path, token string }{
			{"POST", "/v1/accounts", storeKey},
			{"PATCH", "/v1/accounts/" + id, token},
			{"PUT", "/v1/accounts/" + id + "/password", storeKey},
			{"POST", "/v1/sessions", ""},
			{"POST", "/v1/password-resets", ""},
			{"POST", "/v1/password-resets/confirm", ""},
		}
		r := routes[int(route)%len(routes)]
		res := e.do(r.method, r.path, r.token, body)
		switch {
		case res.status >= 500 && res.status != 503:
			t.Fatalf("%s %s %q: %d %s", r.method, r.path, body, res.status, res.body)
		case res.status >= 400:
			if res.code(t) == "" {
				t.Fatalf("%s %s: problem without code: %s", r.method, r.path, res.body)
			}
		case res.status == 204:
		default:
			if !json.Valid(res.body) || !strings.HasPrefix(res.header.Get("Content-Type"), "application/json") {
				t.Fatalf("%s %s: %d %q", r.method, r.path, res.status, res.body)
			}
		}
	})
}
