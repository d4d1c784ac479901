package domain

import (
	"context"
	"time"
)

// PortalLink is a single-use sign-in link to the hosted portal: made by the
// store for a customer (PortalLinkTTL) or mailed to an affiliate
// (AffiliateLinkTTL). Its token is never stored: the stream is named by the
// token's hash, so redeeming finds it without an index, and spending it
// appends with the expected version, so that it is spent once.
type PortalLink struct {
	ID          string
	AccountID   string
	AffiliateID string
	IssuedAt    time.Time
	ExpiresAt   time.Time
	Spent       bool

	changes []Event
}

func newPortalLink() *PortalLink { return &PortalLink{} }

func (l *PortalLink) uncommitted() *[]Event { return &l.changes }

func (l *PortalLink) record(e Event) {
	l.apply(e)
	l.changes = append(l.changes, e)
}

// PortalLinkIssued records a link handed out; exactly one of AccountID and
// AffiliateID is set. It holds no personal data.
type PortalLinkIssued struct {
	LinkID      string    `json:"link_id"`
	AccountID   string    `json:"account_id,omitempty"`
	AffiliateID string    `json:"affiliate_id,omitempty"`
	IssuedAt    time.Time `json:"issued_at"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// PortalLinkSpent records that the link was opened.
type PortalLinkSpent struct {
	LinkID  string    `json:"link_id"`
	SpentAt time.Time `json:"spent_at"`
}

func (PortalLinkIssued) EventType() string { return "portal_link.issued.v1" }
func (PortalLinkSpent) EventType() string  { return "portal_link.spent.v1" }

// apply is the only place a PortalLink changes.
func (l *PortalLink) apply(e Event) {
	switch e := e.(type) {
	case PortalLinkIssued:
		l.ID, l.AccountID, l.AffiliateID, l.IssuedAt, l.ExpiresAt = e.LinkID, e.AccountID, e.AffiliateID, e.IssuedAt, e.ExpiresAt
	case PortalLinkSpent:
		l.Spent = true
	}
}

func (l *PortalLink) issue(e PortalLinkIssued) error {
	if l.ID != "" {
		return Errorf(KindConflict, CodeConflict, "token collision")
	}
	l.record(e)
	return nil
}

// spend spends the link; an unknown, spent or expired link is 422
// invalid_token, the same for all three.
func (l *PortalLink) spend(now time.Time) error {
	if l.ID == "" || l.Spent || !now.Before(l.ExpiresAt) {
		return invalidToken()
	}
	l.record(PortalLinkSpent{LinkID: l.ID, SpentAt: now})
	return nil
}

// PortalLinkStream returns the stream of a portal link by its token's hash.
func PortalLinkStream(tokenHash string) string { return "portal_link-" + tokenHash }

// Lifetimes of portal links.
const (
	PortalLinkTTL    = 5 * time.Minute
	AffiliateLinkTTL = 15 * time.Minute
)

const portalLinkTokenPrefix = "slp_"

// IssuePortalLink hands out a single-use portal link for an active account,
// valid PortalLinkTTL. The token is returned once and stored only as its
// hash.
func (s *Service) IssuePortalLink(ctx context.Context, accountID string) (string, *PortalLink, Result, error) {
	acc, err := s.Account(ctx, accountID)
	if err != nil {
		return "", nil, Result{}, err
	}
	if err := acc.requireActive(); err != nil {
		return "", nil, Result{}, err
	}
	return s.issuePortalLink(ctx, PortalLinkIssued{AccountID: acc.ID}, PortalLinkTTL)
}

// IssueAffiliateLink hands out a single-use portal link for an affiliate
// that is not erased, valid AffiliateLinkTTL (to be mailed).
func (s *Service) IssueAffiliateLink(ctx context.Context, affiliateID string) (string, *PortalLink, Result, error) {
	aff, err := s.Affiliate(ctx, affiliateID)
	if err != nil {
		return "", nil, Result{}, err
	}
	if !aff.ErasedAt.IsZero() {
		return "", nil, Result{}, notFound("affiliate")
	}
	return s.issuePortalLink(ctx, PortalLinkIssued{AffiliateID: aff.ID}, AffiliateLinkTTL)
}

func (s *Service) issuePortalLink(ctx context.Context, e PortalLinkIssued, ttl time.Duration) (string, *PortalLink, Result, error) {
	token, err := newToken(s.random, portalLinkTokenPrefix)
	if err != nil {
		return "", nil, Result{}, err
	}
	now := s.clock()
	e.LinkID, e.IssuedAt, e.ExpiresAt = s.newID(), now, now.Add(ttl)
	link, pos, err := execute(ctx, s, PortalLinkStream(HashToken(token)), newPortalLink, func(l *PortalLink) error {
		return l.issue(e)
	})
	if err != nil {
		return "", nil, Result{}, err
	}
	return token, link, Result{Position: pos}, nil
}

// PortalSignIn is what redeeming a portal link starts: a customer session
// (Session) or an affiliate's portal session (AffiliateSession), with its
// token, shown once.
type PortalSignIn struct {
	Session          *Session
	AffiliateSession *AffiliateSession
	Token            string
}

// RedeemPortalLink spends a portal link and starts the session it stands
// for, bounded by idle and maxAge. An unknown, spent or expired link, and
// one whose account is no longer active or whose affiliate was erased, is
// 422 invalid_token, and changes nothing but the spending.
func (s *Service) RedeemPortalLink(ctx context.Context, token string, idle, maxAge time.Duration) (PortalSignIn, Result, error) {
	if token == "" || len(token) > maxIDLen {
		return PortalSignIn{}, Result{}, invalidToken()
	}
	link, p1, err := execute(ctx, s, PortalLinkStream(HashToken(token)), newPortalLink, func(l *PortalLink) error {
		return l.spend(s.clock())
	})
	if err != nil {
		return PortalSignIn{}, Result{}, err
	}
	if link.AffiliateID != "" {
		sess, tok, res, err := s.StartAffiliateSession(ctx, link.AffiliateID, idle, maxAge)
		if err != nil {
			if k := ErrorKind(err); k == KindNotFound {
				return PortalSignIn{}, Result{}, invalidToken()
			}
			return PortalSignIn{}, Result{}, err
		}
		return PortalSignIn{AffiliateSession: sess, Token: tok}, Result{Position: maxPos(p1, res.Position)}, nil
	}
	acc, err := s.Account(ctx, link.AccountID)
	if err != nil || acc.requireActive() != nil {
		if err != nil && ErrorKind(err) != KindNotFound {
			return PortalSignIn{}, Result{}, err
		}
		return PortalSignIn{}, Result{}, invalidToken()
	}
	sess, tok, res, err := s.startSession(ctx, acc, idle, maxAge)
	if err != nil {
		return PortalSignIn{}, Result{}, err
	}
	return PortalSignIn{Session: sess, Token: tok}, Result{Position: maxPos(p1, res.Position)}, nil
}

// startSession starts a customer session for acc, as SignIn does once the
// password is verified.
func (s *Service) startSession(ctx context.Context, acc *Account, idle, maxAge time.Duration) (*Session, string, Result, error) {
	token, err := newToken(s.random, sessionTokenPrefix)
	if err != nil {
		return nil, "", Result{}, err
	}
	now := s.clock()
	if maxAge <= 0 {
		maxAge = 24 * time.Hour
	}
	id := s.newID()
	sess, pos, err := execute(ctx, s, SessionStream(id), newSession, func(x *Session) error {
		return x.start(SessionStarted{
			SessionID: id, AccountID: acc.ID, TokenHash: HashToken(token),
			StartedAt: now, ExpiresAt: now.Add(maxAge), IdleTimeoutSeconds: int64(idle / time.Second),
			CredentialsAt: acc.PasswordSetAt,
		})
	})
	if err != nil {
		return nil, "", Result{}, err
	}
	return sess, token, Result{Position: pos}, nil
}
