package stripe_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/internal/nettest"
	"github.com/aseptsoft/subledger/stripe"
	"github.com/aseptsoft/subledger/stripe/stripemocktest"
)

// request is one request the recorder passed on to stripe-mock.
type request struct {
	Method, Path, IdempotencyKey, Auth string
	Form                               url.Values
}

// recorder is a reverse proxy to stripe-mock that keeps every request.
type recorder struct {
	mu   sync.Mutex
	reqs []request
	srv  *httptest.Server
}

func newRecorder(t *testing.T, target string) *recorder {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		if req.Method == http.MethodGet || req.Method == http.MethodDelete {
			form = req.URL.Query()
		}
		r.mu.Lock()
		r.reqs = append(r.reqs, request{Method: req.Method, Path: req.URL.Path, IdempotencyKey: req.Header.Get("Idempotency-Key"),
			Auth: req.Header.Get("Authorization"), Form: form})
		r.mu.Unlock()
		proxy.ServeHTTP(w, req)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// take returns the requests since the last take.
func (r *recorder) take() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.reqs
	r.reqs = nil
	return out
}

func keys(v url.Values) []string {
	var ks []string
	for k := range v {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func newClient(t *testing.T, base string) *stripe.Client {
	t.Helper()
	c, err := stripe.NewClient(stripe.ClientConfig{APIKey: stripemocktest.APIKey, BaseURL: base, MaxNetworkRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var (
	licenseProduct = domain.Product{ID: "app-license", Name: "App", Kind: domain.ProductLicense, StripePriceID: "price_app_license", Amount: 4900, Currency: "usd"}
	planProduct    = domain.Product{ID: "pro-monthly", Name: "Pro", Kind: domain.ProductPlan, StripePriceID: "price_pro_monthly", Amount: 900, Currency: "usd", Interval: "month"}
)

func TestClientAgainstStripeMock(t *testing.T) {
	ctx := context.Background()
	rec := newRecorder(t, stripemocktest.Start(t))
	c := newClient(t, rec.srv.URL)

	// one checks the single request a call made.
	one := func(t *testing.T, method, path, key string) request {
		t.Helper()
		reqs := rec.take()
		if len(reqs) != 1 {
			t.Fatalf("%d requests, want 1: %+v", len(reqs), reqs)
		}
		r := reqs[0]
		if r.Method != method || r.Path != path || r.IdempotencyKey != key || r.Auth != "Bearer "+stripemocktest.APIKey {
			t.Fatalf("request %s %s key %q auth %q, want %s %s key %q", r.Method, r.Path, r.IdempotencyKey, r.Auth, method, path, key)
		}
		return r
	}
	meta := func(prefix string, withAffiliate bool) url.Values {
		v := url.Values{prefix + "[account_id]": {accountID}, prefix + "[product_id]": {"app-license"}, prefix + "[quantity]": {"3"}}
		if withAffiliate {
			v[prefix+"[affiliate_id]"] = []string{affiliateID}
		}
		return v
	}

	t.Run("creating a customer sends the account_id metadata and nothing personal", func(t *testing.T) {
		id, err := c.CreateCustomer(ctx, "customer-"+accountID, accountID)
		if err != nil || !strings.HasPrefix(id, "cus_") {
			t.Fatalf("CreateCustomer: %q, %v", id, err)
		}
		r := one(t, http.MethodPost, "/v1/customers", "customer-"+accountID)
		if want := (url.Values{"metadata[account_id]": {accountID}}); !reflect.DeepEqual(r.Form, want) {
			t.Fatalf("form %v, want %v", r.Form, want)
		}
	})

	t.Run("a license checkout is in payment mode with metadata on the session and the payment intent", func(t *testing.T) {
		s, err := c.CreateCheckoutSession(ctx, "checkout-1", stripe.CheckoutParams{AccountID: accountID, CustomerID: customerID,
			Product: licenseProduct, Quantity: 3, AffiliateID: affiliateID,
			SuccessURL: "https://store.example.com/ok", CancelURL: "https://store.example.com/cancel"})
		if err != nil || !strings.HasPrefix(s.ID, "cs_") {
			t.Fatalf("CreateCheckoutSession: %+v, %v", s, err)
		}
		r := one(t, http.MethodPost, "/v1/checkout/sessions", "checkout-1")
		want := url.Values{"mode": {"payment"}, "customer": {customerID}, "client_reference_id": {accountID},
			"line_items[0][price]": {"price_app_license"}, "line_items[0][quantity]": {"3"},
			"success_url": {"https://store.example.com/ok"}, "cancel_url": {"https://store.example.com/cancel"}}
		for k, v := range meta("metadata", true) {
			want[k] = v
		}
		for k, v := range meta("payment_intent_data[metadata]", true) {
			want[k] = v
		}
		if !reflect.DeepEqual(r.Form, want) {
			t.Fatalf("form keys %v\nwant %v\nform %v", keys(r.Form), keys(want), r.Form)
		}
	})

	t.Run("a plan checkout is in subscription mode with metadata on the session and the subscription", func(t *testing.T) {
		_, err := c.CreateCheckoutSession(ctx, "checkout-2", stripe.CheckoutParams{AccountID: accountID, CustomerID: customerID,
			Product: planProduct, Quantity: 1, SuccessURL: "https://store.example.com/ok", CancelURL: "https://store.example.com/cancel"})
		if err != nil {
			t.Fatal(err)
		}
		r := one(t, http.MethodPost, "/v1/checkout/sessions", "checkout-2")
		want := url.Values{"mode": {"subscription"}, "customer": {customerID}, "client_reference_id": {accountID},
			"line_items[0][price]": {"price_pro_monthly"}, "line_items[0][quantity]": {"1"},
			"success_url": {"https://store.example.com/ok"}, "cancel_url": {"https://store.example.com/cancel"}}
		for _, prefix := range []string{"metadata", "subscription_data[metadata]"} {
			want[prefix+"[account_id]"] = []string{accountID}
			want[prefix+"[product_id]"] = []string{"pro-monthly"}
			want[prefix+"[quantity]"] = []string{"1"}
		}
		if !reflect.DeepEqual(r.Form, want) {
			t.Fatalf("form keys %v\nwant %v\nform %v", keys(r.Form), keys(want), r.Form)
		}
	})

	t.Run("cancelling at period end sets cancel_at_period_end", func(t *testing.T) {
		if err := c.CancelSubscription(ctx, "cancel-1", stripeSub, true); err != nil {
			t.Fatal(err)
		}
		r := one(t, http.MethodPost, "/v1/subscriptions/"+stripeSub, "cancel-1")
		if want := (url.Values{"cancel_at_period_end": {"true"}}); !reflect.DeepEqual(r.Form, want) {
			t.Fatalf("form %v", r.Form)
		}
	})

	t.Run("cancelling at once deletes the subscription", func(t *testing.T) {
		if err := c.CancelSubscription(ctx, "cancel-2", stripeSub, false); err != nil {
			t.Fatal(err)
		}
		one(t, http.MethodDelete, "/v1/subscriptions/"+stripeSub, "cancel-2")
	})

	t.Run("reactivating clears cancel_at_period_end", func(t *testing.T) {
		if err := c.ReactivateSubscription(ctx, "reactivate-1", stripeSub); err != nil {
			t.Fatal(err)
		}
		r := one(t, http.MethodPost, "/v1/subscriptions/"+stripeSub, "reactivate-1")
		if want := (url.Values{"cancel_at_period_end": {"false"}}); !reflect.DeepEqual(r.Form, want) {
			t.Fatalf("form %v", r.Form)
		}
	})

	t.Run("detaching lists the customer's payment methods and detaches each", func(t *testing.T) {
		n, err := c.DetachPaymentMethods(ctx, "detach-1", customerID)
		if err != nil || n < 1 {
			t.Fatalf("DetachPaymentMethods: %d, %v", n, err)
		}
		reqs := rec.take()
		if len(reqs) != 1+n || reqs[0].Method != http.MethodGet || reqs[0].Path != "/v1/customers/"+customerID+"/payment_methods" {
			t.Fatalf("requests %+v", reqs)
		}
		for _, r := range reqs[1:] {
			pm := strings.TrimSuffix(strings.TrimPrefix(r.Path, "/v1/payment_methods/"), "/detach")
			if r.Method != http.MethodPost || !strings.HasSuffix(r.Path, "/detach") || r.IdempotencyKey != "detach-1:"+pm {
				t.Fatalf("detach request %+v", r)
			}
		}
	})

	t.Run("deleting a customer deletes it", func(t *testing.T) {
		if err := c.DeleteCustomer(ctx, "delete-1", customerID); err != nil {
			t.Fatal(err)
		}
		one(t, http.MethodDelete, "/v1/customers/"+customerID, "delete-1")
	})

	t.Run("a call without idempotency key is refused before it is sent", func(t *testing.T) {
		if _, err := c.CreateCustomer(ctx, "", accountID); err == nil {
			t.Fatal("CreateCustomer without key succeeded")
		}
		if reqs := rec.take(); len(reqs) != 0 {
			t.Fatalf("sent %+v", reqs)
		}
	})
}

func TestClientErrors(t *testing.T) {
	ctx := context.Background()
	closed := "http://" + nettest.ClosedAddr(t)

	stripeAnswer := func(status int, body string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Request-Id", "req_test123")
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	missing := `{"error":{"code":"resource_missing","doc_url":"https://stripe.com/docs/error-codes/resource-missing","message":"No such customer: 'cus_PLq2Zr4TnV1xYw'","param":"id","type":"invalid_request_error"}}`
	tests := []struct {
		name     string
		base     string
		call     func(*stripe.Client) error
		want     error
		notFound bool
	}{
		{name: "a closed port is unavailable", base: closed, want: stripe.ErrUnavailable,
			call: func(c *stripe.Client) error { _, err := c.CreateCustomer(ctx, "k", accountID); return err }},
		{name: "a 503 is unavailable", base: stripeAnswer(503, `{"error":{"type":"api_error","message":"try again"}}`), want: stripe.ErrUnavailable,
			call: func(c *stripe.Client) error { return c.DeleteCustomer(ctx, "k", customerID) }},
		{name: "a 500 is unavailable", base: stripeAnswer(500, `{"error":{"type":"api_error","message":"oops"}}`), want: stripe.ErrUnavailable,
			call: func(c *stripe.Client) error { return c.CancelSubscription(ctx, "k", stripeSub, true) }},
		{name: "a 429 is unavailable", base: stripeAnswer(429, `{"error":{"type":"invalid_request_error","code":"rate_limit","message":"slow down"}}`), want: stripe.ErrUnavailable,
			call: func(c *stripe.Client) error { return c.ReactivateSubscription(ctx, "k", stripeSub) }},
		{name: "a proxy's HTML 502 is unavailable", base: stripeAnswer(502, `<html>Bad Gateway</html>`), want: stripe.ErrUnavailable,
			call: func(c *stripe.Client) error { _, err := c.CreateCustomer(ctx, "k", accountID); return err }},
		{name: "a wrong API key is rejected", base: stripeAnswer(401, `{"error":{"type":"invalid_request_error","message":"Invalid API Key provided: sk_test_***"}}`), want: stripe.ErrRejected,
			call: func(c *stripe.Client) error { _, err := c.CreateCustomer(ctx, "k", accountID); return err }},
		{name: "a missing subscription is rejected as not found", base: stripeAnswer(404, strings.ReplaceAll(missing, "customer: 'cus_PLq2Zr4TnV1xYw'", "subscription: 'sub_1PLq2ZrPro0aB1cD2eF3gH4'")),
			want: stripe.ErrRejected, notFound: true,
			call: func(c *stripe.Client) error { return c.CancelSubscription(ctx, "k", stripeSub, false) }},
		{name: "deleting a customer Stripe no longer has succeeds", base: stripeAnswer(404, missing),
			call: func(c *stripe.Client) error { return c.DeleteCustomer(ctx, "k", customerID) }},
		{name: "detaching from a customer Stripe no longer has detaches nothing", base: stripeAnswer(404, missing),
			call: func(c *stripe.Client) error { _, err := c.DetachPaymentMethods(ctx, "k", customerID); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(newClient(t, tt.base))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("got %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			other := stripe.ErrRejected
			if tt.want == stripe.ErrRejected {
				other = stripe.ErrUnavailable
			}
			if errors.Is(err, other) {
				t.Fatalf("%v is also %v", err, other)
			}
			if errors.Is(err, stripe.ErrNotFound) != tt.notFound {
				t.Fatalf("%v: not found %v, want %v", err, !tt.notFound, tt.notFound)
			}
			var se *stripe.Error
			if !errors.As(err, &se) {
				t.Fatalf("%T is no *stripe.Error", err)
			}
			assertNoPersonalData(t, err)
		})
	}
}
