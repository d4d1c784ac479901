package test

import (
	"net/http"
	"strings"
	"testing"
)

// TestAffiliates registers an affiliate, reads it and its reports (JSON
// and CSV) with its own key, checks the report range, and erases it.
// Sales rows come with the Stripe webhooks; the rows' figures are tested in
// api/affiliates_test.go.
func TestAffiliates(t *testing.T) {
	v := newValidator(t)
	srv := startServer(t, v, options{})
	c := srv.client(t)
	name := secret("affiliate name", "Pat Partner "+randHex(4))
	email := secret("affiliate e-mail", "pat.partner."+randHex(4)+"@example.com")
	var aff struct {
		ID     string `json:"id"`
		Code   string `json:"code"`
		APIKey string `json:"api_key"`
	}
	c.do(http.MethodPost, "/v1/affiliates", srv.storeKey, map[string]any{"name": name, "email": email, "commission_rate_bps": 2000}).want(http.StatusForbidden)
	c.do(http.MethodPost, "/v1/affiliates", srv.adminKey, map[string]any{"name": name, "email": email, "commission_rate_bps": 2000, "recurring_months": 12}).
		want(http.StatusCreated).json(&aff)
	secret("affiliate key", aff.APIKey)
	if aff.ID == "" || aff.Code == "" || !strings.HasPrefix(aff.APIKey, "sla_") {
		t.Fatalf("affiliate %+v", aff)
	}
	var other struct {
		ID     string `json:"id"`
		APIKey string `json:"api_key"`
	}
	c.do(http.MethodPost, "/v1/affiliates", srv.adminKey, map[string]any{"name": secret("affiliate name", "Other "+randHex(4)), "email": secret("affiliate e-mail", "other."+randHex(4)+"@example.com"), "commission_rate_bps": 100}).
		want(http.StatusCreated).json(&other)
	secret("affiliate key", other.APIKey)

	t.Run("an affiliate reads itself, not another", func(t *testing.T) {
		c := srv.client(t)
		if got := c.do(http.MethodGet, "/v1/affiliates/"+aff.ID, aff.APIKey, nil).want(http.StatusOK); strings.Contains(string(got.Body), aff.APIKey) {
			t.Error("the key is shown again")
		}
		c.do(http.MethodGet, "/v1/affiliates/"+aff.ID, other.APIKey, nil).want(http.StatusNotFound)
		c.do(http.MethodGet, "/v1/affiliates/"+aff.ID+"/reports/sales?from=2026-01-01&to=2027-01-01", other.APIKey, nil).want(http.StatusNotFound)
	})
	t.Run("reports come as JSON and CSV", func(t *testing.T) {
		c := srv.client(t)
		q := "?from=2026-01-01&to=2027-01-01"
		if got := c.do(http.MethodGet, "/v1/affiliates/"+aff.ID+"/reports/sales"+q, aff.APIKey, nil).want(http.StatusOK); strings.TrimSpace(string(got.Body)) != `{"data":[]}` {
			t.Errorf("sales: %s", got.Body)
		}
		c.do(http.MethodGet, "/v1/affiliates/"+aff.ID+"/reports/summary"+q, aff.APIKey, nil).want(http.StatusOK)
		csv := c.do(http.MethodGet, "/v1/affiliates/"+aff.ID+"/reports/sales"+q+"&format=csv", aff.APIKey, nil).want(http.StatusOK)
		if !strings.HasPrefix(string(csv.Body), "occurred_at,sale_id,kind,product_id,amount,currency,commission_amount,commission_status") {
			t.Errorf("sales CSV: %s", csv.Body)
		}
		sum := c.do(http.MethodGet, "/v1/affiliates/"+aff.ID+"/reports/summary"+q, srv.adminKey, nil, "Accept", "text/csv").want(http.StatusOK)
		if !strings.HasPrefix(string(sum.Body), "period,sales,gross_amount,commission_amount,reversed_amount,net_commission_amount,currency") {
			t.Errorf("summary CSV: %s", sum.Body)
		}
		c.do(http.MethodGet, "/v1/affiliates/"+aff.ID+"/reports/sales?from=2026-02-01&to=2026-01-01", aff.APIKey, nil).problem(http.StatusUnprocessableEntity, "validation_failed")
		c.do(http.MethodGet, "/v1/affiliates/"+aff.ID+"/reports/summary?from=2026-02-01", aff.APIKey, nil).problem(http.StatusUnprocessableEntity, "validation_failed")
	})
	t.Run("an erased affiliate's key stops and its name goes", func(t *testing.T) {
		c := srv.client(t)
		c.do(http.MethodDelete, "/v1/affiliates/"+aff.ID, aff.APIKey, nil).want(http.StatusOK)
		c.do(http.MethodGet, "/v1/affiliates/"+aff.ID, aff.APIKey, nil).problem(http.StatusUnauthorized, "unauthenticated")
		got := c.do(http.MethodGet, "/v1/affiliates/"+aff.ID, srv.adminKey, nil).want(http.StatusOK)
		if strings.Contains(string(got.Body), name) || strings.Contains(string(got.Body), email) {
			t.Errorf("erased affiliate: %s", got.Body)
		}
	})
}
