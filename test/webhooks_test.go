package test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"
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
