package openapitest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
)

// recorder is a testing.TB that captures Errorf/Error calls instead of
// failing the test, so that a test can assert the Validator reported.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) Error(args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprint(args...))
}

func (r *recorder) Helper() {}

func (r *recorder) errors() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.errs)
}

// canned is one response the fake server gives.
type canned struct {
	status int
	ct     string
	body   string
	header map[string]string
}

const account = `{
	"id": "acc_1", "status": "active", "name": "Ada", "company": "", "email": "ada@example.com",
	"marketing_consent": false, "marketing_consent_at": null,
	"created_at": "2024-05-01T12:00:00Z", "updated_at": "2024-05-01T12:00:00Z", "erased_at": null
}`

const erasedAccount = `{
	"id": "acc_1", "status": "erased", "name": null, "company": null, "email": null,
	"marketing_consent": false, "marketing_consent_at": null,
	"created_at": "2024-05-01T12:00:00Z", "updated_at": "2024-05-02T12:00:00Z", "erased_at": "2024-05-02T12:00:00Z"
}`

func problem(status int, code string) string {
	b, _ := json.Marshal(map[string]any{
		"type": "about:blank", "title": http.StatusText(status), "status": status,
		"detail": "canned", "code": code, "request_id": "req_1",
	})
	return string(b)
}

const (
	ctJSON    = "application/json; charset=utf-8"
	ctProblem = "application/problem+json"
)

// exchange runs one request through a Validator against a server giving res,
// and returns what the Validator reported.
func exchange(t *testing.T, method, path, reqCT, reqBody string, auth bool, res canned) ([]string, *Validator) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		for k, v := range res.header {
			w.Header().Set(k, v)
		}
		if res.ct != "" {
			w.Header().Set("Content-Type", res.ct)
		}
		w.Header().Set("X-Request-Id", "req_1")
		w.WriteHeader(res.status)
		io.WriteString(w, res.body)
	}))
	defer srv.Close()

	rec := &recorder{TB: t}
	v := New(rec)
	var body io.Reader
	if reqBody != "" {
		body = strings.NewReader(reqBody)
	}
	req, err := http.NewRequest(method, srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if reqCT != "" {
		req.Header.Set("Content-Type", reqCT)
	}
	if auth {
		req.Header.Set("Authorization", "Bearer k")
	}
	resp, err := v.Client().Do(req)
	if err != nil {
		t.Fatalf("transport error: %v", err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != res.body {
		t.Fatalf("the caller got body %q, want %q", got, res.body)
	}
	return rec.errors(), v
}

func TestExchanges(t *testing.T) {
	csv := "account_id,name,email,consent_at\r\nacc_1,Ada,ada@example.com,2024-05-01T12:00:00Z\r\n"
	cases := []struct {
		name         string
		method, path string
		reqCT, body  string
		auth         bool
		res          canned
		wantErr      string // "" means no report; else a substring of a report
	}{
		{name: "conforming account passes", method: "GET", path: "/v1/accounts/acc_1", auth: true,
			res: canned{status: 200, ct: ctJSON, body: account}},
		{name: "erased account with nulls passes", method: "GET", path: "/v1/accounts/acc_1", auth: true,
			res: canned{status: 200, ct: ctJSON, body: erasedAccount}},
		{name: "extra field on account fails", method: "GET", path: "/v1/accounts/acc_1", auth: true,
			res:     canned{status: 200, ct: ctJSON, body: strings.Replace(account, `"id"`, `"password_hash": "x", "id"`, 1)},
			wantErr: "password_hash"},
		{name: "missing required field fails", method: "GET", path: "/v1/accounts/acc_1", auth: true,
			res:     canned{status: 200, ct: ctJSON, body: strings.Replace(account, `, "erased_at": null`, ``, 1)},
			wantErr: "erased_at"},
		{name: "null where not nullable fails", method: "GET", path: "/v1/accounts/acc_1", auth: true,
			res:     canned{status: 200, ct: ctJSON, body: strings.Replace(account, `"status": "active"`, `"status": null`, 1)},
			wantErr: "GET /v1/accounts/acc_1 -> 200"},
		{name: "non-UTC time fails", method: "GET", path: "/v1/accounts/acc_1", auth: true,
			res:     canned{status: 200, ct: ctJSON, body: strings.Replace(account, `"created_at": "2024-05-01T12:00:00Z"`, `"created_at": "2024-05-01T14:00:00+02:00"`, 1)},
			wantErr: "created_at"},
		{name: "wrong success status fails", method: "POST", path: "/v1/accounts", reqCT: "application/json", body: `{}`, auth: true,
			res:     canned{status: 200, ct: ctJSON, body: account, header: map[string]string{"Location": "/v1/accounts/acc_1"}},
			wantErr: "POST /v1/accounts -> 200"},
		{name: "created account passes", method: "POST", path: "/v1/accounts", reqCT: "application/json", body: `{"name": ""}`, auth: true,
			res: canned{status: 201, ct: ctJSON, body: account, header: map[string]string{"Location": "/v1/accounts/acc_1"}}},
		{name: "created account without Location fails", method: "POST", path: "/v1/accounts", reqCT: "application/json", body: `{}`, auth: true,
			res:     canned{status: 201, ct: ctJSON, body: account},
			wantErr: "Location"},
		{name: "documented error passes", method: "POST", path: "/v1/accounts", reqCT: "application/json", body: `{"name": 1}`, auth: true,
			res: canned{status: 422, ct: ctProblem, body: `{"type":"about:blank","title":"Unprocessable","status":422,"detail":"d","code":"validation_failed","errors":[{"field":"name","code":"invalid"}]}`}},
		{name: "error that is not a problem fails", method: "GET", path: "/v1/accounts/nope", auth: true,
			res:     canned{status: 404, ct: ctJSON, body: `{"message":"Not Found"}`},
			wantErr: "GET /v1/accounts/nope -> 404"},
		{name: "problem status differing from HTTP status fails", method: "GET", path: "/v1/accounts/nope", auth: true,
			res:     canned{status: 404, ct: ctProblem, body: problem(400, "not_found")},
			wantErr: "differs"},
		{name: "problem without code fails", method: "GET", path: "/v1/accounts/nope", auth: true,
			res:     canned{status: 404, ct: ctProblem, body: `{"type":"about:blank","title":"Not Found","status":404,"detail":"d"}`},
			wantErr: "code"},
		{name: "unknown route with 404 problem passes", method: "GET", path: "/v1/nowhere",
			res: canned{status: 404, ct: ctProblem, body: problem(404, "not_found")}},
		{name: "unknown route with a non-problem 404 fails", method: "GET", path: "/v1/nowhere",
			res:     canned{status: 404, ct: ctJSON, body: `{"message":"Not Found"}`},
			wantErr: "application/problem+json"},
		{name: "unknown route answered 200 fails", method: "GET", path: "/v1/nowhere",
			res:     canned{status: 200, ct: ctJSON, body: `{}`},
			wantErr: "undocumented operation"},
		{name: "undocumented method with 405 and Allow passes", method: "PUT", path: "/v1/accounts/acc_1", auth: true,
			res: canned{status: 405, ct: ctProblem, body: problem(405, "method_not_allowed"), header: map[string]string{"Allow": "GET, PATCH, DELETE"}}},
		{name: "405 without Allow fails", method: "PUT", path: "/v1/accounts/acc_1", auth: true,
			res:     canned{status: 405, ct: ctProblem, body: problem(405, "method_not_allowed")},
			wantErr: "Allow"},
		{name: "405 whose Allow lacks a documented method fails", method: "PUT", path: "/v1/accounts/acc_1", auth: true,
			res:     canned{status: 405, ct: ctProblem, body: problem(405, "method_not_allowed"), header: map[string]string{"Allow": "GET"}},
			wantErr: "DELETE, PATCH"},
		{name: "missing token answered 401 passes", method: "GET", path: "/v1/accounts/acc_1",
			res: canned{status: 401, ct: ctProblem, body: problem(401, "unauthenticated")}},
		{name: "missing token answered 200 fails", method: "GET", path: "/v1/accounts/acc_1",
			res:     canned{status: 200, ct: ctJSON, body: account},
			wantErr: "accepted a request the document rejects"},
		{name: "public route without token passes", method: "GET", path: "/v1/products",
			res: canned{status: 200, ct: ctJSON, body: `{"data":[{"id":"p1","name":"Pro","kind":"plan","stripe_price_id":"price_1","amount":900,"currency":"eur","interval":"month"}]}`}},
		{name: "bad limit answered 400 passes", method: "GET", path: "/v1/accounts/acc_1/licenses?limit=0", auth: true,
			res: canned{status: 400, ct: ctProblem, body: problem(400, "malformed_json")}},
		{name: "bad limit answered 200 fails", method: "GET", path: "/v1/accounts/acc_1/licenses?limit=501", auth: true,
			res:     canned{status: 200, ct: ctJSON, body: `{"data":[],"next_cursor":""}`},
			wantErr: "limit"},
		{name: "empty page passes", method: "GET", path: "/v1/accounts/acc_1/licenses?limit=10&cursor=", auth: true,
			res: canned{status: 200, ct: ctJSON, body: `{"data":[],"next_cursor":""}`}},
		{name: "text body answered 415 passes", method: "POST", path: "/v1/sessions", reqCT: "text/plain", body: "hi",
			res: canned{status: 415, ct: ctProblem, body: problem(415, "unsupported_media_type")}},
		{name: "text body answered 201 fails", method: "POST", path: "/v1/sessions", reqCT: "text/plain", body: "hi",
			res:     canned{status: 201, ct: ctJSON, body: `{"token":"t","account_id":"acc_1","expires_at":"2024-05-01T12:00:00Z"}`},
			wantErr: "Content-Type"},
		{name: "429 with Retry-After passes", method: "POST", path: "/v1/sessions", reqCT: "application/json", body: `{}`,
			res: canned{status: 429, ct: ctProblem, body: problem(429, "rate_limited"), header: map[string]string{"Retry-After": "30"}}},
		{name: "429 without Retry-After fails", method: "POST", path: "/v1/sessions", reqCT: "application/json", body: `{}`,
			res:     canned{status: 429, ct: ctProblem, body: problem(429, "rate_limited")},
			wantErr: "Retry-After"},
		{name: "erasure passes", method: "DELETE", path: "/v1/accounts/acc_1", auth: true,
			res: canned{status: 200, ct: ctJSON, body: `{"id":"acc_1","status":"erased","erased_at":"2024-05-02T12:00:00Z"}`}},
		{name: "password change 204 passes", method: "PUT", path: "/v1/accounts/acc_1/password", reqCT: "application/json", body: `{"new_password":"x"}`, auth: true,
			res: canned{status: 204}},
		{name: "password reset 202 passes", method: "POST", path: "/v1/password-resets", reqCT: "application/json", body: `{"email":"a@b"}`,
			res: canned{status: 202, ct: ctJSON, body: `{"accepted":true}`}},
		{name: "marketing CSV passes", method: "GET", path: "/v1/marketing/recipients?format=csv", auth: true,
			res: canned{status: 200, ct: "text/csv; charset=utf-8", body: csv}},
		{name: "marketing CSV without header row fails", method: "GET", path: "/v1/marketing/recipients?format=csv", auth: true,
			res:     canned{status: 200, ct: "text/csv", body: "acc_1,Ada,ada@example.com,2024-05-01T12:00:00Z\r\n"},
			wantErr: "GET /v1/marketing/recipients?format=csv -> 200"},
		{name: "readyz catching up passes", method: "GET", path: "/readyz",
			res: canned{status: 503, ct: ctJSON, body: `{"status":"catching up","position":3,"lag":7}`}},
		{name: "readyz without position fails", method: "GET", path: "/readyz",
			res:     canned{status: 200, ct: ctJSON, body: `{"status":"ready"}`},
			wantErr: "position"},
		{name: "metrics passes", method: "GET", path: "/metrics",
			res: canned{status: 200, ct: "text/plain; version=0.0.4; charset=utf-8", body: "# HELP x\nx 1\n"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			errs, _ := exchange(t, c.method, c.path, c.reqCT, c.body, c.auth, c.res)
			if c.wantErr == "" {
				if len(errs) != 0 {
					t.Fatalf("the validator reported, want no report:\n%s", strings.Join(errs, "\n"))
				}
				return
			}
			if len(errs) == 0 {
				t.Fatalf("the validator reported nothing, want a report containing %q", c.wantErr)
			}
			joined := strings.Join(errs, "\n")
			if !strings.Contains(joined, c.wantErr) {
				t.Fatalf("the reports do not contain %q:\n%s", c.wantErr, joined)
			}
			if testing.Verbose() {
				t.Logf("reported:\n%s", joined)
			}
		})
	}
}

func TestCoverage(t *testing.T) {
	errs, v := exchange(t, "GET", "/v1/accounts/acc_1", "", "", true, canned{status: 200, ct: ctJSON, body: account})
	if len(errs) != 0 {
		t.Fatalf("unexpected reports: %v", errs)
	}
	const op = "GET /v1/accounts/{id}"
	covered := v.Covered()
	if !covered[op] {
		t.Errorf("Covered()[%q] = false after a request to it", op)
	}
	if seen, ok := covered["GET /healthz"]; !ok || seen {
		t.Errorf(`Covered()["GET /healthz"] = %v, %v; want false, true`, seen, ok)
	}
	unc := v.Uncovered()
	if slices.Contains(unc, op) {
		t.Errorf("Uncovered() lists %q, which was exercised", op)
	}
	if len(unc) != len(v.Operations())-1 {
		t.Errorf("Uncovered() has %d operations, want %d", len(unc), len(v.Operations())-1)
	}
	ur := v.UncoveredResponses()
	if slices.Contains(ur, op+" 200") || !slices.Contains(ur, op+" 404") {
		t.Errorf("UncoveredResponses() = %v: want %q absent and %q present", ur, op+" 200", op+" 404")
	}
}

// TestDocument checks the document validates and keeps the conventions the
// brief asks of it.
func TestDocument(t *testing.T) {
	doc, err := LoadDoc()
	if err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" || doc.Info.Title != "subledger" || doc.Info.Version != "1" {
		t.Errorf("openapi %q, info %q %q; want 3.1.0 subledger 1", doc.OpenAPI, doc.Info.Title, doc.Info.Version)
	}
	want := []string{
		"DELETE /v1/accounts/{id}", "DELETE /v1/affiliates/{id}", "DELETE /v1/sessions/current",
		"GET /healthz", "GET /metrics", "GET /openapi.json", "GET /readyz",
		"GET /v1/accounts/{id}", "GET /v1/accounts/{id}/events", "GET /v1/accounts/{id}/export",
		"GET /v1/accounts/{id}/licenses", "GET /v1/accounts/{id}/subscriptions",
		"GET /v1/affiliates/{id}", "GET /v1/affiliates/{id}/reports/sales", "GET /v1/affiliates/{id}/reports/summary",
		"GET /v1/license-keys/public-key", "GET /v1/licenses/{id}", "GET /v1/marketing/recipients",
		"GET /v1/products", "GET /v1/stats", "GET /v1/subscriptions/{id}",
		"PATCH /v1/accounts/{id}", "POST /v1/accounts", "POST /v1/affiliate-portal-links", "POST /v1/affiliates", "POST /v1/checkout-sessions", "POST /v1/password-resets",
		"POST /v1/password-resets/confirm", "POST /v1/portal-sessions", "POST /v1/sessions", "POST /v1/subscriptions/{id}/cancel", "POST /v1/subscriptions/{id}/reactivate", "POST /v1/webhooks/stripe", "PUT /v1/accounts/{id}/password",
	}
	v, err := NewFromDoc(t, doc)
	if err != nil {
		t.Fatal(err)
	}
	if got := v.Operations(); !slices.Equal(got, want) {
		t.Errorf("operations:\n got %v\nwant %v", got, want)
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := method + " " + path
			if op.OperationID == "" {
				t.Errorf("%s: no operationId", where)
			}
			def := op.Responses.Default()
			if def == nil || def.Value.Content.Get("application/problem+json") == nil {
				t.Errorf("%s: no default problem+json response", where)
			}
			for code, r := range op.Responses.Map() {
				if r.Value.Headers["X-Request-Id"] == nil {
					t.Errorf("%s %s: no X-Request-Id header", where, code)
				}
				if code >= "400" && code != "default" && where != "GET /readyz" {
					if len(r.Value.Content) != 1 || r.Value.Content["application/problem+json"] == nil {
						t.Errorf("%s %s: error content is not only application/problem+json", where, code)
					}
				}
			}
			// Stripe's deliveries take neither an Idempotency-Key (each event
			// is recorded once by its id) nor a content type other than the
			// raw body it signed.
			raw := where == "POST /v1/webhooks/stripe"
			// A portal link's answer holds its token, which is kept only as
			// a hash, so it is never recorded for Idempotency-Key.
			if method == http.MethodPost && !raw && where != "POST /v1/portal-sessions" {
				if op.Parameters.GetByInAndName("header", "Idempotency-Key") == nil {
					t.Errorf("%s: no Idempotency-Key header parameter", where)
				}
			}
			if op.RequestBody != nil && !raw && op.Responses.Value("415") == nil {
				t.Errorf("%s: a body but no 415", where)
			}
		}
	}
	for _, name := range []string{"Account", "Session", "Product", "License", "Subscription", "ErasureResult", "PasswordResetAccepted"} {
		s := doc.Components.Schemas[name]
		if s == nil {
			t.Errorf("no schema %s", name)
			continue
		}
		if ap := s.Value.AdditionalProperties; ap.Has == nil || *ap.Has {
			t.Errorf("schema %s: additionalProperties is not false", name)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for name, doc := range map[string]string{
		"3.0":        `{"openapi":"3.0.3","info":{"title":"x","version":"1"},"paths":{}}`,
		"broken ref": `{"openapi":"3.1.0","info":{"title":"x","version":"1"},"paths":{"/a":{"get":{"responses":{"200":{"description":"ok","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Nope"}}}}}}}}}`,
		"no info":    `{"openapi":"3.1.0","paths":{}}`,
	} {
		if _, err := Parse([]byte(doc)); err == nil {
			t.Errorf("%s: Parse accepted an invalid document", name)
		}
	}
}
