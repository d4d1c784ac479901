package stripe

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	stripeapi "github.com/stripe/stripe-go/v76"
	checkoutsession "github.com/stripe/stripe-go/v76/checkout/session"
	"github.com/stripe/stripe-go/v76/customer"
	"github.com/stripe/stripe-go/v76/paymentmethod"
	"github.com/stripe/stripe-go/v76/subscription"

	"github.com/aseptsoft/subledger/domain"
)

// Errors of outbound calls. Every error of a call that was sent to Stripe
// is an *Error, which matches exactly one of ErrUnavailable and
// ErrRejected; a call refused before it is sent (no idempotency key, a
// checkout without a price) returns a plain error, which is a bug of the
// caller.
var (
	// ErrUnavailable is a call that may succeed when retried: no answer
	// (network, time-out, a body that is not Stripe's), a 5xx, a 429 or a
	// 409 (the same idempotency key in flight). API: 502 stripe_unavailable.
	ErrUnavailable = errors.New("stripe: unavailable")
	// ErrRejected is a call Stripe refused: retrying the same request
	// gives the same answer (a bad parameter, a wrong API key).
	ErrRejected = errors.New("stripe: request rejected")
	// ErrNotFound is a rejected call about an object Stripe does not have
	// (resource_missing). It is also an ErrRejected.
	ErrNotFound = errors.New("stripe: no such object")
)

// Error is an outbound call's failure. Its text holds Stripe's HTTP
// status, error type and code and request id, never Stripe's message,
// which names customers and payment methods.
type Error struct {
	// Op names the call ("create customer", ...).
	Op string
	// Status is the HTTP status; 0 when Stripe did not answer.
	Status int
	// Type and Code are Stripe's error type and code, when it answered.
	Type, Code string
	// Param is the request parameter Stripe refused, if any.
	Param string
	// RequestID is Stripe's request id, for Stripe's dashboard.
	RequestID string
	// Err is the underlying error (stripe-go's, or the network's). Its
	// text may hold personal data: do not log it.
	Err error

	transient bool
}

// Error returns the call, the status and Stripe's type and code.
func (e *Error) Error() string {
	if e.Status == 0 {
		msg := "stripe: " + e.Op + ": no answer from Stripe"
		if errors.Is(e.Err, context.Canceled) || errors.Is(e.Err, context.DeadlineExceeded) {
			msg += " (" + e.Err.Error() + ")"
		}
		return msg
	}
	msg := fmt.Sprintf("stripe: %s: status %d", e.Op, e.Status)
	for _, kv := range [][2]string{{"type", e.Type}, {"code", e.Code}, {"param", e.Param}, {"request", e.RequestID}} {
		if kv[1] != "" {
			msg += " " + kv[0] + "=" + kv[1]
		}
	}
	return msg
}

// Is matches ErrUnavailable or ErrRejected (and ErrNotFound).
func (e *Error) Is(target error) bool {
	switch target {
	case ErrUnavailable:
		return e.transient
	case ErrRejected:
		return !e.transient
	case ErrNotFound:
		return !e.transient && e.Code == string(stripeapi.ErrorCodeResourceMissing)
	}
	return false
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// callError classifies a stripe-go error.
func callError(op string, err error) error {
	var se *stripeapi.Error
	if !errors.As(err, &se) {
		return &Error{Op: op, Err: err, transient: true}
	}
	e := &Error{Op: op, Status: se.HTTPStatusCode, Type: string(se.Type), Code: string(se.Code), Param: se.Param,
		RequestID: se.RequestID, Err: err}
	e.transient = se.HTTPStatusCode >= 500 || se.HTTPStatusCode == http.StatusTooManyRequests ||
		se.HTTPStatusCode == http.StatusConflict || se.Type == stripeapi.ErrorTypeAPI || se.HTTPStatusCode == 0
	return e
}

// ClientConfig configures a Client.
type ClientConfig struct {
	// APIKey is the secret key (--stripe-api-key). Required.
	APIKey string
	// BaseURL is the API's base URL (--stripe-api-url); "" is Stripe's.
	// Tests point it at stripe-mock.
	BaseURL string
	// HTTPClient makes the requests; nil is a client with a 30 s time-out.
	HTTPClient *http.Client
	// MaxNetworkRetries is how often stripe-go retries a call that failed
	// in a way that is safe to retry (with the same idempotency key): 0 is
	// stripe-go's default (2), negative is none.
	MaxNetworkRetries int
}

// Client makes subledger's outbound Stripe calls. Every call takes an
// idempotency key: a retry of a call with the same key (and the same
// parameters) is applied by Stripe once. Its methods are safe for
// concurrent use.
type Client struct {
	customers     customer.Client
	sessions      checkoutsession.Client
	subscriptions subscription.Client
	methods       paymentmethod.Client
}

// NewClient returns a Client for c. It sets no stripe-go global.
func NewClient(c ClientConfig) (*Client, error) {
	if c.APIKey == "" {
		return nil, errors.New("stripe: an API key is required")
	}
	cfg := &stripeapi.BackendConfig{
		HTTPClient:      c.HTTPClient,
		LeveledLogger:   &stripeapi.LeveledLogger{Level: stripeapi.LevelNull},
		EnableTelemetry: stripeapi.Bool(false),
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if c.BaseURL != "" {
		cfg.URL = stripeapi.String(c.BaseURL)
	}
	switch {
	case c.MaxNetworkRetries > 0:
		cfg.MaxNetworkRetries = stripeapi.Int64(int64(c.MaxNetworkRetries))
	case c.MaxNetworkRetries < 0:
		cfg.MaxNetworkRetries = stripeapi.Int64(0)
	}
	b := stripeapi.GetBackendWithConfig(stripeapi.APIBackend, cfg)
	return &Client{
		customers:     customer.Client{B: b, Key: c.APIKey},
		sessions:      checkoutsession.Client{B: b, Key: c.APIKey},
		subscriptions: subscription.Client{B: b, Key: c.APIKey},
		methods:       paymentmethod.Client{B: b, Key: c.APIKey},
	}, nil
}

func params(ctx context.Context, idempotencyKey string) (stripeapi.Params, error) {
	if idempotencyKey == "" {
		return stripeapi.Params{}, errors.New("stripe: an idempotency key is required")
	}
	return stripeapi.Params{Context: ctx, IdempotencyKey: stripeapi.String(idempotencyKey)}, nil
}

// CreateCustomer creates the Stripe customer of an account and returns its
// id. It sends nothing personal: only the account_id metadata (Checkout
// collects what the payment needs).
func (c *Client) CreateCustomer(ctx context.Context, idempotencyKey, accountID string) (string, error) {
	p, err := params(ctx, idempotencyKey)
	if err != nil {
		return "", err
	}
	cp := &stripeapi.CustomerParams{Params: p}
	cp.AddMetadata(MetaAccountID, accountID)
	cus, err := c.customers.New(cp)
	if err != nil {
		return "", callError("create customer", err)
	}
	return cus.ID, nil
}

// CheckoutParams is what a Checkout Session is created from.
type CheckoutParams = domain.Checkout

// CheckoutSession is a created Checkout Session.
type CheckoutSession struct {
	ID  string
	URL string
}

// Metadata returns the metadata subledger sets on the session and on the
// payment intent or subscription: account_id, product_id, quantity and,
// when attributed, affiliate_id.
func Metadata(p CheckoutParams) map[string]string {
	md := map[string]string{MetaAccountID: p.AccountID, MetaProductID: p.Product.ID, MetaQuantity: strconv.Itoa(p.Quantity)}
	if p.AffiliateID != "" {
		md[MetaAffiliateID] = p.AffiliateID
	}
	return md
}

// CreateCheckoutSession creates a Checkout Session for p: payment mode for
// a license, subscription mode for a plan, with client_reference_id the
// account id and the same metadata on the session and on
// payment_intent_data (payment mode) or subscription_data (subscription
// mode), so that later charges, refunds, invoices and subscriptions carry
// it too.
func (c *Client) CreateCheckoutSession(ctx context.Context, idempotencyKey string, p CheckoutParams) (CheckoutSession, error) {
	base, err := params(ctx, idempotencyKey)
	if err != nil {
		return CheckoutSession{}, err
	}
	switch {
	case p.AccountID == "" || p.CustomerID == "" || p.Product.ID == "" || p.Product.StripePriceID == "":
		return CheckoutSession{}, errors.New("stripe: a checkout needs an account, a customer and a product with a price")
	case p.Quantity < 1:
		return CheckoutSession{}, errors.New("stripe: a checkout needs a quantity of at least 1")
	case p.SuccessURL == "" || p.CancelURL == "":
		return CheckoutSession{}, errors.New("stripe: a checkout needs a success and a cancel URL")
	}
	md := Metadata(p)
	sp := &stripeapi.CheckoutSessionParams{
		Params:            base,
		Customer:          stripeapi.String(p.CustomerID),
		ClientReferenceID: stripeapi.String(p.AccountID),
		LineItems: []*stripeapi.CheckoutSessionLineItemParams{{
			Price: stripeapi.String(p.Product.StripePriceID), Quantity: stripeapi.Int64(int64(p.Quantity)),
		}},
		SuccessURL: stripeapi.String(p.SuccessURL),
		CancelURL:  stripeapi.String(p.CancelURL),
	}
	sp.Metadata = md
	switch p.Product.Kind {
	case domain.ProductLicense:
		sp.Mode = stripeapi.String(string(stripeapi.CheckoutSessionModePayment))
		sp.PaymentIntentData = &stripeapi.CheckoutSessionPaymentIntentDataParams{Metadata: copyMap(md)}
	case domain.ProductPlan:
		sp.Mode = stripeapi.String(string(stripeapi.CheckoutSessionModeSubscription))
		sp.SubscriptionData = &stripeapi.CheckoutSessionSubscriptionDataParams{Metadata: copyMap(md)}
	default:
		return CheckoutSession{}, fmt.Errorf("stripe: a checkout needs a product of kind %s or %s", domain.ProductLicense, domain.ProductPlan)
	}
	s, err := c.sessions.New(sp)
	if err != nil {
		return CheckoutSession{}, callError("create checkout session", err)
	}
	return CheckoutSession{ID: s.ID, URL: s.URL}, nil
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// CancelSubscription cancels a Stripe subscription at the end of its paid
// period (cancel_at_period_end) or at once.
func (c *Client) CancelSubscription(ctx context.Context, idempotencyKey, subscriptionID string, atPeriodEnd bool) error {
	p, err := params(ctx, idempotencyKey)
	if err != nil {
		return err
	}
	if atPeriodEnd {
		_, err = c.subscriptions.Update(subscriptionID, &stripeapi.SubscriptionParams{Params: p, CancelAtPeriodEnd: stripeapi.Bool(true)})
		if err != nil {
			return callError("cancel subscription at period end", err)
		}
		return nil
	}
	if _, err = c.subscriptions.Cancel(subscriptionID, &stripeapi.SubscriptionCancelParams{Params: p}); err != nil {
		return callError("cancel subscription", err)
	}
	return nil
}

// ReactivateSubscription withdraws a cancellation at period end
// (cancel_at_period_end false).
func (c *Client) ReactivateSubscription(ctx context.Context, idempotencyKey, subscriptionID string) error {
	p, err := params(ctx, idempotencyKey)
	if err != nil {
		return err
	}
	_, err = c.subscriptions.Update(subscriptionID, &stripeapi.SubscriptionParams{Params: p, CancelAtPeriodEnd: stripeapi.Bool(false)})
	if err != nil {
		return callError("reactivate subscription", err)
	}
	return nil
}

// DetachPaymentMethods detaches every payment method saved for a customer
// and returns how many it detached. The detach of each method uses
// idempotencyKey plus the method's id. A customer Stripe no longer has has
// no payment methods: that is success with 0.
func (c *Client) DetachPaymentMethods(ctx context.Context, idempotencyKey, customerID string) (int, error) {
	if _, err := params(ctx, idempotencyKey); err != nil {
		return 0, err
	}
	lp := &stripeapi.CustomerListPaymentMethodsParams{Customer: stripeapi.String(customerID)}
	lp.Context = ctx
	lp.Limit = stripeapi.Int64(100)
	// Collect first, then detach: detaching while paging would move the
	// cursor's ground.
	var ids []string
	it := c.customers.ListPaymentMethods(lp)
	for it.Next() {
		ids = append(ids, it.PaymentMethod().ID)
	}
	if err := it.Err(); err != nil {
		err = callError("list payment methods", err)
		if errors.Is(err, ErrNotFound) {
			return 0, nil
		}
		return 0, err
	}
	n := 0
	for _, id := range ids {
		p, _ := params(ctx, idempotencyKey+":"+id)
		if _, err := c.methods.Detach(id, &stripeapi.PaymentMethodDetachParams{Params: p}); err != nil {
			err = callError("detach payment method", err)
			if errors.Is(err, ErrNotFound) {
				continue // gone since the list
			}
			return n, err
		}
		n++
	}
	return n, nil
}

// DeleteCustomer deletes a Stripe customer (Stripe also cancels its
// subscriptions). A customer Stripe no longer has is deleted: that is
// success, so that a retried erasure completes.
func (c *Client) DeleteCustomer(ctx context.Context, idempotencyKey, customerID string) error {
	p, err := params(ctx, idempotencyKey)
	if err != nil {
		return err
	}
	if _, err := c.customers.Del(customerID, &stripeapi.CustomerParams{Params: p}); err != nil {
		err = callError("delete customer", err)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	}
	return nil
}
