package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/stripe"
)

// The benchmark's deliveries verify with the server's secret and mean what
// they should: the subscription's start, and one renewal per month with
// successive periods and new ids.
func TestBenchWebhooksPayloadsVerifyAndTranslate(t *testing.T) {
	const secret = "whsec_bench_test_0123456789"
	state := &webhookBenchState{Subscriptions: 4, Accounts: []string{"acc-0", "acc-1", "acc-2", "acc-3"}, Next: make([]int, 4)}
	gen := newWebhookGen(secret, state)
	verifier, err := stripe.NewVerifier(secret)
	if err != nil {
		t.Fatal(err)
	}
	catalog, err := domain.NewCatalog(domain.ExampleCatalog())
	if err != nil {
		t.Fatal(err)
	}
	translator := stripe.NewTranslator(catalog.Products())
	fact := func(body []byte) stripe.Fact {
		t.Helper()
		if !json.Valid(body) || strings.Contains(string(body), "{{") {
			t.Fatalf("not a rendered JSON payload: %.200s", body)
		}
		req, err := gen.request(context.Background(), "http://127.0.0.1/v1/webhooks/stripe", body)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := verifier.Verify(body, req.Header.Get("Stripe-Signature"))
		if err != nil {
			t.Fatal(err)
		}
		f, err := translator.Translate(ev)
		if err != nil {
			t.Fatal(err)
		}
		if f.Ignored != "" || f.Tie != stripe.TieMetadata {
			t.Fatalf("%s: ignored %q, tie %s; want applied through our metadata", f.Type, f.Ignored, f.Tie)
		}
		return f
	}

	created := fact(gen.subscriptionCreated(2))
	change, ok := created.Command.(domain.RecordSubscriptionChange)
	start, end := webhookPeriod(2, 0)
	if !ok || change.Change != domain.StripeChangeCreated || change.SubscriptionID != webhookSubID(2) || change.AccountID != "acc-2" ||
		change.ProductID != "pro-monthly" || change.Amount != 900 || change.Currency != "usd" || change.Status != "active" ||
		!change.StartedAt.Equal(start) || !change.CurrentPeriodEnd.Equal(end) {
		t.Errorf("customer.subscription.created: %#v", created.Command)
	}

	seen := map[string]bool{}
	for m := 0; m < 14; m++ {
		f := fact(gen.invoicePaid(2, m))
		paid, ok := f.Command.(domain.RecordInvoicePaid)
		if !ok {
			t.Fatalf("month %d: %T, want RecordInvoicePaid", m, f.Command)
		}
		start, end := webhookPeriod(2, m)
		reason := domain.BillingReasonCycle
		if m == 0 {
			reason = domain.BillingReasonCreate
		}
		if paid.SubscriptionID != webhookSubID(2) || paid.AccountID != "acc-2" || paid.ProductID != "pro-monthly" ||
			paid.Amount != 900 || paid.Currency != "usd" || paid.BillingReason != reason || paid.AffiliateID != "" ||
			!paid.PeriodStart.Equal(start) || !paid.PeriodEnd.Equal(end) || paid.OccurredAt.Before(start) {
			t.Errorf("month %d: %#v", m, paid)
		}
		if m > 0 {
			if _, prevEnd := webhookPeriod(2, m-1); !prevEnd.Equal(start) {
				t.Errorf("month %d starts %s, the month before ends %s", m, start, prevEnd)
			}
		}
		for _, id := range []string{f.EventID, paid.InvoiceID, paid.PaymentIntentID} {
			if id == "" || seen[id] {
				t.Errorf("month %d: id %q empty or used before", m, id)
			}
			seen[id] = true
		}
	}
	// Another run over the same store renews with other ids; month 0 (the
	// set-up) is the same event again.
	again := newWebhookGen(secret, state)
	again.nonce = gen.nonce + "x"
	if a, b := fact(again.invoicePaid(2, 5)), fact(gen.invoicePaid(2, 5)); a.EventID == b.EventID {
		t.Errorf("two runs renew with the same event id %q", a.EventID)
	}
	if a, b := fact(again.invoicePaid(2, 0)), fact(gen.invoicePaid(2, 0)); a.EventID != b.EventID {
		t.Errorf("the set-up's first invoice differs between runs: %q, %q", a.EventID, b.EventID)
	}

	// The renewals of a phase take successive months of each subscription.
	next := gen.copyNext()
	mk := gen.renewals(context.Background(), "http://127.0.0.1/", next, 2)
	for n := 0; n < 40; n++ {
		if _, err := mk(n%2, n); err != nil {
			t.Fatal(err)
		}
	}
	total := int64(0)
	for i := range next {
		total += next[i].Load()
		if gen.next[i].Load() != 0 {
			t.Errorf("the phase's months changed the generator's")
		}
	}
	if total != 40 {
		t.Errorf("40 renewals took %d months", total)
	}
}

func TestBenchWebhooksPrintsOneJSONLineAndReusesItsStore(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the server")
	}
	dir := t.TempDir()
	args := []string{"bench", "webhooks", "--dir", dir, "--subscriptions", "12", "--senders", "4",
		"--duration", "400ms", "--warmup", "50ms", "--json"}
	bench := func() webhookBenchResult {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := run(context.Background(), args, &out, &errOut); err != nil {
			t.Fatalf("bench webhooks: %v (%s)", err, errOut.String())
		}
		if strings.Count(strings.TrimSpace(out.String()), "\n") != 0 {
			t.Fatalf("output is more than one line: %q", out.String())
		}
		var res webhookBenchResult
		if err := json.Unmarshal(out.Bytes(), &res); err != nil {
			t.Fatalf("output %q is not one JSON object: %v", out.String(), err)
		}
		for name, p := range map[string]httpPhaseFigures{"bare": res.Bare, "webhooks": res.Webhooks} {
			if p.Requests == 0 || !(p.RPS > 0) || !(p.P99ms >= p.P50ms) || res.Errors[name] != 0 {
				t.Errorf("%s: %+v, %d errors; want requests, a rate, p99 >= p50 and no errors", name, p, res.Errors[name])
			}
		}
		if res.Subscriptions != 12 || res.Senders != 4 || !(res.Ratio > 0) || res.BodyBytes < 5000 ||
			res.Verified != 12 || res.Errors["verify"] != 0 {
			t.Errorf("result %+v", res)
		}
		return res
	}
	if first := bench(); first.ReusedStore || !(first.SetupAccountsSeconds > 0) || !(first.SetupSubscriptionsSeconds > 0) {
		t.Errorf("first run: %+v, want the accounts and subscriptions set up", first)
	}
	// The second run renews the same subscriptions from where the first
	// left them (its verification would fail otherwise).
	if second := bench(); !second.ReusedStore || second.SetupAccountsSeconds != 0 || second.SetupSubscriptionsSeconds != 0 {
		t.Errorf("second run: %+v, want the store reused", second)
	}

	// A store of another size is refused, not silently measured.
	var out, errOut bytes.Buffer
	other := append(append([]string(nil), args...), "--subscriptions", "13")
	if err := run(context.Background(), other, &out, &errOut); err == nil || !strings.Contains(err.Error(), "holds a store of 12 subscriptions") {
		t.Fatalf("bench webhooks over a store of 12 subscriptions with --subscriptions 13: %v, want a refusal", err)
	}
}

// The bare baseline reads the body and answers the given bytes.
func TestBenchWebhooksBareAnswers(t *testing.T) {
	base, stop, err := benchWebhooksBare([]byte(`{"received":true}` + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	gen := newWebhookGen("whsec_x_0123456789", &webhookBenchState{Subscriptions: 1, Accounts: []string{"a"}, Next: []int{1}})
	req, err := gen.request(context.Background(), base+"/v1/webhooks/stripe", gen.invoicePaid(0, 1))
	if err != nil {
		t.Fatal(err)
	}
	client := benchHTTPClient(1)
	defer client.CloseIdleConnections()
	status, body, err := postWebhook(context.Background(), client, req)
	if err != nil || status != 200 || string(body) != "{\"received\":true}\n" {
		t.Fatalf("bare: %d %q %v", status, body, err)
	}
}
