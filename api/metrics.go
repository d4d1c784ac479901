package api

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the Prometheus metrics of the server. The store's append
// latency and the projection lag are registered by whoever owns them
// (cmd/subledger) in the same registry.
type Metrics struct {
	Registry         *prometheus.Registry
	requests         *prometheus.HistogramVec
	signInFailures   prometheus.Counter
	erasures         prometheus.Counter
	idempotentReplay prometheus.Counter
	stripeFailures   prometheus.Counter
	handler          http.Handler
}

// NewMetrics registers the server's metrics in reg (a new registry when
// nil).
func NewMetrics(reg *prometheus.Registry) *Metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &Metrics{
		Registry: reg,
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "subledger_http_request_duration_seconds", Help: "HTTP request duration by route pattern, method and status.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method", "status"}),
		signInFailures:   prometheus.NewCounter(prometheus.CounterOpts{Name: "subledger_sign_in_failures_total", Help: "Sign-ins refused (wrong credentials or rate limited)."}),
		erasures:         prometheus.NewCounter(prometheus.CounterOpts{Name: "subledger_erasures_total", Help: "Account erasures carried out by the API (keys shredded)."}),
		idempotentReplay: prometheus.NewCounter(prometheus.CounterOpts{Name: "subledger_idempotent_replays_total", Help: "Requests answered from an Idempotency-Key record."}),
		stripeFailures:   prometheus.NewCounter(prometheus.CounterOpts{Name: "subledger_stripe_outbox_failures_total", Help: "Outbox calls to Stripe that failed and are tried again."}),
	}
	reg.MustRegister(m.requests, m.signInFailures, m.erasures, m.idempotentReplay, m.stripeFailures)
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	return m
}

// Erasure counts one erasure carried out elsewhere (the jobs).
func (m *Metrics) Erasure() { m.erasures.Inc() }

// StripeCallFailed counts one failed outbox call to Stripe.
func (m *Metrics) StripeCallFailed() { m.stripeFailures.Inc() }

func (s *Server) metricsHandler(c echo.Context) error {
	s.metrics.handler.ServeHTTP(c.Response(), c.Request())
	return nil
}

// requestID returns the request's id.
func requestID(c echo.Context) string {
	id, _ := c.Get("request_id").(string)
	return id
}

// newRequestID returns a random request id.
func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// validRequestID accepts a caller's X-Request-Id of up to 64 characters of
// [A-Za-z0-9-_.], so that it may be logged and stored.
func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// observe gives each request an id (the caller's X-Request-Id when it is
// plain, otherwise a new one), recovers panics, and records the request's
// duration by route pattern and status, and one log line: request id,
// method, route pattern, status and duration. Never the client's address,
// the path's values, a header or a body.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		start := time.Now()
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if !validRequestID(id) {
			id = newRequestID()
		}
		c.Set("request_id", id)
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("panic: %v", r)
				s.log.Error("handler panicked", "request_id", id, "route", c.Path())
			}
			if err != nil {
				c.Error(err)
			}
			status := c.Response().Status
			d := time.Since(start)
			route := c.Path()
			if route == "" || (status == http.StatusNotFound || status == http.StatusMethodNotAllowed) && c.Get("principal") == nil {
				route = "unmatched"
			}
			s.metrics.requests.WithLabelValues(route, c.Request().Method, strconv.Itoa(status)).Observe(d.Seconds())
			s.log.Info("request", "request_id", id, "method", c.Request().Method, "route", route, "status", status, "duration_ms", float64(d.Microseconds())/1000)
			err = nil
		}()
		return next(c)
	}
}
