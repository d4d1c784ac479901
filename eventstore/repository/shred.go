package repository

import (
	"context"
	"errors"

	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/eventstore/keyring"
)

// Pseudonyms gives the domain pseudonyms derived from data keys in a key
// ring (domain.Pseudonyms).
type Pseudonyms struct {
	Ring keyring.Ring
}

// Pseudonym implements domain.Pseudonyms.
func (p Pseudonyms) Pseudonym(ctx context.Context, subject, label string) (string, error) {
	return keyring.Pseudonym(ctx, p.Ring, subject, label)
}

// ShredAccount forgets every key of an erased account: first the pseudonym
// its e-mail reservations are encrypted under, then the account's own key,
// from which that pseudonym is derived (in that order, so that a crash
// between the two leaves the account's key, and a repeat finishes the
// work). It is safe to repeat; once the account's key is gone there is
// nothing left to do.
func ShredAccount(ctx context.Context, ring keyring.Ring, accountID string) error {
	return shred(ctx, ring, accountID, domain.PseudonymEmailReservation)
}

// ShredAffiliate forgets every key of an erased affiliate: the pseudonym
// its code reservation is encrypted under, then its own key (the same order
// and the same repeat-safety as ShredAccount).
func ShredAffiliate(ctx context.Context, ring keyring.Ring, affiliateID string) error {
	return shred(ctx, ring, affiliateID, domain.PseudonymAffiliateCode)
}

// shred forgets the subject's pseudonym for label, then the subject's key.
func shred(ctx context.Context, ring keyring.Ring, subject, label string) error {
	p, err := keyring.Pseudonym(ctx, ring, subject, label)
	if errors.Is(err, keyring.ErrForgotten) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := ring.Forget(ctx, p); err != nil {
		return err
	}
	return ring.Forget(ctx, subject)
}
