package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/aseptsoft/subledger/domain"
)

// Payments is what the API asks of Stripe. Every call takes an idempotency
// key, so that a retry never does the work twice; a failure is a domain
// error of kind KindUpstream (502 stripe_unavailable).
type Payments interface {
	CreateCustomer(ctx context.Context, idempotencyKey, accountID string) (customerID string, err error)
	CreateCheckoutSession(ctx context.Context, idempotencyKey string, r domain.Checkout) (id, url string, err error)
	CancelSubscription(ctx context.Context, idempotencyKey, stripeSubscriptionID string, atPeriodEnd bool) error
	ReactivateSubscription(ctx context.Context, idempotencyKey, stripeSubscriptionID string) error
}

type checkoutRequest struct {
	AccountID     *string `json:"account_id"`
	ProductID     *string `json:"product_id"`
	Quantity      *int    `json:"quantity"`
	AffiliateCode *string `json:"affiliate_code"`
	SuccessURL    *string `json:"success_url"`
	CancelURL     *string `json:"cancel_url"`
}

// maxQuantity bounds the seats of one checkout.
const maxQuantity = 10_000

// validURL accepts an absolute http(s) URL of at most 2048 bytes.
func validURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && len(s) <= 2048 && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// createCheckoutSession starts a Stripe Checkout: payment mode for a
// license, subscription mode for a plan, with the account and the
// attribution in the metadata. The account's Stripe customer is made once
// (an idempotency key per account) and linked, encrypted, once the session
// exists: a Stripe failure records nothing.
func (s *Server) createCheckoutSession(c echo.Context) error {
	if s.cfg.Payments == nil {
		return problem(http.StatusServiceUnavailable, domain.CodeStripeUnavailable, "no Stripe API key is configured on this server")
	}
	var req checkoutRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	var errs []domain.FieldError
	field := func(ok bool, name, code string) {
		if !ok {
			errs = append(errs, domain.FieldError{Field: name, Code: code})
		}
	}
	field(req.AccountID != nil && *req.AccountID != "", "account_id", domain.FieldRequired)
	field(req.ProductID != nil && *req.ProductID != "", "product_id", domain.FieldRequired)
	field(req.Quantity == nil || (*req.Quantity >= 1 && *req.Quantity <= maxQuantity), "quantity", domain.FieldRange)
	field(req.SuccessURL != nil && validURL(*req.SuccessURL), "success_url", domain.FieldInvalid)
	field(req.CancelURL != nil && validURL(*req.CancelURL), "cancel_url", domain.FieldInvalid)
	if len(errs) > 0 {
		return &Problem{Status: http.StatusUnprocessableEntity, Code: domain.CodeValidationFailed, Detail: "the request has invalid fields", Errors: errs}
	}
	accountID := *req.AccountID
	if err := ownAccount(c, accountID); err != nil {
		return err
	}
	product, ok := s.cfg.Catalog.Product(*req.ProductID)
	if !ok {
		return &Problem{Status: http.StatusUnprocessableEntity, Code: domain.CodeUnknownProduct, Detail: "no product has this id",
			Errors: []domain.FieldError{{Field: "product_id", Code: domain.FieldInvalid}}}
	}
	ctx := s.ctx(c)
	acc, err := s.svc.Account(ctx, accountID)
	if err != nil {
		return err
	}
	switch acc.Status {
	case domain.AccountStatusClosed:
		return domain.Errorf(domain.KindConflict, domain.CodeAccountClosed, "the account is closed")
	case domain.AccountStatusErased:
		return domain.Errorf(domain.KindConflict, domain.CodeAccountErased, "the account was erased")
	}
	affiliateID := ""
	if req.AffiliateCode != nil && *req.AffiliateCode != "" {
		if affiliateID, err = s.svc.AffiliateIDForCode(ctx, *req.AffiliateCode); err != nil {
			return err
		}
	}
	customerID, link := acc.StripeCustomerID, false
	if customerID == "" {
		if customerID, err = s.cfg.Payments.CreateCustomer(ctx, "customer-"+accountID, accountID); err != nil {
			return err
		}
		link = true
	}
	quantity := 1
	if req.Quantity != nil {
		quantity = *req.Quantity
	}
	id, sessionURL, err := s.cfg.Payments.CreateCheckoutSession(ctx, s.stripeKey(c, "checkout"), domain.Checkout{AccountID: accountID, CustomerID: customerID,
		Product: product, Quantity: quantity, AffiliateID: affiliateID, SuccessURL: *req.SuccessURL, CancelURL: *req.CancelURL})
	if err != nil {
		return err
	}
	if link {
		_, res, err := s.svc.LinkStripeCustomer(ctx, domain.LinkStripeCustomer{AccountID: accountID, CustomerID: customerID})
		if err != nil {
			return err
		}
		s.wait(c, res.Position)
	}
	setSubject(c, accountID)
	return c.JSON(http.StatusCreated, map[string]string{"id": id, "url": sessionURL})
}

// stripeKey returns the idempotency key of a Stripe call: derived from the
// request's own Idempotency-Key (and caller), so that a repeat of the
// request repeats the call harmlessly, or a new random one.
func (s *Server) stripeKey(c echo.Context, op string) string {
	if k := c.Request().Header.Get("Idempotency-Key"); k != "" {
		sum := sha256.Sum256([]byte(principalOf(c).caller() + "\x00" + k))
		return op + "-" + hex.EncodeToString(sum[:16])
	}
	return op + "-" + uuid.NewString()
}

type cancelRequest struct {
	AtPeriodEnd *bool `json:"at_period_end"`
}

// ownedSubscription returns the subscription of :id the caller may touch.
func (s *Server) ownedSubscription(c echo.Context) (*domain.Subscription, error) {
	id, err := pathID(c)
	if err != nil {
		return nil, err
	}
	sub, err := s.svc.Subscription(s.ctx(c), id)
	if err != nil {
		return nil, err
	}
	if !owned(c, sub.AccountID) {
		return nil, errNotFound("subscription")
	}
	return sub, nil
}

// cancelSubscription cancels at the end of the paid period (the default)
// or at once: Stripe first, then the record, so that subledger never shows
// a cancellation that Stripe did not make.
func (s *Server) cancelSubscription(c echo.Context) error {
	if s.cfg.Payments == nil {
		return problem(http.StatusServiceUnavailable, domain.CodeStripeUnavailable, "no Stripe API key is configured on this server")
	}
	var req cancelRequest
	if c.Request().ContentLength != 0 {
		if err := decode(c, &req); err != nil {
			return err
		}
	}
	atPeriodEnd := req.AtPeriodEnd == nil || *req.AtPeriodEnd
	sub, err := s.ownedSubscription(c)
	if err != nil {
		return err
	}
	if sub.Status == domain.SubscriptionStatusEnded {
		if atPeriodEnd {
			return domain.Errorf(domain.KindConflict, domain.CodeSubscriptionEnded, "the subscription has ended")
		}
		return c.JSON(http.StatusOK, subscriptionFromDomain(sub))
	}
	ctx := s.ctx(c)
	if err := s.cfg.Payments.CancelSubscription(ctx, s.stripeKey(c, "cancel"), sub.StripeSubscriptionID, atPeriodEnd); err != nil {
		return err
	}
	after, res, err := s.svc.CancelSubscription(ctx, domain.CancelSubscription{SubscriptionID: sub.ID, AtPeriodEnd: atPeriodEnd})
	if err != nil {
		return err
	}
	s.wait(c, res.Position)
	return c.JSON(http.StatusOK, subscriptionFromDomain(after))
}

// reactivateSubscription withdraws a cancellation at period end before the
// period ends.
func (s *Server) reactivateSubscription(c echo.Context) error {
	if s.cfg.Payments == nil {
		return problem(http.StatusServiceUnavailable, domain.CodeStripeUnavailable, "no Stripe API key is configured on this server")
	}
	sub, err := s.ownedSubscription(c)
	if err != nil {
		return err
	}
	switch {
	case sub.Status == domain.SubscriptionStatusEnded:
		return domain.Errorf(domain.KindConflict, domain.CodeSubscriptionEnded, "the subscription has ended")
	case !sub.CurrentPeriodEnd.IsZero() && !s.now().Before(sub.CurrentPeriodEnd):
		return domain.Errorf(domain.KindConflict, domain.CodePeriodOver, "the paid period is over")
	}
	ctx := s.ctx(c)
	if sub.CancelAtPeriodEnd {
		if err := s.cfg.Payments.ReactivateSubscription(ctx, s.stripeKey(c, "reactivate"), sub.StripeSubscriptionID); err != nil {
			return err
		}
	}
	after, res, err := s.svc.ReactivateSubscription(ctx, domain.ReactivateSubscription{SubscriptionID: sub.ID})
	if err != nil {
		return err
	}
	s.wait(c, res.Position)
	return c.JSON(http.StatusOK, subscriptionFromDomain(after))
}
