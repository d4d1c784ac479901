package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aseptsoft/subledger/domain"
)

// PortalSession is what the hosted portal keeps in its cookie: the token of
// a customer session (the one POST /v1/sessions makes) or of an affiliate
// session. Either is a bearer token of this API, so every page the portal
// shows and every action it takes is a request to the API's own routes.
type PortalSession struct {
	Token       string
	AccountID   string
	AffiliateID string
	ExpiresAt   time.Time
}

// The three portal sign-ins below have no route of their own: they are
// how the portal's pages turn a link or a key into a session.

// RedeemPortalLink spends a portal link and starts the session it stands
// for (a customer's or an affiliate's), with the API's session bounds.
// Unknown, spent, expired and forged links are all 422 invalid_token.
func (s *Server) RedeemPortalLink(r *http.Request, requestID, token string) (PortalSession, *Problem) {
	ctx := s.portalCtx(r, requestID)
	in, res, err := s.svc.RedeemPortalLink(ctx, token, s.cfg.SessionIdle, s.cfg.SessionMaxAge)
	if err != nil {
		return PortalSession{}, s.portalProblem(requestID, err)
	}
	s.waitCtx(ctx, requestID, res.Position)
	if in.Session != nil {
		return PortalSession{Token: in.Token, AccountID: in.Session.AccountID, ExpiresAt: in.Session.ExpiresAt}, nil
	}
	return PortalSession{Token: in.Token, AffiliateID: in.AffiliateSession.AffiliateID, ExpiresAt: in.AffiliateSession.ExpiresAt}, nil
}

// SignInAffiliateKey starts an affiliate session for the holder of an
// affiliate API key; 401 invalid_credentials for a key no affiliate has.
// Attempts are rate limited per client address like sign-ins.
func (s *Server) SignInAffiliateKey(r *http.Request, requestID, key string) (PortalSession, *Problem) {
	client := clientOf(r)
	limitKey := "affiliate-key:" + client
	if wait, ok := s.limits.allow(client, limitKey); !ok {
		return PortalSession{}, &Problem{Status: http.StatusTooManyRequests, Code: domain.CodeRateLimited, Detail: "too many sign-in attempts; try again later", retryAfter: wait}
	}
	key = strings.TrimSpace(key)
	aff, ok := s.proj.View().AffiliateByAPIKeyHash(domain.HashAPIKey(key))
	if key == "" || !ok || !aff.ErasedAt.IsZero() {
		s.limits.failed(limitKey)
		s.metrics.signInFailures.Inc()
		return PortalSession{}, problem(http.StatusUnauthorized, domain.CodeInvalidCredentials, "the API key is not valid")
	}
	ctx := s.portalCtx(r, requestID)
	sess, token, res, err := s.svc.StartAffiliateSession(ctx, aff.ID, s.cfg.SessionIdle, s.cfg.SessionMaxAge)
	if err != nil {
		return PortalSession{}, s.portalProblem(requestID, err)
	}
	s.waitCtx(ctx, requestID, res.Position)
	return PortalSession{Token: token, AffiliateID: aff.ID, ExpiresAt: sess.ExpiresAt}, nil
}

// SignOutAffiliate ends an affiliate session.
func (s *Server) SignOutAffiliate(r *http.Request, requestID, token string) *Problem {
	ctx := s.portalCtx(r, requestID)
	res, err := s.svc.EndAffiliateSession(ctx, token)
	if err != nil {
		return s.portalProblem(requestID, err)
	}
	s.waitCtx(ctx, requestID, res.Position)
	return nil
}

// RetryAfter is how long a rate-limited caller should wait (0 otherwise).
func (p *Problem) RetryAfter() time.Duration { return p.retryAfter }

func (s *Server) portalCtx(r *http.Request, requestID string) context.Context {
	return domain.WithMeta(r.Context(), domain.Meta{Actor: "portal", RequestID: requestID, CorrelationID: requestID})
}

func (s *Server) portalProblem(requestID string, err error) *Problem {
	p := problemFor(err)
	if p.Status >= 500 {
		s.log.Error("portal sign-in failed", "request_id", requestID, "error", err.Error())
	}
	return p
}

func (s *Server) waitCtx(ctx context.Context, requestID string, pos uint64) {
	if pos == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.WaitTimeout)
	defer cancel()
	if err := s.proj.WaitFor(ctx, pos); err != nil {
		s.log.Warn("answering before the projections applied the write", "request_id", requestID, "position", pos, "error", err.Error())
	}
}

// identifyAffiliateSession resolves an affiliate session token (prefix
// slq_) from its own stream: active within its idle and absolute expiry,
// of an affiliate that exists and is not erased. A use is recorded once a
// tenth of the idle timeout has passed since the last one.
func (s *Server) identifyAffiliateSession(c echo.Context, token string) (principal, bool) {
	ctx := s.ctx(c)
	sess, err := s.svc.AffiliateSessionFor(ctx, token)
	if err != nil {
		if domain.ErrorKind(err) != domain.KindUnauthenticated {
			s.log.Warn("reading an affiliate session failed", "request_id", requestID(c), "error", err.Error())
		}
		return principal{}, false
	}
	if aff, ok := s.proj.View().Affiliate(sess.AffiliateID); !ok || !aff.ErasedAt.IsZero() {
		return principal{}, false
	}
	if s.now().UTC().Sub(sess.LastSeenAt) > s.cfg.SessionIdle/10 {
		if _, err := s.svc.TouchAffiliateSession(ctx, token); err != nil {
			s.log.Warn("recording an affiliate session's use failed", "request_id", requestID(c), "error", err.Error())
		}
	}
	return principal{role: RoleAffiliate, affiliateID: sess.AffiliateID}, true
}
