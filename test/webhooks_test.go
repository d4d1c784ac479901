package test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/aseptsoft/subledger/stripe/stripemocktest"
)

// TestStripeWebhookEndToEnd delivers a signed paid license checkout to the
// real binary, twice, and an unsigned one: the license appears once, the
// bad delivery is 400. The Stripe ids of the payload stay out of the data
// directory and the log.
func TestStripeWebhookEndToEnd(t *testing.T) {
	v := newValidator(t)
	srv := startServer(t, v, options{})
	c := srv.client(t)
	p := newPerson("stripe")
	c.signUp(p)
	c.signIn(p)
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "stripe", "testdata", "checkout.session.completed.payment.json"))
	if err != nil {
		t.Fatal(err)
	}
	payload := []byte(strings.NewReplacer("8c3e5a52-7d0b-4c39-9a57-2f1d6f0b4e11", p.ID, `"affiliate_id": "a1f7c9d2-3b4e-4f60-8a1b-9c2d3e4f5a60"`, `"affiliate_id": ""`).Replace(string(raw)))
	secret("stripe payment intent", "pi_3PLq2ZrLicense0aB1cD2eF3")
	sign := func() string {
		return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: webhookSecret, Timestamp: time.Now()}).Header
	}
	c.do(http.MethodPost, "/v1/webhooks/stripe", "", rawBody(payload)).problem(http.StatusBadRequest, "invalid_signature")
	for range 2 {
		c.do(http.MethodPost, "/v1/webhooks/stripe", "", rawBody(payload), "Stripe-Signature", sign()).want(http.StatusOK)
	}
	var list struct {
		Data []struct {
			ID       string `json:"id"`
			Quantity int    `json:"quantity"`
			Amount   int64  `json:"amount"`
		} `json:"data"`
	}
	c.do(http.MethodGet, "/v1/accounts/"+p.ID+"/licenses", srv.storeKey, nil).want(http.StatusOK).json(&list)
	if len(list.Data) != 1 || list.Data[0].Quantity != 3 || list.Data[0].Amount != 14700 {
		t.Fatalf("licenses after two deliveries: %+v", list.Data)
	}
	c.do(http.MethodGet, "/v1/licenses/"+list.Data[0].ID, p.Token, nil).want(http.StatusOK)
}

// TestCheckoutAndCancellationEndToEnd: the real binary makes a Checkout
// Session at stripe-mock, and a subscription delivered by webhook is
// cancelled at period end, reactivated and cancelled at once.
func TestCheckoutAndCancellationEndToEnd(t *testing.T) {
	v := newValidator(t)
	srv := startServer(t, v, options{stripeURL: stripemocktest.Start(t)})
	c := srv.client(t)
	p := newPerson("checkout")
	c.signUp(p)
	c.signIn(p)
	var session struct {
		ID  string `json:"id"`
		URL string `json:"url"`
	}
	c.do(http.MethodPost, "/v1/checkout-sessions", p.Token, map[string]any{"account_id": p.ID, "product_id": "pro-monthly",
		"success_url": "https://store.example/ok", "cancel_url": "https://store.example/cancel"}).want(http.StatusCreated).json(&session)
	if session.ID == "" || session.URL == "" {
		t.Fatalf("session %+v", session)
	}
	c.do(http.MethodPost, "/v1/checkout-sessions", srv.storeKey, map[string]any{"account_id": p.ID, "product_id": "nope",
		"success_url": "https://store.example/ok", "cancel_url": "https://store.example/cancel"}).problem(http.StatusUnprocessableEntity, "unknown_product")

	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "stripe", "testdata", "customer.subscription.created.json"))
	if err != nil {
		t.Fatal(err)
	}
	// A period that ends in the future, so that reactivation is allowed.
	future := time.Now().Add(20 * 24 * time.Hour).Unix()
	payload := []byte(regexp.MustCompile(`"current_period_end": \d+`).ReplaceAllString(
		strings.ReplaceAll(string(raw), "8c3e5a52-7d0b-4c39-9a57-2f1d6f0b4e11", p.ID), fmt.Sprintf(`"current_period_end": %d`, future)))
	payload = []byte(strings.ReplaceAll(string(payload), `"affiliate_id": "a1f7c9d2-3b4e-4f60-8a1b-9c2d3e4f5a60"`, `"affiliate_id": ""`))
	header := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: webhookSecret, Timestamp: time.Now()}).Header
	c.do(http.MethodPost, "/v1/webhooks/stripe", "", rawBody(payload), "Stripe-Signature", header).want(http.StatusOK)
	var subs struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	c.do(http.MethodGet, "/v1/accounts/"+p.ID+"/subscriptions", p.Token, nil).want(http.StatusOK).json(&subs)
	if len(subs.Data) != 1 {
		t.Fatalf("subscriptions %+v", subs)
	}
	path := "/v1/subscriptions/" + subs.Data[0].ID
	var sub struct {
		Status            string `json:"status"`
		CancelAtPeriodEnd bool   `json:"cancel_at_period_end"`
	}
	c.do(http.MethodPost, path+"/cancel", p.Token, map[string]any{"at_period_end": true}).want(http.StatusOK).json(&sub)
	if !sub.CancelAtPeriodEnd || sub.Status != "active" {
		t.Fatalf("after cancel: %+v", sub)
	}
	c.do(http.MethodPost, path+"/reactivate", p.Token, nil).want(http.StatusOK).json(&sub)
	if sub.CancelAtPeriodEnd {
		t.Fatalf("after reactivate: %+v", sub)
	}
	c.do(http.MethodPost, path+"/cancel", srv.storeKey, map[string]any{"at_period_end": false}).want(http.StatusOK).json(&sub)
	if sub.Status != "ended" {
		t.Fatalf("after cancel at once: %+v", sub)
	}
	c.do(http.MethodPost, path+"/reactivate", p.Token, nil).problem(http.StatusConflict, "subscription_ended")

	// The Stripe ids of the subscription never stand in plain on disk (the
	// subscription id is kept under the account's key), and the account's
	// Stripe customer is encrypted too.
	srv.stop(t)
	var needles []needle
	for _, id := range []string{"sub_1PLq2ZrPro0aB1cD2eF3gH4", "cus_PLq2Zr4TnV1xYw"} {
		needles = append(needles, needlesFor("a Stripe id", secret("a Stripe id", id))...)
	}
	if found := scan(t, []string{srv.dataDir}, needles); len(found) > 0 {
		t.Errorf("Stripe ids in plain in the data directory: %+v", found)
	}
}
