package test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/aseptsoft/subledger/mail/mailpittest"
	"github.com/aseptsoft/subledger/stripe/stripemocktest"
)

// TestPortalInBrowser drives the hosted portal of the real binary in
// headless Chromium: a customer opens a portal link made by the store,
// changes the name (seen through the REST API), toggles consent, cancels
// and reactivates a subscription, downloads the export and erases the
// account (then the link and the cookie stop working); an affiliate signs
// in by the mailed link, reads the chart and the table of a known scenario
// and finds them equal to the JSON report, and downloads both CSVs.
func TestPortalInBrowser(t *testing.T) {
	v := newValidator(t)
	mp := mailpittest.Start(t)
	srv := startServer(t, v, options{smtpURL: mp.SMTPURL(), stripeURL: stripemocktest.Start(t)})
	br := startChrome(t)
	c := srv.client(t)

	t.Run("customer", func(t *testing.T) {
		c := srv.client(t)
		p := newPerson("portal")
		c.signUp(p)
		subID := portalSubscription(t, c, p)
		portalLicense(t, c, p)
		link := portalLink(t, c, srv, p.ID)
		spare := portalLink(t, c, srv, p.ID) // opened after the erasure

		b := br.tab(t)
		b.open(link)
		if h := b.heading(); h != "Your account" {
			t.Fatalf("after the link: %q", h)
		}
		if b.narrow() {
			t.Error("the account page scrolls sideways at 320 px")
		}
		b.shot("account-320px")
		b.wide()
		b.shot("account")

		// The name, seen through the REST API.
		newName := secret("name", p.Name+" Renamed")
		b.fill("#f-name", newName)
		b.submit("#details-h ~ form button[type=submit]", "p.notice")
		if a, _ := c.getAccount(p.ID); str(a.Name) != newName {
			t.Fatalf("name through the API: %q", str(a.Name))
		}
		// A refused change: the API's message beside the field, nothing changed.
		b.fill("#f-email", "not an address")
		b.submit("#details-h ~ form button[type=submit]", "#e-email")
		b.shot("account-invalid")
		if a, _ := c.getAccount(p.ID); str(a.Email) != p.Email {
			t.Fatalf("e-mail changed by a refused form: %q", str(a.Email))
		}

		// Consent, both ways.
		b.submit("#consent-toggle", "p.notice")
		if a, _ := c.getAccount(p.ID); !a.MarketingConsent {
			t.Fatal("consent not given")
		}
		b.submit("#consent-toggle", "p.notice")
		if a, _ := c.getAccount(p.ID); a.MarketingConsent {
			t.Fatal("consent not withdrawn")
		}

		// Cancel at period end, then reactivate.
		row := "#sub-" + subID
		b.submit(row+" button", "p.notice")
		if s := subscriptionOf(t, c, srv, subID); !s.CancelAtPeriodEnd || s.Status != "active" {
			t.Fatalf("after cancel in the portal: %+v", s)
		}
		if got := browse(b, chromedp.Text(chromedp.CSS(row+" .sub-status"))); !strings.Contains(got, "ends at period end") {
			t.Fatalf("status shown: %q", got)
		}
		b.submit(row+" button", "p.notice")
		if s := subscriptionOf(t, c, srv, subID); s.CancelAtPeriodEnd {
			t.Fatalf("after reactivation in the portal: %+v", s)
		}

		// The export, downloaded.
		var export map[string]any
		raw := b.download("#export")
		if err := json.Unmarshal(raw, &export); err != nil {
			t.Fatalf("export is not JSON: %v", err)
		}
		if !strings.Contains(string(raw), p.ID) || !strings.Contains(string(raw), newName) {
			t.Fatalf("export lacks the account: %.300s", raw)
		}

		// Erasure: the typed e-mail, then the cookie and the link stop working.
		kept := b.cookies(srv.baseURL() + "/portal/account")
		for _, ck := range kept {
			if ck.Name == "subledger_portal" {
				if !ck.HTTPOnly || ck.SameSite != "Strict" {
					t.Errorf("session cookie %+v", ck)
				}
				secret("portal cookie", ck.Value[strings.LastIndexByte(ck.Value, '.')+1:])
			}
		}
		b.fill("#f-confirm_email", p.Email)
		b.submit("#delete-h ~ form button[type=submit]", "h1")
		if h := b.heading(); h != "Your account is deleted" {
			t.Fatalf("after delete: %q", h)
		}
		if a, _ := c.getAccount(p.ID); a.Status != "erased" {
			t.Fatalf("account %+v", a)
		}
		b.restore(srv.baseURL()+"/portal/account", kept)
		b.open(srv.baseURL() + "/portal/account")
		if h := b.heading(); h != "Sign in" || !strings.Contains(browse(b, chromedp.Text(chromedp.CSS("main"))), "Your session has ended") {
			t.Fatalf("the kept cookie after erasure: %q", h)
		}
		b.open(spare)
		if h := b.heading(); h != "This link does not work" {
			t.Fatalf("a link of the erased account: %q", h)
		}
		b.shot("link-refused")
	})

	t.Run("affiliate", func(t *testing.T) {
		c := srv.client(t)
		name := secret("affiliate name", "Pia Portal "+randHex(4))
		email := secret("affiliate e-mail", "pia.portal."+randHex(4)+"@example.com")
		var aff struct {
			ID     string `json:"id"`
			APIKey string `json:"api_key"`
		}
		c.do(http.MethodPost, "/v1/affiliates", srv.adminKey, map[string]any{"name": name, "email": email, "commission_rate_bps": 2000}).
			want(http.StatusCreated).json(&aff)
		secret("affiliate key", aff.APIKey)
		buyer := newPerson("portal-buyer")
		c.signUp(buyer)
		// The known scenario: two license sales in March 2026 (usd), one in
		// June (eur), each 14700 at 20 %: 2940 commission each.
		for i, s := range []struct {
			at       string
			currency string
		}{{"2026-03-10T12:00:00Z", "usd"}, {"2026-03-25T09:30:00Z", "usd"}, {"2026-06-05T18:00:00Z", "eur"}} {
			deliverLicenseSale(t, c, buyer.ID, aff.ID, fmt.Sprintf("aff%d", i), s.at, s.currency)
		}
		// Asked through the API once (an unknown address: 202, no mail).
		c.do(http.MethodPost, "/v1/affiliate-portal-links", "", map[string]any{"email": secret("e-mail address", "nobody."+randHex(4)+"@quixotic.example")}).want(http.StatusAccepted)

		b := br.tab(t)
		b.open(srv.baseURL() + "/portal/sign-in")
		b.shot("sign-in")
		b.fill("#aff-email", email)
		b.submit("#affiliates ~ form button[type=submit]", "h1")
		if h := b.heading(); h != "Check your mail" {
			t.Fatalf("after asking for a link: %q", h)
		}
		m := mp.WaitFor(t, func(m mailpittest.Message) bool {
			return slices.ContainsFunc(m.To, func(to string) bool { return strings.EqualFold(to, email) })
		}, mailTimeout)
		link := regexp.MustCompile(`http://\S+/portal/sign-in/link\?token=slp_[A-Za-z0-9_-]+`).FindString(m.Text)
		if link == "" {
			t.Fatalf("no link in the mail:\n%s", m.Text)
		}
		secret("portal link token", link[strings.Index(link, "slp_"):])
		b.open(link)
		if h := b.heading(); h != "Sign in to your reports" {
			t.Fatalf("the mailed link: %q", h)
		}
		b.shot("affiliate-link")
		b.submit("#confirm-link", "#range-h")
		if h := b.heading(); h != "Your reports" {
			t.Fatalf("after the mailed link: %q", h)
		}
		b.fill("#from", "2026-01-01")
		b.fill("#to", "2027-01-01")
		b.submit("#range-h ~ form button[type=submit]", "#chart")
		b.shot("affiliate")
		if b.narrow() {
			t.Error("the affiliate page scrolls sideways at 320 px")
		}
		b.shot("affiliate-320px")
		b.wide()

		q := "?from=2026-01-01&to=2027-01-01"
		var summary struct {
			Data []struct {
				Period string `json:"period"`
				Net    int64  `json:"net_commission_amount"`
				Cur    string `json:"currency"`
			} `json:"data"`
		}
		c.do(http.MethodGet, "/v1/affiliates/"+aff.ID+"/reports/summary"+q, aff.APIKey, nil).want(http.StatusOK).json(&summary)
		var want []string
		for _, r := range summary.Data {
			want = append(want, fmt.Sprintf("%s %s %d", r.Period, r.Cur, r.Net))
		}
		if strings.Join(want, ", ") != "2026-03 usd 5880, 2026-06 eur 2940" {
			t.Fatalf("the JSON summary is not the scenario's: %v", want)
		}
		bars := browse(b, chromedp.AttributesAll(chromedp.CSSAll("#chart rect.bar")))
		rows := browse(b, chromedp.AttributesAll(chromedp.CSSAll("#summary tbody tr")))
		var gotBars, gotRows []string
		for _, a := range bars {
			gotBars = append(gotBars, a["data-period"]+" "+a["data-currency"]+" "+a["data-value"])
		}
		for _, a := range rows {
			gotRows = append(gotRows, a["data-period"]+" "+a["data-currency"]+" "+a["data-net"])
		}
		slices.Sort(gotBars)
		if !slices.Equal(gotBars, want) || !slices.Equal(gotRows, want) {
			t.Fatalf("chart %v and table %v, want the JSON report's %v", gotBars, gotRows, want)
		}
		var sales struct {
			Data []struct {
				SaleID     string `json:"sale_id"`
				Commission int64  `json:"commission_amount"`
			} `json:"data"`
		}
		c.do(http.MethodGet, "/v1/affiliates/"+aff.ID+"/reports/sales"+q, aff.APIKey, nil).want(http.StatusOK).json(&sales)
		var wantSales, gotSales []string
		for _, r := range sales.Data {
			wantSales = append(wantSales, fmt.Sprintf("%s %d", r.SaleID, r.Commission))
		}
		for _, a := range browse(b, chromedp.AttributesAll(chromedp.CSSAll("#sales tbody tr"))) {
			gotSales = append(gotSales, a["data-sale"]+" "+a["data-commission"])
		}
		if len(wantSales) != 3 || !slices.Equal(gotSales, wantSales) {
			t.Fatalf("sales table %v, JSON report %v", gotSales, wantSales)
		}
		// Both CSVs, as the API gives them.
		for _, d := range []struct{ button, report string }{{"#summary-csv", "summary"}, {"#sales-csv", "sales"}} {
			got := b.download(d.button)
			api := c.do(http.MethodGet, "/v1/affiliates/"+aff.ID+"/reports/"+d.report+q+"&format=csv", aff.APIKey, nil).want(http.StatusOK)
			if string(got) != string(api.Body) || !strings.Contains(string(got), "\n2026-") {
				t.Fatalf("%s CSV from the page:\n%s\nfrom the API:\n%s", d.report, got, api.Body)
			}
		}
		// Nothing on the page names the customer.
		page := browse(b, chromedp.OuterHTML(chromedp.CSS("html")))
		for _, s := range []string{buyer.ID, buyer.Email, buyer.Name} {
			if strings.Contains(page, s) {
				t.Fatalf("the affiliate page names the customer (%s)", s)
			}
		}
	})
	_ = c
}

// portalLink makes a portal link for the account as the store.
func portalLink(t *testing.T, c *client, srv *server, accountID string) string {
	t.Helper()
	var out struct {
		URL       string `json:"url"`
		ExpiresAt string `json:"expires_at"`
	}
	c.do(http.MethodPost, "/v1/portal-sessions", srv.storeKey, map[string]any{"account_id": accountID, "return_url": "https://store.example/account"}).
		want(http.StatusCreated).json(&out)
	if i := strings.Index(out.URL, "slp_"); i >= 0 {
		tok := out.URL[i:]
		if j := strings.IndexByte(tok, '&'); j >= 0 {
			tok = tok[:j]
		}
		secret("portal link token", tok)
	}
	return out.URL
}

type portalSub struct {
	Status            string `json:"status"`
	CancelAtPeriodEnd bool   `json:"cancel_at_period_end"`
}

func subscriptionOf(t *testing.T, c *client, srv *server, id string) portalSub {
	t.Helper()
	var s portalSub
	c.do(http.MethodGet, "/v1/subscriptions/"+id, srv.storeKey, nil).want(http.StatusOK).json(&s)
	return s
}

// stripePayload reads a Stripe test payload with replacements.
func stripePayload(t *testing.T, name string, replace ...string) []byte {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "stripe", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return []byte(strings.NewReplacer(replace...).Replace(string(raw)))
}

func deliver(t *testing.T, c *client, payload []byte) {
	t.Helper()
	header := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: webhookSecret, Timestamp: time.Now()}).Header
	c.do(http.MethodPost, "/v1/webhooks/stripe", "", rawBody(payload), "Stripe-Signature", header).want(http.StatusOK)
}

// portalSubscription gives p a monthly subscription whose period ends in
// 20 days, and returns its id.
func portalSubscription(t *testing.T, c *client, p *person) string {
	t.Helper()
	payload := stripePayload(t, "customer.subscription.created.json",
		"8c3e5a52-7d0b-4c39-9a57-2f1d6f0b4e11", p.ID, `"affiliate_id": "a1f7c9d2-3b4e-4f60-8a1b-9c2d3e4f5a60"`, `"affiliate_id": ""`)
	payload = regexp.MustCompile(`"current_period_end": \d+`).ReplaceAll(payload, fmt.Appendf(nil, `"current_period_end": %d`, time.Now().Add(20*24*time.Hour).Unix()))
	secret("a Stripe id", "sub_1PLq2ZrPro0aB1cD2eF3gH4")
	deliver(t, c, payload)
	var subs struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	c.do(http.MethodGet, "/v1/accounts/"+p.ID+"/subscriptions", c.s.storeKey, nil).want(http.StatusOK).json(&subs)
	if len(subs.Data) != 1 {
		t.Fatalf("subscriptions %+v", subs)
	}
	return subs.Data[0].ID
}

// portalLicense gives p a license (three seats, no affiliate).
func portalLicense(t *testing.T, c *client, p *person) {
	t.Helper()
	deliverLicenseSale(t, c, p.ID, "", "own", "2026-01-05T10:00:00Z", "usd")
}

// deliverLicenseSale delivers a paid license checkout of account, at at,
// attributed to affiliateID (or none); tag makes its Stripe ids unique.
func deliverLicenseSale(t *testing.T, c *client, accountID, affiliateID, tag, at, currency string) {
	t.Helper()
	when, err := time.Parse(time.RFC3339, at)
	if err != nil {
		t.Fatal(err)
	}
	u := tag + randHex(4)
	payload := stripePayload(t, "checkout.session.completed.payment.json",
		"8c3e5a52-7d0b-4c39-9a57-2f1d6f0b4e11", accountID,
		"a1f7c9d2-3b4e-4f60-8a1b-9c2d3e4f5a60", affiliateID,
		"evt_1PLq2ZrCheckoutPaid00001", "evt_portal_"+u,
		"cs_test_a1LqW8Zr3kT0vPx9Yb2NcDe4FgHi5JkLmNoPqRsTuVwXyZ", "cs_test_portal_"+u,
		"pi_3PLq2ZrLicense0aB1cD2eF3", secret("stripe payment intent", "pi_portal_"+u),
		`"created": 1767607200`, fmt.Sprintf(`"created": %d`, when.Unix()),
		`"currency": "usd"`, `"currency": "`+currency+`"`)
	deliver(t, c, payload)
}
