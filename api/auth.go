package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/aseptsoft/subledger/domain"
)

// Role is the kind of caller a bearer token stands for.
type Role string

// Roles.
const (
	RoleNone      Role = ""
	RoleAdmin     Role = "admin"
	RoleStore     Role = "store"
	RoleCustomer  Role = "customer"
	RoleAffiliate Role = "affiliate"
)

// Access is the set of callers a route admits.
type Access uint8

// Callers. Owner is a customer's session on its own resources (another
// customer's resources answer 404, so that their existence does not leak);
// AffiliateSelf is an affiliate on its own resources; Anyone needs no
// token at all (a token given is ignored).
const (
	Admin Access = 1 << iota
	Store
	Owner
	AffiliateSelf
	Anyone
)

// principal is the authenticated caller of a request.
type principal struct {
	role        Role
	accountID   string // RoleCustomer
	sessionID   string // RoleCustomer
	affiliateID string // RoleAffiliate
	keyHash     [32]byte
}

// actor names the caller in event metadata: a role and a random id, never
// a token.
func (p principal) actor() string {
	switch p.role {
	case RoleCustomer:
		return "customer:" + p.accountID
	case RoleAffiliate:
		return "affiliate:" + p.affiliateID
	case RoleNone:
		return "anonymous"
	}
	return string(p.role)
}

// caller scopes Idempotency-Keys: two callers never share a record.
func (p principal) caller() string {
	switch p.role {
	case RoleCustomer:
		return "customer:" + p.sessionID
	case RoleAffiliate:
		return "affiliate:" + p.affiliateID
	case RoleAdmin, RoleStore:
		return string(p.role) + ":" + string(p.keyHash[:])
	}
	return "anonymous"
}

func principalOf(c echo.Context) principal {
	p, _ := c.Get("principal").(principal)
	return p
}

// keyHash is a service key kept as its SHA-256.
type keyHash struct {
	role Role
	hash [32]byte
}

func hashToken(t string) [32]byte { return sha256.Sum256([]byte(t)) }

// bearer returns the token of an "Authorization: Bearer" header.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get(echo.HeaderAuthorization)
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return "", false
	}
	t := strings.TrimSpace(h[7:])
	return t, t != "" && len(t) <= 512
}

// identify resolves a token: a service key (compared in constant time
// against every configured key's hash), a customer session (looked up by
// its hash in the projections, active only within its idle and absolute
// expiry), or an affiliate key (looked up by its hash).
func (s *Server) identify(c echo.Context, token string) (principal, bool) {
	if strings.HasPrefix(token, domain.AffiliateSessionTokenPrefix) {
		return s.identifyAffiliateSession(c, token)
	}
	h := hashToken(token)
	role := RoleNone
	for _, k := range s.keys {
		if subtle.ConstantTimeCompare(h[:], k.hash[:]) == 1 {
			role = k.role
		}
	}
	if role != RoleNone {
		return principal{role: role, keyHash: h}, true
	}
	// Sessions and affiliate keys are stored by the hex of the same SHA-256
	// (domain.HashToken, domain.HashAPIKey): computed once here.
	digest := hex.EncodeToString(h[:])
	view := s.proj.View()
	if sess, ok := view.SessionByTokenHash(digest); ok {
		now := s.now().UTC()
		if !sess.ActiveAt(now) {
			return principal{}, false
		}
		// The idle expiry moves with use; recording every use would make
		// every read a write, so a use is recorded once a tenth of the idle
		// timeout has passed since the last one.
		if now.Sub(sess.LastSeenAt) > s.cfg.SessionIdle/10 {
			if _, res, err := s.svc.TouchSession(s.ctx(c), sess.ID); err != nil {
				if domain.ErrorKind(err) == domain.KindUnauthenticated {
					return principal{}, false
				}
				s.log.Warn("recording a session's use failed", "request_id", requestID(c), "error", err.Error())
			} else {
				s.wait(c, res.Position)
			}
		}
		return principal{role: RoleCustomer, accountID: sess.AccountID, sessionID: sess.ID}, true
	}
	if aff, ok := view.AffiliateByAPIKeyHash(digest); ok {
		return principal{role: RoleAffiliate, affiliateID: aff.ID}, true
	}
	return principal{}, false
}

// authenticate admits the callers of access: 401 unauthenticated without a
// known token, 403 forbidden for a role the route does not take. Whether a
// customer or affiliate owns the resource is checked by the handler (404).
func (s *Server) authenticate(access Access) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if access&Anyone != 0 {
				c.Set("principal", principal{})
				return next(c)
			}
			token, ok := bearer(c.Request())
			if !ok {
				return errUnauthenticated()
			}
			p, ok := s.identify(c, token)
			if !ok {
				return errUnauthenticated()
			}
			c.Set("principal", p)
			if !admits(access, p.role) {
				return errForbidden()
			}
			return next(c)
		}
	}
}

// admits reports whether access takes a role.
func admits(access Access, r Role) bool {
	switch r {
	case RoleAdmin:
		return access&Admin != 0
	case RoleStore:
		return access&Store != 0
	case RoleCustomer:
		return access&Owner != 0
	case RoleAffiliate:
		return access&AffiliateSelf != 0
	}
	return false
}

// accountParam returns the :id of an account route that the caller may
// touch (see ownAccount).
func accountParam(c echo.Context) (string, error) {
	id, err := pathID(c)
	if err != nil {
		return "", err
	}
	return id, ownAccount(c, id)
}

// ownAccount checks that the caller may touch account id: a customer only
// its own (another's is 404, revealing nothing).
func ownAccount(c echo.Context, id string) error {
	p := principalOf(c)
	if p.role == RoleCustomer && p.accountID != id {
		return errNotFound("account")
	}
	return nil
}
