package test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
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
	// Every Stripe id of the payload (the event's own id among them) and
	// the customer's details that Stripe sends stay out of the data
	// directory (scanned at the end) and the log (the suite's secrets).
	var needles []needle
	for _, v := range []struct{ what, v string }{
		{"the Stripe event id", "evt_1PLq2ZrCheckoutPaid00001"},
		{"the Checkout Session id", "cs_test_a1LqW8Zr3kT0vPx9Yb2NcDe4FgHi5JkLmNoPqRsTuVwXyZ"},
		{"the Stripe customer id", "cus_PLq2Zr4TnV1xYw"},
		{"the payment intent id", "pi_3PLq2ZrLicense0aB1cD2eF3"},
		{"the customer's name at Stripe", "Jana Kowalczyk"},
		{"the customer's e-mail at Stripe", "jana.kowalczyk@example.org"},
		{"the customer's street at Stripe", "Kastanienallee 12"},
	} {
		if !bytes.Contains(payload, []byte(v.v)) {
			t.Fatalf("the payload no longer holds %s %q: the scan would prove nothing", v.what, v.v)
		}
		needles = append(needles, needlesFor(v.what, secret(v.what, v.v))...)
	}
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

	srv.stop(t)
	if found := scan(t, []string{srv.dataDir}, needles); len(found) > 0 {
		t.Errorf("the payload's Stripe ids or customer details in the data directory: %+v", found)
	}
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

// stripeRecorder is a reverse proxy in front of stripe-mock that records
// the method and path of every call the server makes.
type stripeRecorder struct {
	mu        sync.Mutex
	calls     []string
	customers []string // ids of the customers Stripe made
}

func (r *stripeRecorder) seen(call string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.calls {
		if c == call {
			return true
		}
	}
	return false
}

// TestErasureDeletesTheStripeCustomerEndToEnd: a checkout makes the
// account's Stripe customer; erasing the account makes the server delete
// it at Stripe (through the outbox, within a few job rounds), and
// afterwards the data directory holds neither the customer's id nor the
// person's values.
func TestErasureDeletesTheStripeCustomerEndToEnd(t *testing.T) {
	mock, err := url.Parse(stripemocktest.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	rec := &stripeRecorder{}
	proxy := httputil.NewSingleHostReverseProxy(mock)
	proxy.ModifyResponse = func(res *http.Response) error {
		if res.Request.Method != http.MethodPost || res.Request.URL.Path != "/v1/customers" {
			return nil
		}
		body, err := io.ReadAll(res.Body)
		if err != nil {
			return err
		}
		res.Body = io.NopCloser(bytes.NewReader(body))
		var cus struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(body, &cus); err != nil {
			return err
		}
		rec.mu.Lock()
		rec.customers = append(rec.customers, cus.ID)
		rec.mu.Unlock()
		return nil
	}
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.calls = append(rec.calls, r.Method+" "+r.URL.Path)
		rec.mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()
	v := newValidator(t)
	srv := startServer(t, v, options{stripeURL: front.URL})
	c := srv.client(t)
	p := newPerson("stripe-erasure")
	c.signUp(p)
	c.do(http.MethodPost, "/v1/checkout-sessions", srv.storeKey, map[string]any{"account_id": p.ID, "product_id": "app-license",
		"success_url": "https://store.example/ok", "cancel_url": "https://store.example/cancel"}).want(http.StatusCreated)
	rec.mu.Lock()
	customers := append([]string(nil), rec.customers...)
	rec.mu.Unlock()
	if len(customers) != 1 || !strings.HasPrefix(customers[0], "cus_") {
		t.Fatalf("customers made at Stripe: %v (calls %v), want one", customers, rec.calls)
	}
	customerID := secret("a Stripe customer id", customers[0])

	c.do(http.MethodDelete, "/v1/accounts/"+p.ID, srv.storeKey, nil).want(http.StatusOK)
	// The jobs run every second in the test servers.
	deadline := time.Now().Add(15 * time.Second)
	for !rec.seen("DELETE /v1/customers/"+customerID) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if !rec.seen("DELETE /v1/customers/" + customerID) {
		t.Fatalf("Stripe was not told to delete the customer: %v", rec.calls)
	}
	// Wait for the intent to complete (its key shredded) before looking.
	var pending float64 = -1
	for time.Now().Before(deadline) {
		body := string(c.do(http.MethodGet, "/metrics", "", nil).want(http.StatusOK).Body)
		if m := regexp.MustCompile(`(?m)^subledger_stripe_outbox_pending (\S+)$`).FindStringSubmatch(body); m != nil {
			fmt.Sscan(m[1], &pending)
			if pending == 0 {
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if pending != 0 {
		t.Fatalf("outbox still pending: %v", pending)
	}
	srv.stop(t)
	needles := needlesFor("the erased person's Stripe customer id", customerID)
	for _, v := range []struct{ what, v string }{{"name", p.Name}, {"e-mail", p.Email}, {"company", p.Company}} {
		needles = append(needles, needlesFor(v.what, v.v)...)
	}
	if found := scan(t, []string{srv.dataDir}, needles); len(found) > 0 {
		t.Errorf("the erased person's values in the data directory: %+v", found)
	}
}
