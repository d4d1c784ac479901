package domain

import (
	"context"
	"strings"
)

// RegisterAccount signs a person up.
type RegisterAccount struct {
	Name             string
	Company          string
	Email            string
	Password         string
	MarketingConsent bool
}

// ChangeAccountDetails changes any of name, company and e-mail; nil leaves a
// field as it is.
type ChangeAccountDetails struct {
	AccountID string
	Name      *string
	Company   *string
	Email     *string
}

// SetPassword sets a new password. With CheckCurrent, CurrentPassword must
// match the old one (a customer changing their own password).
type SetPassword struct {
	AccountID       string
	NewPassword     string
	CurrentPassword string
	CheckCurrent    bool
}

// SetMarketingConsent gives (Given) or withdraws consent to marketing mail.
type SetMarketingConsent struct {
	AccountID string
	Given     bool
	IPAddress string
}

// LinkStripeCustomer records the account's Stripe customer id.
type LinkStripeCustomer struct {
	AccountID  string
	CustomerID string
}

// CloseAccount closes an account; its data stays until erasure.
type CloseAccount struct {
	AccountID string
}

// RequestErasure erases an account now (GDPR erasure request).
type RequestErasure struct {
	AccountID string
}

// EraseIfDue erases an account whose scheduled erasure is due.
type EraseIfDue struct {
	AccountID string
}

// checkName checks a name (or company) field: present when required, and
// not too long.
func checkName(v *validator, field, name string, required bool) {
	switch {
	case strings.TrimSpace(name) == "":
		v.check(!required, field, FieldRequired)
	default:
		v.check(validText(name, maxNameLen), field, FieldTooLong)
	}
}

// checkEmail checks a required e-mail address.
func checkEmail(v *validator, field, email string) {
	email = strings.TrimSpace(email)
	if email == "" {
		v.check(false, field, FieldRequired)
		return
	}
	if len(email) > maxEmailLen {
		v.check(false, field, FieldTooLong)
		return
	}
	v.check(validEmail(email), field, FieldInvalid)
}

// RegisterAccount signs a person up. The e-mail address must not be used by
// another live account (409 email_taken).
func (s *Service) RegisterAccount(ctx context.Context, cmd RegisterAccount) (*Account, Result, error) {
	name, company, email := strings.TrimSpace(cmd.Name), strings.TrimSpace(cmd.Company), strings.TrimSpace(cmd.Email)
	var v validator
	checkName(&v, "name", name, true)
	checkName(&v, "company", company, false)
	checkEmail(&v, "email", email)
	if p := passwordProblem(cmd.Password); p != "" {
		v.check(false, "password", p)
	}
	if err := v.err(); err != nil {
		return nil, Result{}, err
	}
	hash, err := s.hash(ctx, cmd.Password)
	if err != nil {
		return nil, Result{}, err
	}
	id := s.newID()
	p1, err := s.claimEmail(ctx, email, id)
	if err != nil {
		return nil, Result{}, err
	}
	acc, p2, err := execute(ctx, s, AccountStream(id), newAccount, func(a *Account) error {
		return a.register(id, name, company, email, hash, cmd.MarketingConsent, s.clock())
	})
	if err != nil {
		_, _ = s.release(ctx, reserveEmail, NormalizeEmail(email), id)
		return nil, Result{}, err
	}
	return acc, Result{Position: maxPos(p1, p2)}, nil
}

// ChangeAccountDetails changes an active account's name, company or e-mail.
// A new e-mail address is reserved first and the old one released after.
func (s *Service) ChangeAccountDetails(ctx context.Context, cmd ChangeAccountDetails) (*Account, Result, error) {
	var v validator
	if cmd.Name != nil {
		checkName(&v, "name", *cmd.Name, true)
	}
	if cmd.Company != nil {
		checkName(&v, "company", *cmd.Company, false)
	}
	if cmd.Email != nil {
		checkEmail(&v, "email", *cmd.Email)
	}
	if err := v.err(); err != nil {
		return nil, Result{}, err
	}
	cur, _, err := load(ctx, s, AccountStream(cmd.AccountID), newAccount)
	if err != nil {
		return nil, Result{}, err
	}
	if err := cur.requireActive(); err != nil {
		return nil, Result{}, err
	}
	var pos uint64
	newEmail := ""
	if cmd.Email != nil && NormalizeEmail(*cmd.Email) != NormalizeEmail(cur.Email) {
		newEmail = NormalizeEmail(*cmd.Email)
		if pos, err = s.claimEmail(ctx, *cmd.Email, cur.ID); err != nil {
			return nil, Result{}, err
		}
	}
	var oldEmail string
	acc, p, err := execute(ctx, s, AccountStream(cmd.AccountID), newAccount, func(a *Account) error {
		oldEmail = a.Email
		return a.changeDetails(cmd.Name, cmd.Company, cmd.Email, s.clock())
	})
	if err != nil {
		if newEmail != "" {
			_, _ = s.release(ctx, reserveEmail, newEmail, cmd.AccountID)
		}
		return nil, Result{}, err
	}
	pos = maxPos(pos, p)
	if old := NormalizeEmail(oldEmail); old != "" && old != NormalizeEmail(acc.Email) {
		p, err := s.release(ctx, reserveEmail, old, acc.ID)
		if err != nil {
			return nil, Result{}, err
		}
		pos = maxPos(pos, p)
	}
	return acc, Result{Position: pos}, nil
}

// SetPassword hashes and sets a new password.
func (s *Service) SetPassword(ctx context.Context, cmd SetPassword) (*Account, Result, error) {
	var v validator
	if p := passwordProblem(cmd.NewPassword); p != "" {
		v.check(false, "new_password", p)
	}
	if err := v.err(); err != nil {
		return nil, Result{}, err
	}
	hash, err := s.hash(ctx, cmd.NewPassword)
	if err != nil {
		return nil, Result{}, err
	}
	var acc *Account
	var pos uint64
	decide := func() {
		acc, pos, err = execute(ctx, s, AccountStream(cmd.AccountID), newAccount, func(a *Account) error {
			return a.setPassword(cmd.CheckCurrent, cmd.CurrentPassword, hash, s.clock())
		})
	}
	if !cmd.CheckCurrent {
		decide()
	} else if serr := s.withHashSlot(ctx, decide); serr != nil {
		return nil, Result{}, serr
	}
	return acc, Result{Position: pos}, err
}

// SetMarketingConsent gives or withdraws marketing consent.
func (s *Service) SetMarketingConsent(ctx context.Context, cmd SetMarketingConsent) (*Account, Result, error) {
	acc, pos, err := execute(ctx, s, AccountStream(cmd.AccountID), newAccount, func(a *Account) error {
		return a.setMarketingConsent(cmd.Given, strings.TrimSpace(cmd.IPAddress), s.clock())
	})
	return acc, Result{Position: pos}, err
}

// LinkStripeCustomer records the account's Stripe customer.
func (s *Service) LinkStripeCustomer(ctx context.Context, cmd LinkStripeCustomer) (*Account, Result, error) {
	var v validator
	v.check(validID(cmd.CustomerID), "customer_id", FieldRequired)
	if err := v.err(); err != nil {
		return nil, Result{}, err
	}
	acc, pos, err := execute(ctx, s, AccountStream(cmd.AccountID), newAccount, func(a *Account) error {
		return a.linkStripeCustomer(cmd.CustomerID, s.clock())
	})
	return acc, Result{Position: pos}, err
}

// CloseAccount closes an account.
func (s *Service) CloseAccount(ctx context.Context, cmd CloseAccount) (*Account, Result, error) {
	acc, pos, err := execute(ctx, s, AccountStream(cmd.AccountID), newAccount, func(a *Account) error {
		return a.close(s.clock())
	})
	return acc, Result{Position: pos}, err
}

// RequestErasure erases the account now: the e-mail address is released and
// AccountErased recorded. The caller then shreds the account's data key (and
// tells Stripe), having read whatever it needs from the returned account
// before the call. Erasing an erased account changes nothing.
func (s *Service) RequestErasure(ctx context.Context, cmd RequestErasure) (*Account, Result, error) {
	return s.erase(ctx, cmd.AccountID, false)
}

// EraseIfDue erases the account when its scheduled erasure (the grace after
// its last paid subscription ended) is due; otherwise 409 erasure_not_due.
func (s *Service) EraseIfDue(ctx context.Context, cmd EraseIfDue) (*Account, Result, error) {
	return s.erase(ctx, cmd.AccountID, true)
}

// erase erases an account at once, or, with ifDue, only when its
// scheduled erasure is due, then releases its e-mail address.
func (s *Service) erase(ctx context.Context, id string, ifDue bool) (*Account, Result, error) {
	cur, _, err := load(ctx, s, AccountStream(id), newAccount)
	if err != nil {
		return nil, Result{}, err
	}
	if !cur.exists() {
		return nil, Result{}, notFound("account")
	}
	if cur.Status == AccountStatusErased {
		return cur, Result{}, nil
	}
	now := s.clock()
	if ifDue && (cur.ErasureDueAt.IsZero() || now.Before(cur.ErasureDueAt)) {
		return nil, Result{}, Errorf(KindConflict, CodeErasureNotDue, "no erasure of this account is due")
	}
	// The address is read before the erasure, which makes it unreadable once
	// the caller shreds the key; it is released only after the erasure is
	// recorded, so that a failed erasure never frees the address of a live
	// account. Should the release fail, claiming the address later takes
	// over a reservation whose holder is erased.
	email := NormalizeEmail(cur.Email)
	acc, p, err := execute(ctx, s, AccountStream(id), newAccount, func(a *Account) error {
		if ifDue {
			return a.eraseIfDue(now)
		}
		return a.erase(erasureByUser, now)
	})
	if err != nil {
		return nil, Result{}, err
	}
	var pos uint64
	if email != "" {
		if pos, err = s.release(ctx, reserveEmail, email, id); err != nil {
			return nil, Result{}, err
		}
	}
	return acc, Result{Position: maxPos(pos, p)}, nil
}

// VerifyCredentials checks an account's password. Every failure (an unknown,
// closed or erased account, a wrong password) is the same 401
// invalid_credentials and takes about as long. With an empty accountID (no
// account has the e-mail) it only spends the time.
func (s *Service) VerifyCredentials(ctx context.Context, accountID, password string) (*Account, error) {
	fail := Errorf(KindUnauthenticated, CodeInvalidCredentials, "wrong e-mail or password")
	var acc *Account
	if accountID != "" {
		a, _, err := load(ctx, s, AccountStream(accountID), newAccount)
		if err != nil {
			return nil, err
		}
		acc = a
	}
	ok := false
	err := s.withHashSlot(ctx, func() {
		if acc == nil || acc.Status != AccountStatusActive || acc.PasswordHash == "" {
			_, _ = s.passwords.Hash(password, s.random)
			return
		}
		ok = VerifyPassword(acc.PasswordHash, password)
	})
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fail
	}
	return acc, nil
}

// Account returns an account; 404 when it does not exist.
func (s *Service) Account(ctx context.Context, id string) (*Account, error) {
	a, _, err := load(ctx, s, AccountStream(id), newAccount)
	if err != nil {
		return nil, err
	}
	if !a.exists() {
		return nil, notFound("account")
	}
	return a, nil
}

// claimEmail reserves an e-mail address for an account. A reservation held
// by another account is taken over only when that account no longer uses the
// address: it was erased, or it does not exist or uses another address and
// the reservation is older than the reservation grace (so a registration or
// change in flight keeps its claim).
func (s *Service) claimEmail(ctx context.Context, email, owner string) (uint64, error) {
	norm := NormalizeEmail(email)
	key := s.keys.digest(reserveEmail, norm)
	subject, err := s.pseudonyms.Pseudonym(ctx, owner, PseudonymEmailReservation)
	if err != nil {
		return 0, err
	}
	_, pos, err := execute(ctx, s, ReservationStream(reserveEmail, key), newReservation, func(r *Reservation) error {
		takeOver := false
		if r.Held && r.Owner != owner && r.Owner != "" {
			holder, _, err := load(ctx, s, AccountStream(r.Owner), newAccount)
			if err != nil {
				return err
			}
			settled := s.clock().Sub(r.ClaimedAt) >= s.resGrace
			switch {
			case holder.Status == AccountStatusErased:
				takeOver = true
			case !holder.exists(), s.keys.digest(reserveEmail, NormalizeEmail(holder.Email)) != key:
				takeOver = settled
			}
		}
		return r.claim(reserveEmail, key, owner, subject, takeOver, CodeEmailTaken, s.clock())
	})
	return pos, err
}

// release frees a reserved value if owner holds it.
func (s *Service) release(ctx context.Context, namespace, value, owner string) (uint64, error) {
	key := s.keys.digest(namespace, value)
	_, pos, err := execute(ctx, s, ReservationStream(namespace, key), newReservation, func(r *Reservation) error {
		r.release(owner, s.clock())
		return nil
	})
	return pos, err
}

// EmailReservation returns the reservation of an e-mail address; its Owner
// is the account that holds it, if any.
func (s *Service) EmailReservation(ctx context.Context, email string) (*Reservation, error) {
	key := s.keys.digest(reserveEmail, NormalizeEmail(email))
	r, _, err := load(ctx, s, ReservationStream(reserveEmail, key), newReservation)
	return r, err
}
