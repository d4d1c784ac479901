package api

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/aseptsoft/subledger/domain"
)

// Webhooks verifies and applies a Stripe webhook delivery; its errors are
// domain errors (400 invalid_signature or malformed_event, or internal).
type Webhooks interface {
	Handle(ctx context.Context, payload []byte, signature string) (position uint64, note string, err error)
}

// stripeWebhook takes a delivery: the raw body is verified before anything
// is parsed, the event applied and its receipt recorded, and the answer
// waits for the projections. 200 {"received": true} for a verified event,
// a duplicate and an ignored one alike; 400 for a bad signature or body,
// changing nothing; 5xx for a failure of subledger's own, which Stripe
// retries.
func (s *Server) stripeWebhook(c echo.Context) error {
	if s.cfg.Webhooks == nil {
		return problem(http.StatusServiceUnavailable, "webhooks_unavailable", "no Stripe webhook secret is configured on this server")
	}
	payload, err := readBody(c)
	if err != nil {
		return err // over the body limit: 413
	}
	ctx := domain.WithMeta(c.Request().Context(), domain.Meta{Actor: "stripe", RequestID: requestID(c), CorrelationID: requestID(c)})
	pos, note, err := s.cfg.Webhooks.Handle(ctx, payload, c.Request().Header.Get("Stripe-Signature"))
	if err != nil {
		if p := problemFor(err); p.Status < 500 {
			s.log.Info("stripe webhook refused", "request_id", requestID(c), "code", p.Code)
		}
		return err
	}
	s.log.Info("stripe webhook", "request_id", requestID(c), "event", note)
	s.wait(c, pos)
	return c.JSON(http.StatusOK, map[string]bool{"received": true})
}
