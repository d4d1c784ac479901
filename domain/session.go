package domain

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"time"
)

// Session is a customer's signed-in session. Its token is never stored:
// only its SHA-256 (HashToken), which the API looks sessions up by.
type Session struct {
	ID            string
	AccountID     string
	TokenHash     string
	StartedAt     time.Time
	LastSeenAt    time.Time
	ExpiresAt     time.Time
	IdleTimeout   time.Duration
	CredentialsAt time.Time
	Ended         bool
	EndReason     string

	changes []Event
}

func newSession() *Session { return &Session{} }

func (s *Session) uncommitted() *[]Event { return &s.changes }

// record applies an event and keeps it to be appended.
func (s *Session) record(e Event) {
	s.apply(e)
	s.changes = append(s.changes, e)
}

// Session events. They hold no personal data: the account id and the
// session id are random, the token appears only as its hash.

// SessionStarted records a sign-in. CredentialsAt is when the password the
// customer signed in with was set: once a newer password is set, the
// session is over.
type SessionStarted struct {
	SessionID          string    `json:"session_id"`
	AccountID          string    `json:"account_id"`
	TokenHash          string    `json:"token_hash"`
	StartedAt          time.Time `json:"started_at"`
	ExpiresAt          time.Time `json:"expires_at"`
	IdleTimeoutSeconds int64     `json:"idle_timeout_seconds"`
	CredentialsAt      time.Time `json:"credentials_at"`
}

// SessionTouched records that a session was used; it moves the idle expiry.
type SessionTouched struct {
	SessionID string    `json:"session_id"`
	AccountID string    `json:"account_id"`
	At        time.Time `json:"at"`
}

// SessionEnded records a sign-out.
type SessionEnded struct {
	SessionID string    `json:"session_id"`
	AccountID string    `json:"account_id"`
	Reason    string    `json:"reason"`
	EndedAt   time.Time `json:"ended_at"`
}

func (SessionStarted) EventType() string { return "session.started.v1" }
func (SessionTouched) EventType() string { return "session.touched.v1" }
func (SessionEnded) EventType() string   { return "session.ended.v1" }

// apply is the only place a Session changes.
func (s *Session) apply(e Event) {
	switch e := e.(type) {
	case SessionStarted:
		s.ID, s.AccountID, s.TokenHash = e.SessionID, e.AccountID, e.TokenHash
		s.StartedAt, s.LastSeenAt, s.ExpiresAt = e.StartedAt, e.StartedAt, e.ExpiresAt
		s.IdleTimeout = time.Duration(e.IdleTimeoutSeconds) * time.Second
		s.CredentialsAt = e.CredentialsAt
	case SessionTouched:
		if e.At.After(s.LastSeenAt) {
			s.LastSeenAt = e.At
		}
	case SessionEnded:
		s.Ended, s.EndReason = true, e.Reason
	}
}

// ActiveAt reports whether the session may be used at now: not ended, not
// past its absolute expiry, and used within its idle timeout.
func (s *Session) ActiveAt(now time.Time) bool {
	return SessionActive(s.Ended, now, s.ExpiresAt, s.LastSeenAt, s.IdleTimeout)
}

// SessionActive is the one rule of session expiry, shared by the aggregate
// and the projection that authenticates requests.
func SessionActive(ended bool, now, expiresAt, lastSeenAt time.Time, idle time.Duration) bool {
	return !ended && now.Before(expiresAt) && (idle <= 0 || now.Before(lastSeenAt.Add(idle)))
}

// start records a new session; an existing one is a conflict.
func (s *Session) start(e SessionStarted) error {
	if s.ID != "" {
		return Errorf(KindConflict, CodeConflict, "the session already exists")
	}
	s.record(e)
	return nil
}

// touch records a use of the session later than the last one known;
// an ended session refuses it.
func (s *Session) touch(at time.Time) error {
	if s.ID == "" {
		return notFound("session")
	}
	if !s.ActiveAt(at) {
		return Errorf(KindUnauthenticated, CodeUnauthenticated, "the session has ended")
	}
	if at.After(s.LastSeenAt) {
		s.record(SessionTouched{SessionID: s.ID, AccountID: s.AccountID, At: at})
	}
	return nil
}

// end records the end of the session; ending an ended session changes
// nothing.
func (s *Session) end(reason string, at time.Time) error {
	if s.ID == "" {
		return notFound("session")
	}
	if !s.Ended {
		s.record(SessionEnded{SessionID: s.ID, AccountID: s.AccountID, Reason: reason, EndedAt: at})
	}
	return nil
}

// Session commands.

// SignIn checks an account's password and starts a session. Idle and MaxAge
// bound its life: it ends MaxAge after the sign-in, or Idle after its last
// use, whichever comes first.
type SignIn struct {
	// AccountID is the account that holds the e-mail address, or "" when
	// no account does (the password is then hashed against nothing, so
	// that both failures take about as long).
	AccountID string
	Password  string
	Idle      time.Duration
	MaxAge    time.Duration
}

// SessionReason values of SessionEnded.
const (
	SessionEndedSignOut = "sign_out"
)

// HashToken returns the digest a bearer token (session, password reset) is
// stored and looked up by. Tokens are 256-bit random, so a plain SHA-256
// suffices.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// newToken returns a new random token with a prefix that names its use.
func newToken(r io.Reader, prefix string) (string, error) {
	var b [32]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// Token prefixes.
const (
	sessionTokenPrefix = "sls_"
	resetTokenPrefix   = "slr_"
)

// SessionStream returns the stream of a session.
func SessionStream(id string) string { return "session-" + id }

// SignIn verifies the credentials and starts a session; it returns the
// session and its token, which is shown once and never stored. Every
// failure is the same 401 invalid_credentials.
func (s *Service) SignIn(ctx context.Context, cmd SignIn) (*Session, string, Result, error) {
	acc, err := s.VerifyCredentials(ctx, cmd.AccountID, cmd.Password)
	if err != nil {
		return nil, "", Result{}, err
	}
	token, err := newToken(s.random, sessionTokenPrefix)
	if err != nil {
		return nil, "", Result{}, err
	}
	now := s.clock()
	maxAge := cmd.MaxAge
	if maxAge <= 0 {
		maxAge = 24 * time.Hour
	}
	id := s.newID()
	sess, pos, err := execute(ctx, s, SessionStream(id), newSession, func(x *Session) error {
		return x.start(SessionStarted{
			SessionID: id, AccountID: acc.ID, TokenHash: HashToken(token),
			StartedAt: now, ExpiresAt: now.Add(maxAge), IdleTimeoutSeconds: int64(cmd.Idle / time.Second),
			CredentialsAt: acc.PasswordSetAt,
		})
	})
	if err != nil {
		return nil, "", Result{}, err
	}
	return sess, token, Result{Position: pos}, nil
}

// TouchSession records that a session was used now, moving its idle expiry.
func (s *Service) TouchSession(ctx context.Context, sessionID string) (*Session, Result, error) {
	sess, pos, err := execute(ctx, s, SessionStream(sessionID), newSession, func(x *Session) error {
		return x.touch(s.clock())
	})
	return sess, Result{Position: pos}, err
}

// EndSession ends a session (sign-out); ending an ended session changes
// nothing.
func (s *Service) EndSession(ctx context.Context, sessionID, reason string) (*Session, Result, error) {
	sess, pos, err := execute(ctx, s, SessionStream(sessionID), newSession, func(x *Session) error {
		return x.end(reason, s.clock())
	})
	return sess, Result{Position: pos}, err
}
