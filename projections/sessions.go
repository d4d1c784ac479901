package projections

import (
	"time"

	"github.com/aseptsoft/subledger/domain"
)

// Session is a live customer session, looked up by the SHA-256 of its token
// (domain.HashToken). Ended sessions, and sessions of an account whose
// password changed or that was closed or erased, are removed. Expired
// sessions stay until they end; SessionActive tells them apart.
type Session struct {
	ID            string
	AccountID     string
	TokenHash     string
	StartedAt     time.Time
	LastSeenAt    time.Time
	ExpiresAt     time.Time
	IdleTimeout   time.Duration
	CredentialsAt time.Time
}

// ActiveAt reports whether the session may be used at now.
func (s Session) ActiveAt(now time.Time) bool {
	return domain.SessionActive(false, now, s.ExpiresAt, s.LastSeenAt, s.IdleTimeout)
}

func sessionTokenKey(s *Session) []byte { return stringKey(s.TokenHash) }

func sessionAccountKey(s *Session) []byte { return stringKey(s.AccountID) }

func (w *writer) sessionStarted(e domain.SessionStarted) error {
	a, err := w.accounts.peek(w.txn, e.AccountID)
	if err != nil {
		return err
	}
	// A session started on a password that has since been replaced, or for
	// an account that is no longer active, never becomes usable.
	if a == nil || a.Status != domain.AccountStatusActive || a.PasswordSetAt.After(e.CredentialsAt) {
		return nil
	}
	return w.sessions.put(w.txn, &Session{
		ID: e.SessionID, AccountID: e.AccountID, TokenHash: e.TokenHash,
		StartedAt: e.StartedAt, LastSeenAt: e.StartedAt, ExpiresAt: e.ExpiresAt,
		IdleTimeout: time.Duration(e.IdleTimeoutSeconds) * time.Second, CredentialsAt: e.CredentialsAt,
	})
}

func (w *writer) sessionTouched(e domain.SessionTouched) error {
	s, err := w.sessions.get(w.txn, e.SessionID)
	if err != nil || s == nil {
		return err
	}
	if e.At.After(s.LastSeenAt) {
		s.LastSeenAt = e.At
	}
	return nil
}

// endSessions removes the account's sessions that keep returns false for:
// those stored before this batch and those of the batch.
func (w *writer) endSessions(accountID string, keep func(*Session) bool) error {
	it, err := w.txn.Get(tableSessions, indexAccount+"_prefix", stringKey(accountID))
	if err != nil {
		return err
	}
	var ids []string
	for raw := it.Next(); raw != nil; raw = it.Next() {
		ids = append(ids, raw.(*Session).ID)
	}
	for id, c := range w.sessions.rows {
		if c.row != nil && c.row.AccountID == accountID {
			ids = append(ids, id)
		}
	}
	for _, id := range ids {
		s, err := w.sessions.peek(w.txn, id)
		if err != nil {
			return err
		}
		if s != nil && !keep(s) {
			if err := w.sessions.remove(w.txn, id); err != nil {
				return err
			}
		}
	}
	return nil
}

// SessionByTokenHash returns the session whose token has the digest hash,
// whether or not it has expired (see Session.ActiveAt).
func (v *View) SessionByTokenHash(hash string) (Session, bool) {
	raw, err := v.txn.First(tableSessions, indexToken, stringKey(hash))
	if err != nil || raw == nil {
		return Session{}, false
	}
	return *raw.(*Session), true
}

// AccountSessions returns the account's sessions (active or expired), for
// the export.
func (v *View) AccountSessions(accountID string) []Session {
	it, err := v.txn.Get(tableSessions, indexAccount+"_prefix", stringKey(accountID))
	if err != nil {
		return nil
	}
	var out []Session
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, *raw.(*Session))
	}
	return out
}
