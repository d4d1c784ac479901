package domain

import (
	"context"
	"time"
)

// PasswordReset is a single-use password-reset token. Its stream is named
// by the token's hash, so that confirming finds it without an index, and
// spending it appends with the expected version, so that it is spent once.
type PasswordReset struct {
	ID          string
	AccountID   string
	RequestedAt time.Time
	ExpiresAt   time.Time
	Spent       bool

	changes []Event
}

func newPasswordReset() *PasswordReset { return &PasswordReset{} }

func (r *PasswordReset) uncommitted() *[]Event { return &r.changes }

// record applies an event and keeps it to be appended.
func (r *PasswordReset) record(e Event) {
	r.apply(e)
	r.changes = append(r.changes, e)
}

// PasswordResetRequested records a reset token handed out (by e-mail).
type PasswordResetRequested struct {
	ResetID     string    `json:"reset_id"`
	AccountID   string    `json:"account_id"`
	RequestedAt time.Time `json:"requested_at"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// PasswordResetSpent records that the token was used.
type PasswordResetSpent struct {
	ResetID   string    `json:"reset_id"`
	AccountID string    `json:"account_id"`
	SpentAt   time.Time `json:"spent_at"`
}

func (PasswordResetRequested) EventType() string { return "password_reset.requested.v1" }
func (PasswordResetSpent) EventType() string     { return "password_reset.spent.v1" }

// apply is the only place a PasswordReset changes.
func (r *PasswordReset) apply(e Event) {
	switch e := e.(type) {
	case PasswordResetRequested:
		r.ID, r.AccountID, r.RequestedAt, r.ExpiresAt = e.ResetID, e.AccountID, e.RequestedAt, e.ExpiresAt
	case PasswordResetSpent:
		r.Spent = true
	}
}

// invalidToken is the one error of a reset token that cannot be used, so
// that it tells nothing of why.
func invalidToken() *Error {
	return Errorf(KindInvalid, CodeInvalidToken, "the token is unknown, spent or expired")
}

// spend records that the token was used, unless it is unknown, spent or
// expired.
func (r *PasswordReset) spend(now time.Time) error {
	if r.ID == "" || r.Spent || !now.Before(r.ExpiresAt) {
		return invalidToken()
	}
	r.record(PasswordResetSpent{ResetID: r.ID, AccountID: r.AccountID, SpentAt: now})
	return nil
}

// PasswordResetStream returns the stream of a reset token by its hash.
func PasswordResetStream(tokenHash string) string { return "password_reset-" + tokenHash }

// ResetTokenTTL is how long a password-reset token is valid.
const ResetTokenTTL = time.Hour

// RequestPasswordReset hands out a single-use reset token for an active
// account, valid ResetTokenTTL. The token is returned once (to be mailed)
// and stored only as its hash.
func (s *Service) RequestPasswordReset(ctx context.Context, accountID string) (string, Result, error) {
	acc, err := s.Account(ctx, accountID)
	if err != nil {
		return "", Result{}, err
	}
	if err := acc.requireActive(); err != nil {
		return "", Result{}, err
	}
	token, err := newToken(s.random, resetTokenPrefix)
	if err != nil {
		return "", Result{}, err
	}
	now := s.clock()
	id := s.newID()
	_, pos, err := execute(ctx, s, PasswordResetStream(HashToken(token)), newPasswordReset, func(r *PasswordReset) error {
		if r.ID != "" {
			return Errorf(KindConflict, CodeConflict, "token collision")
		}
		r.record(PasswordResetRequested{ResetID: id, AccountID: acc.ID, RequestedAt: now, ExpiresAt: now.Add(ResetTokenTTL)})
		return nil
	})
	return token, Result{Position: pos}, err
}

// ConfirmPasswordReset spends a reset token and sets the account's new
// password, which ends every session of the account. An unknown, spent or
// expired token is 422 invalid_token.
func (s *Service) ConfirmPasswordReset(ctx context.Context, token, newPassword string) (*Account, Result, error) {
	var v validator
	v.check(token != "", "token", FieldRequired)
	if p := passwordProblem(newPassword); p != "" {
		v.check(false, "new_password", p)
	}
	if err := v.err(); err != nil {
		return nil, Result{}, err
	}
	if len(token) > maxIDLen {
		return nil, Result{}, invalidToken()
	}
	reset, p1, err := execute(ctx, s, PasswordResetStream(HashToken(token)), newPasswordReset, func(r *PasswordReset) error {
		return r.spend(s.clock())
	})
	if err != nil {
		return nil, Result{}, err
	}
	acc, res, err := s.SetPassword(ctx, SetPassword{AccountID: reset.AccountID, NewPassword: newPassword})
	if err != nil {
		if k := ErrorKind(err); k == KindConflict || k == KindNotFound {
			return nil, Result{}, invalidToken()
		}
		return nil, Result{}, err
	}
	return acc, Result{Position: maxPos(p1, res.Position)}, nil
}
