// Package portal serves subledger's hosted pages: the customer's account
// page (/portal/account) and the affiliate's reports page
// (/portal/affiliate), server-rendered with html/template and one embedded
// stylesheet; every page works without JavaScript.
//
// The portal has no path of its own to the data. Its cookie holds a bearer
// token of the API (a customer session, or an affiliate session), and every
// page it shows and every action it takes is a request to the API's own
// route, served in-process by the API's handler: the same authentication,
// roles, validation, domain command or projection query, and error codes
// as over HTTP. Only the sign-ins (a portal link, an affiliate key) are
// calls of their own, on the API server (api.Server.RedeemPortalLink,
// SignInAffiliateKey).
package portal

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aseptsoft/subledger/api"
)

// Backend is what the portal needs of the API server.
type Backend interface {
	http.Handler
	RedeemPortalLink(r *http.Request, requestID, token string) (api.PortalSession, *api.Problem)
	SignInAffiliateKey(r *http.Request, requestID, key string) (api.PortalSession, *api.Problem)
	SignOutAffiliate(r *http.Request, requestID, token string) *api.Problem
}

// Config is what the portal needs. API is required.
type Config struct {
	API Backend
	// Secret keys the CSRF tokens (at least 32 bytes; every replica must
	// share it); default a random one for this process.
	Secret []byte
	// PublicURL is the portal's public origin (for example
	// https://billing.example.com): the origin forms must come from, and
	// https makes the cookies Secure. Default: the request's own host.
	PublicURL string
	Logger    *slog.Logger
	// Now is the clock; time.Now by default.
	Now func() time.Time
}

// Portal is the portal's http.Handler, for paths under /portal/.
type Portal struct {
	api    Backend
	secret []byte
	origin string // scheme://host of PublicURL, or ""
	secure bool
	log    *slog.Logger
	now    func() time.Time
	pages  *pages
	mux    *http.ServeMux
}

// New returns the portal.
func New(cfg Config) (*Portal, error) {
	if cfg.API == nil {
		return nil, errors.New("portal: Config.API is required")
	}
	p := &Portal{api: cfg.API, secret: cfg.Secret, log: cfg.Logger, now: cfg.Now}
	if len(p.secret) == 0 {
		p.secret = make([]byte, 32)
		_, _ = rand.Read(p.secret)
	}
	if len(p.secret) < 32 {
		return nil, errors.New("portal: Config.Secret must be at least 32 bytes")
	}
	if cfg.PublicURL != "" {
		u, err := url.Parse(cfg.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, errors.New("portal: Config.PublicURL must be an http or https origin")
		}
		p.origin, p.secure = u.Scheme+"://"+u.Host, u.Scheme == "https"
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	if p.now == nil {
		p.now = time.Now
	}
	pg, err := parsePages()
	if err != nil {
		return nil, err
	}
	p.pages = pg
	p.routes()
	return p, nil
}

// Mount returns a handler that sends /portal and everything under it to
// the portal and the rest to next (the API).
func Mount(next http.Handler, p *Portal) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/portal" || strings.HasPrefix(r.URL.Path, "/portal/") {
			p.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// routes lists every page and action.
func (p *Portal) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /portal/static/{file}", p.static)
	m.HandleFunc("GET /portal/{$}", p.home)
	m.HandleFunc("GET /portal/link", p.link)
	m.HandleFunc("GET /portal/sign-in/link", p.confirmLinkPage)
	m.HandleFunc("POST /portal/sign-in/link", p.form(p.confirmLink))
	m.HandleFunc("GET /portal/sign-in", p.signInPage)
	m.HandleFunc("POST /portal/sign-in", p.form(p.signIn))
	m.HandleFunc("POST /portal/affiliate/sign-in", p.form(p.affiliateKeySignIn))
	m.HandleFunc("POST /portal/affiliate/link", p.form(p.affiliateLink))
	m.HandleFunc("POST /portal/sign-out", p.form(p.signOut))

	m.HandleFunc("GET /portal/account", p.customer(p.accountPage))
	m.HandleFunc("POST /portal/account/details", p.form(p.customer(p.changeDetails)))
	m.HandleFunc("POST /portal/account/consent", p.form(p.customer(p.changeConsent)))
	m.HandleFunc("POST /portal/account/password", p.form(p.customer(p.changePassword)))
	m.HandleFunc("POST /portal/account/subscriptions/{id}/cancel", p.form(p.customer(p.cancelSubscription)))
	m.HandleFunc("POST /portal/account/subscriptions/{id}/reactivate", p.form(p.customer(p.reactivateSubscription)))
	m.HandleFunc("GET /portal/account/export", p.customer(p.export))
	m.HandleFunc("POST /portal/account/delete", p.form(p.customer(p.deleteAccount)))

	m.HandleFunc("GET /portal/affiliate", p.affiliate(p.affiliatePage))
	m.HandleFunc("GET /portal/affiliates/{id}", p.affiliate(p.affiliatePage))
	m.HandleFunc("GET /portal/affiliate/summary.csv", p.affiliate(p.csv("summary")))
	m.HandleFunc("GET /portal/affiliate/sales.csv", p.affiliate(p.csv("sales")))
	m.HandleFunc("/portal/", p.notFound)
	p.mux = m
}

// ServeHTTP sets the security headers, serves the request and logs one
// line: request id, method, route pattern, status, duration; never a path's
// values, a header, a form or an address.
func (p *Portal) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rid := r.Header.Get("X-Request-Id")
	if !plainRequestID(rid) {
		var b [12]byte
		_, _ = rand.Read(b[:])
		rid = hex.EncodeToString(b[:])
	}
	r.Header.Set("X-Request-Id", rid)
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Request-Id", rid)
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	r.Body = http.MaxBytesReader(sw, r.Body, 64<<10)
	p.mux.ServeHTTP(sw, r)
	route := r.Pattern
	if route == "" {
		route = "unmatched"
	}
	p.log.Info("portal request", "request_id", rid, "method", r.Method, "route", route, "status", sw.status,
		"duration_ms", float64(time.Since(start).Microseconds())/1000)
}

func plainRequestID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// statusWriter remembers the status a handler sent.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// requestID is the request's id (set by ServeHTTP).
func requestID(r *http.Request) string { return r.Header.Get("X-Request-Id") }
