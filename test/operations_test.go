package test

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aseptsoft/subledger/api/openapitest"
)

func TestOperations(t *testing.T) {
	v := newValidator(t)
	srv := startServer(t, v, options{})
	c := srv.client(t)
	p, other := newPerson("ops"), newPerson("ops-other")
	c.signUp(p)
	c.signUp(other)
	c.signIn(p)
	c.signIn(other)
	c.do(http.MethodPatch, "/v1/accounts/"+p.ID, p.Token, map[string]any{"company": secret("company", "Ops Renamed "+randHex(4))}).want(http.StatusOK)

	t.Run("healthz_and_readyz", func(t *testing.T) {
		c := srv.client(t)
		c.do(http.MethodGet, "/healthz", "", nil).want(http.StatusOK)
		var r struct {
			Status   string `json:"status"`
			Position uint64 `json:"position"`
			Lag      uint64 `json:"lag"`
		}
		c.do(http.MethodGet, "/readyz", "", nil).want(http.StatusOK).json(&r)
		if r.Status != "ready" || r.Position == 0 || r.Lag != 0 {
			t.Errorf("readyz %+v", r)
		}
	})

	t.Run("openapi_document_is_the_one_in_the_tree", func(t *testing.T) {
		c := srv.client(t)
		res := c.do(http.MethodGet, "/openapi.json", "", nil).want(http.StatusOK)
		path, err := openapitest.DocPath()
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(res.Body, want) {
			t.Errorf("the served document (%d bytes) is not %s (%d bytes)", len(res.Body), filepath.Base(path), len(want))
		}
	})

	t.Run("metrics", func(t *testing.T) {
		c := srv.client(t)
		res := c.do(http.MethodGet, "/metrics", "", nil).want(http.StatusOK)
		body := string(res.Body)
		for _, m := range []string{"subledger_http_request_duration_seconds", "subledger_store_append_duration_seconds", "subledger_projection_lag_events", `route="/v1/accounts/:id"`} {
			if !strings.Contains(body, m) {
				t.Errorf("/metrics lacks %s", m)
			}
		}
		for val, what := range secretsSnapshot() {
			if strings.Contains(body, val) {
				t.Errorf("/metrics holds a %s", what)
			}
		}
		if strings.Contains(body, p.ID) {
			t.Errorf("/metrics holds an account id")
		}
	})

	t.Run("products", func(t *testing.T) {
		c := srv.client(t)
		var l struct {
			Data []struct {
				ID       string `json:"id"`
				Kind     string `json:"kind"`
				Amount   int64  `json:"amount"`
				Currency string `json:"currency"`
			} `json:"data"`
		}
		c.do(http.MethodGet, "/v1/products", "", nil).want(http.StatusOK).json(&l)
		if len(l.Data) == 0 {
			t.Fatal("no products")
		}
		for _, pr := range l.Data {
			if pr.ID == "" || (pr.Kind != "license" && pr.Kind != "plan") || len(pr.Currency) != 3 {
				t.Errorf("product %+v", pr)
			}
		}
	})

	t.Run("license_public_key", func(t *testing.T) {
		c := srv.client(t)
		var k struct {
			Algorithm string `json:"algorithm"`
			PublicKey string `json:"public_key"`
		}
		c.do(http.MethodGet, "/v1/license-keys/public-key", "", nil).want(http.StatusOK).json(&k)
		if raw, err := base64.StdEncoding.DecodeString(k.PublicKey); err != nil || len(raw) != 32 || k.Algorithm != "Ed25519" {
			t.Errorf("public key %+v (%v)", k, err)
		}
	})

	t.Run("stats", func(t *testing.T) {
		c := srv.client(t)
		st := c.stats()
		if st.Accounts["registered"] != 2 || st.Accounts["active"] != 2 || st.Position == 0 {
			t.Errorf("stats %+v", st)
		}
		res := c.do(http.MethodGet, statsPath(), srv.adminKey, nil).want(http.StatusOK)
		for val, what := range secretsSnapshot() {
			if bytes.Contains(res.Body, []byte(val)) {
				t.Errorf("/v1/stats holds a %s", what)
			}
		}
		if bytes.Contains(res.Body, []byte(p.ID)) {
			t.Errorf("/v1/stats holds an account id")
		}
		c.do(http.MethodGet, "/v1/stats?from=yesterday", srv.adminKey, nil).problem(http.StatusBadRequest, "bad_request")
		c.do(http.MethodGet, "/v1/stats?from=2026-02-01&to=2026-01-01", srv.adminKey, nil).problem(http.StatusBadRequest, "bad_request")
	})

	t.Run("account_events", func(t *testing.T) {
		c := srv.client(t)
		type events struct {
			Data []struct {
				ID      string `json:"id"`
				Type    string `json:"type"`
				Version int64  `json:"version"`
			} `json:"data"`
			NextCursor string `json:"next_cursor"`
		}
		var all events
		res := c.do(http.MethodGet, "/v1/accounts/"+p.ID+"/events", srv.adminKey, nil).want(http.StatusOK)
		res.json(&all)
		if len(all.Data) < 2 || all.NextCursor != "" {
			t.Fatalf("events %s", res.Body)
		}
		if bytes.Contains(res.Body, []byte("$argon2")) || bytes.Contains(res.Body, []byte(p.Password)) {
			t.Errorf("the history holds the password or its hash")
		}
		// One at a time with the cursor: the same events in the same order.
		var paged []string
		cursor := ""
		for range len(all.Data) + 2 {
			var page events
			path := "/v1/accounts/" + p.ID + "/events?limit=1"
			if cursor != "" {
				path += "&cursor=" + cursor
			}
			c.do(http.MethodGet, path, srv.adminKey, nil).want(http.StatusOK).json(&page)
			for _, e := range page.Data {
				paged = append(paged, e.ID)
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		var want []string
		for _, e := range all.Data {
			want = append(want, e.ID)
		}
		if strings.Join(paged, ",") != strings.Join(want, ",") {
			t.Errorf("paged events %v, want %v", paged, want)
		}
		c.do(http.MethodGet, "/v1/accounts/"+p.ID+"/events?limit=0", srv.adminKey, nil).problem(http.StatusBadRequest, "bad_request")
		c.do(http.MethodGet, "/v1/accounts/"+p.ID+"/events?limit=501", srv.adminKey, nil).problem(http.StatusBadRequest, "bad_request")
		c.do(http.MethodGet, "/v1/accounts/"+p.ID+"/events?cursor=nope", srv.adminKey, nil).problem(http.StatusBadRequest, "bad_request")
	})

	t.Run("licenses_and_subscriptions", func(t *testing.T) {
		c := srv.client(t)
		for _, kind := range []string{"licenses", "subscriptions"} {
			path := "/v1/accounts/" + p.ID + "/" + kind
			for _, tok := range []string{p.Token, srv.storeKey, srv.adminKey} {
				var l struct {
					Data       []any  `json:"data"`
					NextCursor string `json:"next_cursor"`
				}
				c.do(http.MethodGet, path, tok, nil).want(http.StatusOK).json(&l)
				if l.Data == nil || len(l.Data) != 0 {
					t.Errorf("%s: data %v, want []", path, l.Data)
				}
			}
			c.do(http.MethodGet, path+"?limit=10", p.Token, nil).want(http.StatusOK)
			c.do(http.MethodGet, path, other.Token, nil).problem(http.StatusNotFound, "not_found")
			c.do(http.MethodGet, path, "", nil).problem(http.StatusUnauthorized, "unauthenticated")
			c.do(http.MethodGet, path+"?limit=0", srv.adminKey, nil).problem(http.StatusBadRequest, "bad_request")
			c.do(http.MethodGet, path+"?limit=abc", srv.adminKey, nil).problem(http.StatusBadRequest, "bad_request")
			c.do(http.MethodGet, path+"?cursor=not-a-cursor", srv.adminKey, nil).problem(http.StatusBadRequest, "bad_request")
		}
		// Nobody has a license or subscription yet: every id is unknown.
		for _, tok := range []string{p.Token, srv.storeKey, srv.adminKey} {
			c.do(http.MethodGet, "/v1/licenses/lic_"+randHex(8), tok, nil).problem(http.StatusNotFound, "not_found")
			c.do(http.MethodGet, "/v1/subscriptions/sub_"+randHex(8), tok, nil).problem(http.StatusNotFound, "not_found")
		}
		c.do(http.MethodGet, "/v1/licenses/lic_x", "", nil).problem(http.StatusUnauthorized, "unauthenticated")
		c.do(http.MethodGet, "/v1/subscriptions/sub_x", "", nil).problem(http.StatusUnauthorized, "unauthenticated")
	})

	t.Run("request_id", func(t *testing.T) {
		c := srv.client(t)
		res := c.do(http.MethodGet, "/healthz", "", nil, "X-Request-Id", "e2e-"+randHex(6))
		if got := res.Header.Get("X-Request-Id"); !strings.HasPrefix(got, "e2e-") {
			t.Errorf("a plain X-Request-Id is not kept: %q", got)
		}
		res = c.do(http.MethodGet, "/v1/nope", "", nil, "X-Request-Id", "bad id with spaces")
		if got := res.Header.Get("X-Request-Id"); got == "" || strings.Contains(got, " ") {
			t.Errorf("X-Request-Id %q", got)
		}
		pr := res.problem(http.StatusNotFound, "not_found")
		if pr.RequestID != res.Header.Get("X-Request-Id") {
			t.Errorf("problem request_id %q, header %q", pr.RequestID, res.Header.Get("X-Request-Id"))
		}
	})
}
