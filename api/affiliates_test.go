package api_test

import (
	"context"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/aseptsoft/subledger/api"
	"github.com/aseptsoft/subledger/domain"
)

// TestAffiliateReports: a registered affiliate sees its sales and summary,
// in JSON and CSV, with figures computed by hand; the reports are byte for
// byte the same after the customer is erased and hold nothing of them.
func TestAffiliateReports(t *testing.T) {
	e := newEnv(t, generousLimits)
	ctx := context.Background()
	r := e.do("POST", "/v1/affiliates", adminKey, map[string]any{"name": "Pat Partner", "email": "pat.partner@example.com", "commission_rate_bps": 2500, "recurring_months": 3})
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	aff := r.json(t)
	affID, key := aff["id"].(string), aff["api_key"].(string)
	if !strings.HasPrefix(key, "sla_") || aff["code"] == "" {
		t.Fatalf("affiliate %v", aff)
	}
	if g := e.do("GET", "/v1/affiliates/"+affID, key, nil); g.status != 200 || strings.Contains(string(g.body), key) {
		t.Fatalf("get: %d %s", g.status, g.body)
	}
	buyer := e.signUp("Bea Buyer", "bea.buyer@example.com", "bea's password")
	at := time.Date(2026, 3, 15, 10, 0, 0, 0, time.UTC)
	for i, amount := range []int64{4900, 999} {
		_, res, err := e.svc.RecordCheckoutPaid(ctx, domain.RecordCheckoutPaid{SessionID: "cs_" + string(rune('a'+i)), PaymentIntentID: "pi_" + string(rune('a'+i)),
			AccountID: buyer, ProductID: "app-license", Quantity: 1, AffiliateID: affID, Amount: amount, Currency: "usd", OccurredAt: at.Add(time.Duration(i) * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.proj.WaitFor(ctx, res.Position); err != nil {
			t.Fatal(err)
		}
	}
	q := "?from=2026-03-01&to=2026-04-01"
	sales := e.do("GET", "/v1/affiliates/"+affID+"/reports/sales"+q, key, nil)
	salesCSV := e.do("GET", "/v1/affiliates/"+affID+"/reports/sales"+q+"&format=csv", key, nil)
	summary := e.do("GET", "/v1/affiliates/"+affID+"/reports/summary"+q, key, nil)
	summaryCSV := e.do("GET", "/v1/affiliates/"+affID+"/reports/summary"+q, key, nil, "Accept", "text/csv")
	rows, err := csv.NewReader(strings.NewReader(string(salesCSV.body))).ReadAll()
	if err != nil || salesCSV.header.Get("Content-Disposition") == "" {
		t.Fatalf("sales CSV: %v %v", err, salesCSV.header)
	}
	// 25% of 4900 is 1225; of 999, 249.75 rounded toward zero is 249.
	want := [][]string{
		{"occurred_at", "sale_id", "kind", "product_id", "amount", "currency", "commission_amount", "commission_status"},
		{"2026-03-15T10:00:00Z", rows[1][1], "sale", "app-license", "4900", "usd", "1225", rows[1][7]},
		{"2026-03-15T11:00:00Z", rows[2][1], "sale", "app-license", "999", "usd", "249", rows[2][7]},
	}
	if len(rows) != 3 || strings.Join(rows[0], ",") != strings.Join(want[0], ",") || strings.Join(rows[1], ",") != strings.Join(want[1], ",") || strings.Join(rows[2], ",") != strings.Join(want[2], ",") {
		t.Fatalf("sales CSV:\n%s", salesCSV.body)
	}
	if got := string(summaryCSV.body); !strings.Contains(got, "period,sales,gross_amount,commission_amount,reversed_amount,net_commission_amount,currency\n2026-03,2,5899,1474,0,1474,usd\n") {
		t.Fatalf("summary CSV:\n%s", got)
	}
	if !strings.Contains(string(summary.body), `"net_commission_amount":1474`) || !strings.Contains(string(sales.body), `"commission_amount":249`) {
		t.Fatalf("JSON reports:\n%s\n%s", summary.body, sales.body)
	}

	// The customer's erasure changes no byte of any report.
	if r := e.do("DELETE", "/v1/accounts/"+buyer, adminKey, nil); r.status != 200 {
		t.Fatalf("erase: %d", r.status)
	}
	for _, c := range []struct {
		name   string
		before response
		path   string
		accept string
	}{
		{"sales JSON", sales, "/reports/sales" + q, ""}, {"sales CSV", salesCSV, "/reports/sales" + q + "&format=csv", ""},
		{"summary JSON", summary, "/reports/summary" + q, ""}, {"summary CSV", summaryCSV, "/reports/summary" + q, "text/csv"},
	} {
		var h []string
		if c.accept != "" {
			h = []string{"Accept", c.accept}
		}
		after := e.do("GET", "/v1/affiliates/"+affID+c.path, adminKey, nil, h...)
		if string(after.body) != string(c.before.body) {
			t.Errorf("%s changed with the customer's erasure:\n%s\n%s", c.name, c.before.body, after.body)
		}
		for _, v := range []string{buyer, "Bea", "bea.buyer", "pi_", "cs_"} {
			if strings.Contains(string(after.body), v) {
				t.Errorf("%s holds %q", c.name, v)
			}
		}
	}

	// The affiliate's own erasure: its key stops working, its name goes,
	// its figures stay.
	if r := e.do("DELETE", "/v1/affiliates/"+affID, key, nil); r.status != 200 {
		t.Fatalf("erase affiliate: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/v1/affiliates/"+affID, key, nil); r.status != 401 {
		t.Fatalf("the erased affiliate's key still works: %d", r.status)
	}
	got := e.do("GET", "/v1/affiliates/"+affID, adminKey, nil).json(t)
	if got["name"] != nil || got["email"] != nil || got["erased_at"] == nil {
		t.Fatalf("erased affiliate reads %v", got)
	}
	if after := e.do("GET", "/v1/affiliates/"+affID+"/reports/summary"+q, adminKey, nil, "Accept", "text/csv"); string(after.body) != string(summaryCSV.body) {
		t.Fatalf("the affiliate's figures changed with its erasure:\n%s", after.body)
	}
}

func TestReportRangeIsChecked(t *testing.T) {
	e := newEnv(t)
	reg, res, err := e.svc.RegisterAffiliate(context.Background(), domain.RegisterAffiliate{Name: "A", Email: "a@example.com", CommissionRateBps: 100})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.proj.WaitFor(context.Background(), res.Position); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, query string
		status      int
		code        string
	}{
		{"to before from is 422", "?from=2026-03-01&to=2026-02-01", 422, "validation_failed"},
		{"an empty range is 422", "?from=2026-03-01&to=2026-03-01", 422, "validation_failed"},
		{"over five years is 422", "?from=2020-01-01&to=2025-01-02", 422, "validation_failed"},
		{"a malformed date is 422", "?from=2026-3-1&to=2026-04-01", 422, "validation_failed"},
		{"a missing date is 422", "?from=2026-03-01", 422, "validation_failed"},
		{"another format is 400", "?from=2026-03-01&to=2026-04-01&format=xml", 400, "bad_request"},
		{"five years exactly is fine", "?from=2020-01-01&to=2025-01-01", 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, report := range []string{"sales", "summary"} {
				r := e.with(t).do("GET", "/v1/affiliates/"+reg.Affiliate.ID+"/reports/"+report+tc.query, reg.APIKey, nil)
				if r.status != tc.status || (tc.code != "" && r.code(t) != tc.code) {
					t.Fatalf("%s: %d %s", report, r.status, r.body)
				}
			}
		})
	}
}

// TestCSVFieldsAreWrittenAsEncodingCSVWould: the sales report's own CSV
// writer gives the bytes encoding/csv gives.
func TestCSVFieldsAreWrittenAsEncodingCSVWould(t *testing.T) {
	for _, f := range []string{"", "plain", "with,comma", `with "quote"`, "line\nbreak", "cr\rhere", " leading", "\tleading tab", "trailing "} {
		t.Run(f, func(t *testing.T) {
			var want strings.Builder
			w := csv.NewWriter(&want)
			_ = w.Write([]string{f})
			w.Flush()
			got := string(api.AppendCSVField(nil, f)) + "\n"
			if got != want.String() {
				t.Fatalf("got %q, want %q", got, want.String())
			}
		})
	}
}
