package domain

import (
	"context"
	"time"
)

// AffiliateSession is an affiliate's signed-in session on the hosted
// portal, started by a mailed link or by the affiliate's API key. Its token
// is never stored: the stream is named by the token's hash, so a request
// finds it without an index. It ends on sign-out, after its idle timeout,
// at its absolute expiry, and when the affiliate is erased (checked on use).
type AffiliateSession struct {
	ID          string
	AffiliateID string
	StartedAt   time.Time
	LastSeenAt  time.Time
	ExpiresAt   time.Time
	IdleTimeout time.Duration
	Ended       bool

	changes []Event
}

func newAffiliateSession() *AffiliateSession { return &AffiliateSession{} }

func (a *AffiliateSession) uncommitted() *[]Event { return &a.changes }

func (a *AffiliateSession) record(e Event) {
	a.apply(e)
	a.changes = append(a.changes, e)
}

// AffiliateSessionStarted records a sign-in to the affiliate portal. It
// holds no personal data.
type AffiliateSessionStarted struct {
	SessionID          string    `json:"session_id"`
	AffiliateID        string    `json:"affiliate_id"`
	StartedAt          time.Time `json:"started_at"`
	ExpiresAt          time.Time `json:"expires_at"`
	IdleTimeoutSeconds int64     `json:"idle_timeout_seconds"`
}

// AffiliateSessionTouched records a use; it moves the idle expiry.
type AffiliateSessionTouched struct {
	SessionID string    `json:"session_id"`
	At        time.Time `json:"at"`
}

// AffiliateSessionEnded records a sign-out.
type AffiliateSessionEnded struct {
	SessionID string    `json:"session_id"`
	EndedAt   time.Time `json:"ended_at"`
}

func (AffiliateSessionStarted) EventType() string { return "affiliate_session.started.v1" }
func (AffiliateSessionTouched) EventType() string { return "affiliate_session.touched.v1" }
func (AffiliateSessionEnded) EventType() string   { return "affiliate_session.ended.v1" }

// apply is the only place an AffiliateSession changes.
func (a *AffiliateSession) apply(e Event) {
	switch e := e.(type) {
	case AffiliateSessionStarted:
		a.ID, a.AffiliateID = e.SessionID, e.AffiliateID
		a.StartedAt, a.LastSeenAt, a.ExpiresAt = e.StartedAt, e.StartedAt, e.ExpiresAt
		a.IdleTimeout = time.Duration(e.IdleTimeoutSeconds) * time.Second
	case AffiliateSessionTouched:
		if e.At.After(a.LastSeenAt) {
			a.LastSeenAt = e.At
		}
	case AffiliateSessionEnded:
		a.Ended = true
	}
}

// ActiveAt reports whether the session may be used at now (the rule of
// customer sessions).
func (a *AffiliateSession) ActiveAt(now time.Time) bool {
	return a.ID != "" && SessionActive(a.Ended, now, a.ExpiresAt, a.LastSeenAt, a.IdleTimeout)
}

func (a *AffiliateSession) start(e AffiliateSessionStarted) error {
	if a.ID != "" {
		return Errorf(KindConflict, CodeConflict, "token collision")
	}
	a.record(e)
	return nil
}

func (a *AffiliateSession) touch(at time.Time) error {
	if !a.ActiveAt(at) {
		return Errorf(KindUnauthenticated, CodeUnauthenticated, "the session has ended")
	}
	if at.After(a.LastSeenAt) {
		a.record(AffiliateSessionTouched{SessionID: a.ID, At: at})
	}
	return nil
}

func (a *AffiliateSession) end(at time.Time) error {
	if a.ID != "" && !a.Ended {
		a.record(AffiliateSessionEnded{SessionID: a.ID, EndedAt: at})
	}
	return nil
}

// AffiliateSessionStream returns the stream of an affiliate session by its
// token's hash.
func AffiliateSessionStream(tokenHash string) string { return "affiliate_session-" + tokenHash }

// AffiliateSessionTokenPrefix starts every affiliate session token, so that
// authentication knows where to look it up.
const AffiliateSessionTokenPrefix = "slq_"

// StartAffiliateSession starts a portal session for an affiliate that is not
// erased; the token is returned once and stored only as its hash.
func (s *Service) StartAffiliateSession(ctx context.Context, affiliateID string, idle, maxAge time.Duration) (*AffiliateSession, string, Result, error) {
	aff, err := s.Affiliate(ctx, affiliateID)
	if err != nil {
		return nil, "", Result{}, err
	}
	if !aff.ErasedAt.IsZero() {
		return nil, "", Result{}, notFound("affiliate")
	}
	token, err := newToken(s.random, AffiliateSessionTokenPrefix)
	if err != nil {
		return nil, "", Result{}, err
	}
	if maxAge <= 0 {
		maxAge = 24 * time.Hour
	}
	now := s.clock()
	e := AffiliateSessionStarted{SessionID: s.newID(), AffiliateID: aff.ID, StartedAt: now, ExpiresAt: now.Add(maxAge),
		IdleTimeoutSeconds: int64(idle / time.Second)}
	sess, pos, err := execute(ctx, s, AffiliateSessionStream(HashToken(token)), newAffiliateSession, func(a *AffiliateSession) error {
		return a.start(e)
	})
	if err != nil {
		return nil, "", Result{}, err
	}
	return sess, token, Result{Position: pos}, nil
}

// AffiliateSessionFor returns the active session of token; 401
// unauthenticated for an unknown, ended or expired one.
func (s *Service) AffiliateSessionFor(ctx context.Context, token string) (*AffiliateSession, error) {
	if len(token) > maxIDLen {
		return nil, Errorf(KindUnauthenticated, CodeUnauthenticated, "the session has ended")
	}
	sess, _, err := load(ctx, s, AffiliateSessionStream(HashToken(token)), newAffiliateSession)
	if err != nil {
		return nil, err
	}
	if !sess.ActiveAt(s.clock()) {
		return nil, Errorf(KindUnauthenticated, CodeUnauthenticated, "the session has ended")
	}
	return sess, nil
}

// TouchAffiliateSession records that the session of token was used now.
func (s *Service) TouchAffiliateSession(ctx context.Context, token string) (Result, error) {
	_, pos, err := execute(ctx, s, AffiliateSessionStream(HashToken(token)), newAffiliateSession, func(a *AffiliateSession) error {
		return a.touch(s.clock())
	})
	return Result{Position: pos}, err
}

// EndAffiliateSession ends the session of token (sign-out); ending an ended
// or unknown session changes nothing.
func (s *Service) EndAffiliateSession(ctx context.Context, token string) (Result, error) {
	_, pos, err := execute(ctx, s, AffiliateSessionStream(HashToken(token)), newAffiliateSession, func(a *AffiliateSession) error {
		return a.end(s.clock())
	})
	return Result{Position: pos}, err
}
