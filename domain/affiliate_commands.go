package domain

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
)

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

// affiliateFor returns a registered affiliate, or nil for "" or an unknown id
// (a sale attributed to an unknown affiliate earns no commission).
func (s *Service) affiliateFor(ctx context.Context, id string) (*Affiliate, error) {
	if id == "" {
		return nil, nil
	}
	a, _, err := load(ctx, s, AffiliateStream(id), newAffiliate)
	if err != nil || a.ID == "" {
		return nil, err
	}
	return a, nil
}
