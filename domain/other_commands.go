package domain

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"time"
)

// IssueLicenseKey issues a license's key if it has none.
type IssueLicenseKey struct {
	LicenseID string
}

// RevokeLicense revokes a license (an operator's decision).
type RevokeLicense struct {
	LicenseID string
	Reason    string
}

// CancelSubscription cancels a subscription at the end of the paid period
// (AtPeriodEnd) or at once.
type CancelSubscription struct {
	SubscriptionID string
	AtPeriodEnd    bool
}

// ReactivateSubscription withdraws a cancellation at period end.
type ReactivateSubscription struct {
	SubscriptionID string
}

// ApproveCommission approves a sale's commission once the hold has passed.
type ApproveCommission struct {
	SaleID string
}

// RegisterAffiliate registers an affiliate.
type RegisterAffiliate struct {
	Name              string
	Email             string
	CommissionRateBps int
	RecurringMonths   int
}

// RegisteredAffiliate is a new affiliate with its API key, which is shown
// this once and kept only as a digest.
type RegisteredAffiliate struct {
	Affiliate *Affiliate
	APIKey    string
}

// IssueLicenseKey signs and records a license's key unless it has one.
// The owner must not be erased.
func (s *Service) IssueLicenseKey(ctx context.Context, cmd IssueLicenseKey) (*License, Result, error) {
	cur, _, err := load(ctx, s, LicenseStream(cmd.LicenseID), newLicense)
	if err != nil {
		return nil, Result{}, err
	}
	if cur.ID == "" {
		return nil, Result{}, notFound("license")
	}
	owner, _, err := load(ctx, s, AccountStream(cur.AccountID), newAccount)
	if err != nil {
		return nil, Result{}, err
	}
	if owner.Status == AccountStatusErased && !cur.KeyIssued {
		return nil, Result{}, Errorf(KindConflict, CodeAccountErased, "the license's owner was erased")
	}
	lic, pos, err := execute(ctx, s, LicenseStream(cmd.LicenseID), newLicense, func(l *License) error {
		if l.ID == "" || l.KeyIssued {
			return l.issueKey("")
		}
		key, err := s.signLicense(l)
		if err != nil {
			return err
		}
		return l.issueKey(key)
	})
	return lic, Result{Position: pos}, err
}

// RevokeLicense revokes a license.
func (s *Service) RevokeLicense(ctx context.Context, cmd RevokeLicense) (*License, Result, error) {
	lic, pos, err := execute(ctx, s, LicenseStream(cmd.LicenseID), newLicense, func(l *License) error {
		return l.revoke(cmd.Reason, s.clock())
	})
	return lic, Result{Position: pos}, err
}

// License returns a license; 404 when it does not exist.
func (s *Service) License(ctx context.Context, id string) (*License, error) {
	l, _, err := load(ctx, s, LicenseStream(id), newLicense)
	if err != nil {
		return nil, err
	}
	if l.ID == "" {
		return nil, notFound("license")
	}
	return l, nil
}

// CancelSubscription records the customer's cancellation; the caller tells
// Stripe. A cancellation at period end keeps access until the period ends.
func (s *Service) CancelSubscription(ctx context.Context, cmd CancelSubscription) (*Subscription, Result, error) {
	sub, pos, err := execute(ctx, s, SubscriptionStream(cmd.SubscriptionID), newSubscription, func(x *Subscription) error {
		return x.cancel(cmd.AtPeriodEnd, s.clock())
	})
	if err != nil {
		return nil, Result{}, err
	}
	return s.afterSubscription(ctx, sub, "", pos)
}

// ReactivateSubscription withdraws a cancellation at period end before the
// period ends; the caller tells Stripe.
func (s *Service) ReactivateSubscription(ctx context.Context, cmd ReactivateSubscription) (*Subscription, Result, error) {
	sub, pos, err := execute(ctx, s, SubscriptionStream(cmd.SubscriptionID), newSubscription, func(x *Subscription) error {
		return x.reactivate(s.clock())
	})
	return sub, Result{Position: pos}, err
}

// Subscription returns a subscription; 404 until it has started.
func (s *Service) Subscription(ctx context.Context, id string) (*Subscription, error) {
	x, _, err := load(ctx, s, SubscriptionStream(id), newSubscription)
	if err != nil {
		return nil, err
	}
	if !x.Started {
		return nil, notFound("subscription")
	}
	return x, nil
}

// ApproveCommission approves a sale's commission when the commission hold
// has passed since the sale (409 commission_not_due before). Approving an
// approved commission changes nothing.
func (s *Service) ApproveCommission(ctx context.Context, cmd ApproveCommission) (*Sale, Result, error) {
	sale, pos, err := execute(ctx, s, SaleStream(cmd.SaleID), newSale, func(x *Sale) error {
		return x.approve(s.clock(), s.hold)
	})
	return sale, Result{Position: pos}, err
}

// CommissionStatus returns the status of a sale's commission now, under
// the Service's hold: the same the projections show at the same instant.
func (s *Service) CommissionStatus(x *Sale) CommissionStatus {
	return x.CommissionStatusAt(s.clock(), s.hold)
}

// CommissionHold returns the hold in force (Config.CommissionHold with its
// default applied; 0 for none).
func (s *Service) CommissionHold() time.Duration { return s.hold }

// Sale returns a sale, recorded or only known by its refunds and disputes;
// 404 when nothing is known of it.
func (s *Service) Sale(ctx context.Context, id string) (*Sale, error) {
	x, _, err := load(ctx, s, SaleStream(id), newSale)
	if err != nil {
		return nil, err
	}
	if x.ID == "" {
		return nil, notFound("sale")
	}
	return x, nil
}

// codeAlphabet has no 0/O or 1/I, so codes survive being read aloud.
const codeAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// randomCode returns an 8-character affiliate code (40 random bits).
func randomCode(r io.Reader) (string, error) {
	b := make([]byte, 8)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("affiliate code: %w", err)
	}
	for i := range b {
		b[i] = codeAlphabet[int(b[i])%len(codeAlphabet)]
	}
	return string(b), nil
}

// NormalizeAffiliateCode returns the form an affiliate code is looked up by.
func NormalizeAffiliateCode(code string) string {
	return strings.ToUpper(strings.TrimSpace(code))
}

// RegisterAffiliate registers an affiliate with a unique random code and a
// new API key.
func (s *Service) RegisterAffiliate(ctx context.Context, cmd RegisterAffiliate) (*RegisteredAffiliate, Result, error) {
	name, email := strings.TrimSpace(cmd.Name), strings.TrimSpace(cmd.Email)
	var v validator
	checkName(&v, "name", name, true)
	checkEmail(&v, "email", email)
	v.check(cmd.CommissionRateBps >= 0 && cmd.CommissionRateBps <= maxRateBps, "commission_rate_bps", FieldRange)
	v.check(cmd.RecurringMonths >= 0 && cmd.RecurringMonths <= maxRecurMonths, "recurring_months", FieldRange)
	if err := v.err(); err != nil {
		return nil, Result{}, err
	}
	raw := make([]byte, 32)
	if _, err := io.ReadFull(s.random, raw); err != nil {
		return nil, Result{}, fmt.Errorf("affiliate key: %w", err)
	}
	apiKey := "sla_" + base64.RawURLEncoding.EncodeToString(raw)
	id := s.newID()
	subject, err := s.pseudonyms.Pseudonym(ctx, id, PseudonymAffiliateCode)
	if err != nil {
		return nil, Result{}, err
	}
	var code string
	var pos uint64
	for attempt := 0; ; attempt++ {
		c, err := randomCode(s.random)
		if err != nil {
			return nil, Result{}, err
		}
		key := s.keys.digest(reserveAffiliateCode, c)
		_, p, err := execute(ctx, s, ReservationStream(reserveAffiliateCode, key), newReservation, func(r *Reservation) error {
			return r.claim(reserveAffiliateCode, key, id, subject, false, CodeConflict, s.clock())
		})
		if err == nil {
			code, pos = c, p
			break
		}
		if ErrorKind(err) != KindConflict || attempt >= s.maxAttempts {
			return nil, Result{}, err
		}
	}
	aff, p, err := execute(ctx, s, AffiliateStream(id), newAffiliate, func(a *Affiliate) error {
		return a.register(AffiliateRegistered{AffiliateID: id, Name: name, Email: email, Code: code,
			RateBps: cmd.CommissionRateBps, RecurringMonths: cmd.RecurringMonths, APIKeySHA256: HashAPIKey(apiKey), RegisteredAt: s.clock()})
	})
	if err != nil {
		return nil, Result{}, err
	}
	return &RegisteredAffiliate{Affiliate: aff, APIKey: apiKey}, Result{Position: maxPos(pos, p)}, nil
}

// Affiliate returns an affiliate; 404 when it does not exist.
func (s *Service) Affiliate(ctx context.Context, id string) (*Affiliate, error) {
	a, err := s.affiliateFor(ctx, id)
	if err != nil {
		return nil, err
	}
	if a == nil {
		return nil, notFound("affiliate")
	}
	return a, nil
}

// EraseAffiliate erases an affiliate (a person too): its API key stops
// working at once; the caller then shreds its keys (name, e-mail, the
// code's pseudonym), having read the code from the returned affiliate
// before. Its sales rows, summaries and commissions stay.
func (s *Service) EraseAffiliate(ctx context.Context, id string) (*Affiliate, Result, error) {
	a, pos, err := execute(ctx, s, AffiliateStream(id), newAffiliate, func(a *Affiliate) error {
		return a.erase(s.clock())
	})
	return a, Result{Position: pos}, err
}

// AffiliateIDForCode resolves an affiliate code (from a checkout) to the
// affiliate's id; 422 unknown_affiliate_code when no affiliate has it.
func (s *Service) AffiliateIDForCode(ctx context.Context, code string) (string, error) {
	key := s.keys.digest(reserveAffiliateCode, NormalizeAffiliateCode(code))
	r, _, err := load(ctx, s, ReservationStream(reserveAffiliateCode, key), newReservation)
	if err != nil {
		return "", err
	}
	if !r.Held {
		return "", &Error{Kind: KindInvalid, Code: CodeUnknownAffiliateCode, Message: "no affiliate has this code",
			Fields: []FieldError{{Field: "affiliate_code", Code: FieldInvalid}}}
	}
	return r.Owner, nil
}
