package api_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aseptsoft/subledger/domain"
)

// TestErasureKeepsFiguresAndForgetsThePerson: an erased customer's
// referred sale stays in the affiliate's reports and the statistics with
// the same figures; the account reads erased, its session stops, its
// e-mail is free, its export has no personal data, and no file of the
// data directory or line of the log holds the person's values.
func TestErasureKeepsFiguresAndForgetsThePerson(t *testing.T) {
	e := newEnv(t, generousLimits)
	ctx := context.Background()
	name, company, email := "Zebulon Quixotic-Erasure", "Quixotic Widgets GmbH", "zebulon.quixotic@example.com"
	r := e.do("POST", "/v1/accounts", storeKey, map[string]any{"name": name, "company": company, "email": email, "password": "zebulon's password"})
	id := r.json(t)["id"].(string)
	token := e.signIn(email, "zebulon's password")
	aff, _, err := e.svc.RegisterAffiliate(ctx, domain.RegisterAffiliate{Name: "Aff", Email: "aff@example.com", CommissionRateBps: 2500})
	if err != nil {
		t.Fatal(err)
	}
	lic, res, err := e.svc.RecordCheckoutPaid(ctx, domain.RecordCheckoutPaid{SessionID: "cs_zeb", PaymentIntentID: "pi_zeb", AccountID: id,
		ProductID: "app-license", Quantity: 1, AffiliateID: aff.Affiliate.ID, Amount: 4900, Currency: "usd", OccurredAt: e.clock.now()})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.proj.WaitFor(ctx, res.Position); err != nil {
		t.Fatal(err)
	}
	from, to := e.clock.now().AddDate(0, -1, 0), e.clock.now().AddDate(0, 1, 0)
	figures := func() string {
		v := e.proj.View()
		var rows []string
		for row := range v.SalesRows(aff.Affiliate.ID, from, to) {
			rows = append(rows, fmt.Sprintf("%+v", row))
		}
		st := v.Stats(from, to)
		return fmt.Sprintf("%v|%+v|%+v|%+v", rows, v.SalesSummary(aff.Affiliate.ID, from, to), st.Sales, st.Accounts.Registered)
	}
	before := figures()
	if !strings.Contains(before, "4900") {
		t.Fatalf("the sale is not in the figures: %s", before)
	}
	licBefore := e.do("GET", "/v1/licenses/"+lic.ID, storeKey, nil).json(t)
	exp := string(e.do("GET", "/v1/accounts/"+id+"/export", token, nil).body)
	for _, want := range []string{name, company, email, `"stream":"license-` + lic.ID, `"stream":"sale-`, `"type":"sale.recorded.v1"`,
		`"stream":"reservation-email-`, `"type":"session.started.v1"`, `"token_hash":"[redacted]"`} {
		if !strings.Contains(exp, want) {
			t.Errorf("export lacks %s", want)
		}
	}

	if r := e.do("DELETE", "/v1/accounts/"+id, token, nil); r.status != 200 || r.json(t)["status"] != "erased" {
		t.Fatalf("erase: %d %s", r.status, r.body)
	}
	if after := figures(); after != before {
		t.Fatalf("figures changed by the erasure:\n%s\n%s", before, after)
	}
	got := e.do("GET", "/v1/accounts/"+id, storeKey, nil).json(t)
	for _, f := range []string{"name", "company", "email"} {
		if got[f] != nil {
			t.Errorf("%s = %v after erasure, want null", f, got[f])
		}
	}
	licAfter := e.do("GET", "/v1/licenses/"+lic.ID, storeKey, nil).json(t)
	if licAfter["license_key"] != nil || licAfter["status"] != licBefore["status"] || licAfter["amount"] != licBefore["amount"] {
		t.Errorf("license after erasure %v, before %v", licAfter, licBefore)
	}
	if r := e.do("GET", "/v1/accounts/"+id, token, nil); r.status != 401 {
		t.Errorf("the session still works: %d", r.status)
	}
	export := string(e.do("GET", "/v1/accounts/"+id+"/export", adminKey, nil).body)
	for _, v := range []string{name, company, email} {
		if strings.Contains(export, v) {
			t.Errorf("export after erasure holds %q", v)
		}
	}
	if !strings.Contains(export, `"erased":true`) {
		t.Errorf("export does not mark the events erased: %.300s", export)
	}
	// The address is free again.
	e.signUp("Someone Else", email, "another password!")

	// Nothing of the person is readable anywhere on disk or in the log,
	// except the new account's address (encrypted, so absent as well). The
	// scan finds a value planted in a file, so it can fail.
	dir := filepath.Dir(e.storeDir)
	secrets := []string{name, company, "zebulon's password", "Quixotic"}
	planted := filepath.Join(dir, "planted")
	if err := os.WriteFile(planted, []byte("x"+secrets[0]+"x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if found := scan(t, dir, secrets); len(found) != 1 || found[0] != planted {
		t.Fatalf("scan with a planted value found %v, want only %s", found, planted)
	}
	os.Remove(planted)
	if found := scan(t, dir, secrets); len(found) > 0 {
		t.Errorf("personal values of the erased person in %v", found)
	}
	if logs := e.logs.String(); strings.Contains(logs, "Quixotic") || strings.Contains(logs, email) || strings.Contains(logs, token) {
		t.Errorf("the log holds the person's values")
	}
}

// scan returns the files under dir that hold any of values.
func scan(t *testing.T, dir string, values []string) []string {
	t.Helper()
	var found []string
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, v := range values {
			if strings.Contains(string(b), v) {
				found = append(found, path)
				break
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}
