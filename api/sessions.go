package api

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"github.com/aseptsoft/subledger/domain"
)

type signInRequest struct {
	Email    *string `json:"email"`
	Password *string `json:"password"`
}

type sessionJSON struct {
	Token     string    `json:"token"`
	AccountID string    `json:"account_id"`
	ExpiresAt time.Time `json:"expires_at"`
}

// signIn starts a session. An unknown e-mail and a wrong password are the
// same 401 invalid_credentials in about the same time (the password is
// hashed against nothing). Attempts are rate limited per client and
// failures per e-mail address (429 rate_limited with Retry-After).
func (s *Server) signIn(c echo.Context) error {
	var req signInRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := required(map[string]bool{"email": req.Email != nil, "password": req.Password != nil}); err != nil {
		return err
	}
	email := domain.NormalizeEmail(*req.Email)
	client := clientOf(c.Request())
	if wait, ok := s.limits.allow(client, email); !ok {
		s.metrics.signInFailures.Inc()
		return &Problem{Status: http.StatusTooManyRequests, Code: domain.CodeRateLimited, Detail: "too many sign-in attempts; try again later", retryAfter: wait}
	}
	accountID := ""
	if a, ok := s.proj.View().AccountByEmail(email); ok && a.Status == domain.AccountStatusActive {
		accountID = a.ID
	}
	sess, token, res, err := s.svc.SignIn(s.ctx(c), domain.SignIn{AccountID: accountID, Password: *req.Password,
		Idle: s.cfg.SessionIdle, MaxAge: s.cfg.SessionMaxAge})
	if err != nil {
		if domain.ErrorCode(err) == domain.CodeInvalidCredentials {
			s.metrics.signInFailures.Inc()
			s.limits.failed(email)
		}
		return err
	}
	setSubject(c, sess.AccountID)
	s.wait(c, res.Position)
	return c.JSON(http.StatusCreated, sessionJSON{Token: token, AccountID: sess.AccountID, ExpiresAt: sess.ExpiresAt.UTC()})
}

// signOut ends the caller's session.
func (s *Server) signOut(c echo.Context) error {
	_, res, err := s.svc.EndSession(s.ctx(c), principalOf(c).sessionID, domain.SessionEndedSignOut)
	if err != nil {
		return err
	}
	s.wait(c, res.Position)
	return c.NoContent(http.StatusNoContent)
}

// clientOf names the client for rate limiting: the connection's address.
// Behind a proxy every client shares its address; a deployment there sets
// the limits accordingly.
func clientOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// SignInLimit configures sign-in rate limiting.
type SignInLimit struct {
	// PerClient is the rate of sign-in attempts per client address, with
	// burst ClientBurst; default 1/s, burst 20.
	PerClient   rate.Limit
	ClientBurst int
	// PerEmail is the rate of failed sign-ins per e-mail address, with
	// burst EmailBurst; default one per 30 s, burst 5.
	PerEmail   rate.Limit
	EmailBurst int
}

// signInLimiter keeps token buckets in memory only, keyed by an HMAC of
// the client address or e-mail address under a key made at start, so it
// holds neither in plain. Idle buckets are swept as the maps grow.
type signInLimiter struct {
	cfg    SignInLimit
	now    func() time.Time
	secret [32]byte

	mu      sync.Mutex
	clients map[[32]byte]*rate.Limiter
	emails  map[[32]byte]*rate.Limiter
}

func newSignInLimiter(cfg SignInLimit, now func() time.Time) *signInLimiter {
	if cfg.PerClient == 0 {
		cfg.PerClient, cfg.ClientBurst = 1, 20
	}
	if cfg.PerEmail == 0 {
		cfg.PerEmail, cfg.EmailBurst = rate.Every(30*time.Second), 5
	}
	cfg.ClientBurst, cfg.EmailBurst = max(cfg.ClientBurst, 1), max(cfg.EmailBurst, 1)
	l := &signInLimiter{cfg: cfg, now: now, clients: map[[32]byte]*rate.Limiter{}, emails: map[[32]byte]*rate.Limiter{}}
	_, _ = rand.Read(l.secret[:])
	return l
}

func (l *signInLimiter) key(kind, v string) [32]byte {
	m := hmac.New(sha256.New, l.secret[:])
	m.Write([]byte(kind + "\x00" + v))
	var k [32]byte
	copy(k[:], m.Sum(nil))
	return k
}

// bucket returns the limiter of k, sweeping full (idle) buckets once the
// map holds many.
func (l *signInLimiter) bucket(m map[[32]byte]*rate.Limiter, k [32]byte, r rate.Limit, burst int, now time.Time) *rate.Limiter {
	if b := m[k]; b != nil {
		return b
	}
	if len(m) >= 100_000 {
		for key, b := range m {
			if b.TokensAt(now) >= float64(burst) {
				delete(m, key)
			}
		}
	}
	b := rate.NewLimiter(r, burst)
	m[k] = b
	return b
}

// allow takes one attempt from the client's bucket and checks that the
// e-mail address has failures left; it returns how long to wait when not.
func (l *signInLimiter) allow(client, email string) (time.Duration, bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.bucket(l.emails, l.key("email", email), l.cfg.PerEmail, l.cfg.EmailBurst, now)
	if e.TokensAt(now) < 1 {
		return waitFor(e, now), false
	}
	cl := l.bucket(l.clients, l.key("client", client), l.cfg.PerClient, l.cfg.ClientBurst, now)
	if !cl.AllowN(now, 1) {
		return waitFor(cl, now), false
	}
	return 0, true
}

// failed spends one of the e-mail address's failures.
func (l *signInLimiter) failed(email string) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.bucket(l.emails, l.key("email", email), l.cfg.PerEmail, l.cfg.EmailBurst, now).AllowN(now, 1)
}

// waitFor returns how long until b has a token.
func waitFor(b *rate.Limiter, now time.Time) time.Duration {
	missing := 1 - b.TokensAt(now)
	if missing <= 0 || b.Limit() <= 0 {
		return time.Second
	}
	return max(time.Duration(missing/float64(b.Limit())*float64(time.Second)), time.Second)
}
