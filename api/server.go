// Package api is subledger's HTTP interface: routes, authentication and
// roles, request validation, problem+json errors, idempotency, metrics and
// the OpenAPI document, on Echo. Handlers are thin: decode, call the domain
// or the projections, encode.
package api

import (
	"context"
	"crypto/ed25519"
	_ "embed"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/projections"
)

//go:embed openapi.json
var openAPIDocument []byte

// MaxBodyBytes is the largest request body accepted (1 MiB).
const MaxBodyBytes = 1 << 20

// Projections is what the server needs of the projector.
type Projections interface {
	View() *projections.View
	WaitFor(ctx context.Context, position uint64) error
	CaughtUp() bool
	Position() uint64
}

// Mailer sends a plain-text e-mail.
type Mailer interface {
	Send(ctx context.Context, to, subject, body string) error
}

// RecordedEvent is one stored event of a stream, decoded, for the history
// and the export.
type RecordedEvent struct {
	ID         string
	Type       string
	Stream     string
	Version    int64
	Position   uint64
	RecordedAt time.Time
	Erased     bool
	Event      domain.Event
}

// APIKey is a service key and its role ("admin" or "store").
type APIKey struct {
	Role string
	Key  string
}

// Config is what the server needs. Service, Projections, History, Shred and
// Catalog are required; the rest have defaults.
type Config struct {
	Service     *domain.Service
	Projections Projections
	// History reads the events of a stream from version from on (limit <= 0:
	// all), with personal fields decrypted while their key exists.
	History func(ctx context.Context, stream string, from int64, limit int) ([]RecordedEvent, error)
	// Shred forgets every key of an erased account (crypto-shredding).
	Shred func(ctx context.Context, accountID string) error
	// ShredAffiliate forgets every key of an erased affiliate.
	ShredAffiliate func(ctx context.Context, affiliateID string) error
	// BeforeErasure, when set, runs before an erasure is recorded, with the
	// account as it is (its Stripe customer id still readable); an error
	// stops the erasure. The Stripe calls of erasure go here.
	BeforeErasure func(ctx context.Context, acc *domain.Account) error
	Catalog       *domain.Catalog
	// LicensePublicKey verifies license keys; served to the vendor's software.
	LicensePublicKey ed25519.PublicKey
	// APIKeys are the service keys; they are kept only as hashes.
	APIKeys []APIKey
	// Mailer sends password-reset mail; nil refuses resets with 503
	// mail_unavailable.
	Mailer Mailer
	// ResetURL, when set, is put in the reset mail with the token appended
	// (for example https://store.example/reset?token=).
	ResetURL string
	Logger   *slog.Logger
	Metrics  *Metrics
	// Now is the clock; time.Now by default.
	Now func() time.Time
	// SessionIdle and SessionMaxAge bound a session's life: default 2h
	// without use, 7 days in all.
	SessionIdle, SessionMaxAge time.Duration
	// WaitTimeout bounds how long a write waits for the projections to
	// apply it before answering; default 10s.
	WaitTimeout time.Duration
	// SignInLimit is the sign-in rate limiting; zero fields take defaults.
	SignInLimit SignInLimit
	// Lag returns how many events the projections are behind the store.
	Lag func() uint64
	// Webhooks handles Stripe's deliveries; nil (no endpoint secret) answers
	// 503 webhooks_unavailable.
	Webhooks Webhooks
	// Payments makes the calls to Stripe (checkout, cancellation); nil (no
	// API key) answers those routes 503 stripe_unavailable.
	Payments Payments
	// PortalURL is the portal's public origin for the links it hands out
	// (default: the request's own host); NoPortal turns portal links off
	// (503 portal_unavailable).
	PortalURL string
	NoPortal  bool
}

// Server is subledger's HTTP handler.
type Server struct {
	echo    *echo.Echo
	cfg     Config
	svc     *domain.Service
	proj    Projections
	log     *slog.Logger
	metrics *Metrics
	now     func() time.Time
	keys    []keyHash
	limits  *signInLimiter
	idem    *inFlight
	routes  []Route
	// background counts work that outlives its request (reset mail).
	background sync.WaitGroup
}

// Route is one route of the API and the callers it admits.
type Route struct {
	Method string
	Path   string
	Access Access
}

// New returns a server with every route registered.
func New(cfg Config) (*Server, error) {
	if cfg.Service == nil || cfg.Projections == nil || cfg.History == nil || cfg.Shred == nil || cfg.ShredAffiliate == nil || cfg.Catalog == nil {
		return nil, errors.New("api: Config.Service, Projections, History, Shred, ShredAffiliate and Catalog are required")
	}
	s := &Server{cfg: cfg, svc: cfg.Service, proj: cfg.Projections, log: cfg.Logger, metrics: cfg.Metrics, now: cfg.Now}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.metrics == nil {
		s.metrics = NewMetrics(nil)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.cfg.SessionIdle <= 0 {
		s.cfg.SessionIdle = 2 * time.Hour
	}
	if s.cfg.SessionMaxAge <= 0 {
		s.cfg.SessionMaxAge = 7 * 24 * time.Hour
	}
	if s.cfg.WaitTimeout <= 0 {
		s.cfg.WaitTimeout = 10 * time.Second
	}
	for _, k := range cfg.APIKeys {
		if k.Role != string(RoleAdmin) && k.Role != string(RoleStore) {
			return nil, errors.New("api: a service key's role must be admin or store")
		}
		if len(k.Key) < 16 {
			return nil, errors.New("api: a service key must be at least 16 characters")
		}
		s.keys = append(s.keys, keyHash{role: Role(k.Role), hash: hashToken(k.Key)})
	}
	s.limits = newSignInLimiter(cfg.SignInLimit, s.now)
	s.idem = newInFlight()

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.Use(s.observe)
	e.Use(middleware.BodyLimit("1M")) // maxBody
	s.echo = e
	s.register()
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

// Close waits for work that outlives its request (reset mails) to end.
func (s *Server) Close() { s.background.Wait() }

// Routes returns every route with the callers it admits.
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes...) }

// handle registers a route: authentication and the role check first, then
// idempotency for POST, then the handler.
func (s *Server) handle(method, path string, access Access, h echo.HandlerFunc) {
	s.add(method, path, access, h, method == http.MethodPost)
}

func (s *Server) add(method, path string, access Access, h echo.HandlerFunc, idempotent bool) {
	s.routes = append(s.routes, Route{Method: method, Path: path, Access: access})
	mws := []echo.MiddlewareFunc{s.authenticate(access)}
	if idempotent {
		mws = append(mws, s.idempotent)
	}
	s.echo.Add(method, path, h, mws...)
}

// register lists every route of the API.
func (s *Server) register() {
	// Operations.
	s.handle(http.MethodGet, "/healthz", Anyone, s.healthz)
	s.handle(http.MethodGet, "/readyz", Anyone, s.readyz)
	s.handle(http.MethodGet, "/metrics", Anyone, s.metricsHandler)
	s.handle(http.MethodGet, "/openapi.json", Anyone, s.openAPI)
	s.handle(http.MethodGet, "/v1/stats", Admin, s.stats)
	s.handle(http.MethodGet, "/v1/marketing/recipients", Admin, s.marketingRecipients)

	// Accounts.
	s.handle(http.MethodPost, "/v1/accounts", Admin|Store, s.createAccount)
	s.handle(http.MethodGet, "/v1/accounts/:id", Admin|Store|Owner, s.getAccount)
	s.handle(http.MethodPatch, "/v1/accounts/:id", Admin|Store|Owner, s.patchAccount)
	s.handle(http.MethodDelete, "/v1/accounts/:id", Admin|Store|Owner, s.eraseAccount)
	s.handle(http.MethodPut, "/v1/accounts/:id/password", Admin|Store|Owner, s.setPassword)
	s.handle(http.MethodGet, "/v1/accounts/:id/export", Admin|Owner, s.exportAccount)
	s.handle(http.MethodGet, "/v1/accounts/:id/events", Admin, s.accountEvents)

	// Sessions and password resets.
	s.handle(http.MethodPost, "/v1/sessions", Anyone, s.signIn)
	s.handle(http.MethodDelete, "/v1/sessions/current", Owner, s.signOut)
	s.handle(http.MethodPost, "/v1/password-resets", Anyone, s.requestPasswordReset)
	s.handle(http.MethodPost, "/v1/password-resets/confirm", Anyone, s.confirmPasswordReset)

	// Catalogue, licenses, subscriptions.
	s.handle(http.MethodGet, "/v1/products", Anyone, s.products)
	s.handle(http.MethodGet, "/v1/license-keys/public-key", Anyone, s.publicKey)
	s.handle(http.MethodGet, "/v1/accounts/:id/licenses", Admin|Store|Owner, s.accountLicenses)
	s.handle(http.MethodGet, "/v1/licenses/:id", Admin|Store|Owner, s.getLicense)
	s.handle(http.MethodGet, "/v1/accounts/:id/subscriptions", Admin|Store|Owner, s.accountSubscriptions)
	s.handle(http.MethodGet, "/v1/subscriptions/:id", Admin|Store|Owner, s.getSubscription)
	s.handle(http.MethodPost, "/v1/checkout-sessions", Store|Owner, s.createCheckoutSession)
	s.handle(http.MethodPost, "/v1/subscriptions/:id/cancel", Admin|Store|Owner, s.cancelSubscription)
	s.handle(http.MethodPost, "/v1/subscriptions/:id/reactivate", Admin|Store|Owner, s.reactivateSubscription)

	// Stripe. No bearer token: the Stripe-Signature header authenticates;
	// no Idempotency-Key either: every Stripe event is recorded once by its
	// own id.
	s.add(http.MethodPost, "/v1/webhooks/stripe", Anyone, s.stripeWebhook, false)

	// Affiliates.
	s.handle(http.MethodPost, "/v1/affiliates", Admin, s.createAffiliate)
	s.handle(http.MethodGet, "/v1/affiliates/:id", Admin|AffiliateSelf, s.getAffiliate)
	s.handle(http.MethodDelete, "/v1/affiliates/:id", Admin|AffiliateSelf, s.eraseAffiliate)
	s.handle(http.MethodGet, "/v1/affiliates/:id/reports/summary", Admin|AffiliateSelf, s.salesSummary)
	s.handle(http.MethodGet, "/v1/affiliates/:id/reports/sales", Admin|AffiliateSelf, s.salesReport)

	// Hosted portal links. A portal session's answer holds a token, so it
	// is not recorded for Idempotency-Key.
	s.add(http.MethodPost, "/v1/portal-sessions", Admin|Store, s.createPortalSession, false)
	s.handle(http.MethodPost, "/v1/affiliate-portal-links", Anyone, s.requestAffiliateLink)
}

// handleError writes every error as problem+json; nothing a client sent
// and no personal data reaches the log, only the route and the code.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	p := problemFor(err)
	if p.Status >= 500 {
		s.log.Error("request failed", "request_id", requestID(c), "route", c.Path(), "error", err.Error())
	}
	if p.Status == http.StatusMethodNotAllowed {
		p.allow = c.Response().Header().Get(echo.HeaderAllow)
	}
	if werr := writeProblem(c, p); werr != nil {
		s.log.Error("writing a problem failed", "request_id", requestID(c), "error", werr.Error())
	}
}

// wait waits until the projections have applied pos (read-your-writes),
// for at most WaitTimeout; the write is durable either way.
func (s *Server) wait(c echo.Context, pos uint64) {
	if pos == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), s.cfg.WaitTimeout)
	defer cancel()
	if err := s.proj.WaitFor(ctx, pos); err != nil {
		s.log.Warn("answering before the projections applied the write", "request_id", requestID(c), "position", pos, "error", err.Error())
	}
}

// ctx returns the request's context carrying the actor and request id to
// the events it appends.
func (s *Server) ctx(c echo.Context) context.Context {
	p := principalOf(c)
	return domain.WithMeta(c.Request().Context(), domain.Meta{Actor: p.actor(), RequestID: requestID(c), CorrelationID: requestID(c)})
}

// pathID returns the :id parameter; a malformed id is a 404, as no
// resource has it.
func pathID(c echo.Context) (string, error) {
	id := c.Param("id")
	if id == "" || len(id) > 255 || strings.ContainsAny(id, "\x00\r\n/") {
		return "", errNotFound("resource")
	}
	return id, nil
}
