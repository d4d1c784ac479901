package api_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/aseptsoft/subledger/domain"
)

// signed returns a Stripe-Signature header for payload by secret at t.
func signed(payload []byte, secret string, t time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: t}).Header
}

// TestStripeWebhook: a signed paid checkout of a license makes the
// customer's license and the affiliate's sale; a duplicate changes
// nothing; bad signatures and bodies are 400 and change nothing; a type
// subledger does not handle is acknowledged.
func TestStripeWebhook(t *testing.T) {
	e := newEnv(t, generousLimits)
	ctx := context.Background()
	account := e.signUp("Web Hook", "web.hook@example.com", "web hook password")
	aff, res, err := e.svc.RegisterAffiliate(ctx, domain.RegisterAffiliate{Name: "Aff", Email: "aff@example.com", CommissionRateBps: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.proj.WaitFor(ctx, res.Position); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("../stripe/testdata/checkout.session.completed.payment.json")
	if err != nil {
		t.Fatal(err)
	}
	payload := []byte(strings.NewReplacer("8c3e5a52-7d0b-4c39-9a57-2f1d6f0b4e11", account, "a1f7c9d2-3b4e-4f60-8a1b-9c2d3e4f5a60", aff.Affiliate.ID).Replace(string(raw)))
	post := func(t *testing.T, body []byte, sig string) response {
		return e.with(t).do("POST", "/v1/webhooks/stripe", "", body, "Stripe-Signature", sig)
	}
	licenses := func() string { return string(e.do("GET", "/v1/accounts/"+account+"/licenses", storeKey, nil).body) }

	now := time.Now()
	tests := []struct {
		name   string
		body   []byte
		sig    string
		status int
		code   string
	}{
		{"no signature is 400", payload, "", 400, "invalid_signature"},
		{"another secret's signature is 400", payload, signed(payload, "whsec_other", now), 400, "invalid_signature"},
		{"a signature older than the tolerance is 400", payload, signed(payload, webhookSecret, now.Add(-301*time.Second)), 400, "invalid_signature"},
		{"a signed body that is not JSON is 400", []byte("not json"), signed([]byte("not json"), webhookSecret, now), 400, "malformed_event"},
		{"a signed body that is not an event is 400", []byte(`{"hello":1}`), signed([]byte(`{"hello":1}`), webhookSecret, now), 400, "malformed_event"},
	}
	before := licenses()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, tc.body, tc.sig)
			if r.status != tc.status || r.code(t) != tc.code {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if licenses() != before {
				t.Fatal("a refused delivery changed the licenses")
			}
		})
	}

	if r := post(t, payload, signed(payload, webhookSecret, now)); r.status != 200 || strings.TrimSpace(string(r.body)) != `{"received":true}` {
		t.Fatalf("delivery: %d %s", r.status, r.body)
	}
	after := licenses()
	if !strings.Contains(after, `"quantity":3`) || !strings.Contains(after, `"amount":14700`) || !strings.Contains(after, `"license_key":"SL1.`) {
		t.Fatalf("licenses after the checkout: %s", after)
	}
	if r := post(t, payload, signed(payload, webhookSecret, now)); r.status != 200 {
		t.Fatalf("duplicate: %d %s", r.status, r.body)
	}
	if licenses() != after {
		t.Fatalf("the duplicate changed the licenses")
	}
	report := string(e.do("GET", "/v1/affiliates/"+aff.Affiliate.ID+"/reports/sales?from=2025-01-01&to=2027-01-01&format=csv", adminKey, nil).body)
	if strings.Count(report, "\n") != 2 || !strings.Contains(report, ",sale,app-license,14700,usd,1470,") {
		t.Fatalf("report: %s", report)
	}
	other := []byte(`{"id":"evt_other","object":"event","api_version":"2023-10-16","created":1767607200,"type":"customer.created","data":{"object":{"id":"cus_x","object":"customer"}},"livemode":false,"pending_webhooks":1}`)
	if r := post(t, other, signed(other, webhookSecret, now)); r.status != 200 {
		t.Fatalf("an unhandled type: %d %s", r.status, r.body)
	}
	if logs := e.logs.String(); strings.Contains(logs, "pi_3PLq2Z") || strings.Contains(logs, "web.hook@") {
		t.Fatal("a Stripe id or an e-mail reached the log")
	}
}
