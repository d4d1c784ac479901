package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/eventstore/keyring"
	"github.com/aseptsoft/subledger/eventstore/repository"
)

// errFenceInDataDir means --erasure-fence names a file inside the data
// directory, where a restored backup would bring back an old copy of it.
var errFenceInDataDir = errors.New("--erasure-fence must be outside the data directory: a restore of the data directory must not be able to take the fence back in time")

// openFence opens the erasure fence that cfg names; nil when it names none.
// A corrupted line is an error naming it (keyring.ErrFenceCorrupt).
func openFence(cfg config, logger *slog.Logger) (*keyring.FenceFile, error) {
	if cfg.ErasureFence == "" {
		return nil, nil
	}
	if inside(cfg.ErasureFence, cfg.DataDir) {
		return nil, errFenceInDataDir
	}
	f, err := keyring.OpenFence(cfg.ErasureFence)
	if err != nil {
		return nil, err
	}
	if n := f.Torn(); n > 0 {
		logger.Warn("erasure fence: cut a torn last line (a crash while an erasure was being recorded; that erasure had not started)", "file", f.Path(), "bytes", n)
	}
	return f, nil
}

// fenceResult is what applying the fence did.
type fenceResult struct {
	// Fenced is the number of subjects in the fence.
	Fenced int `json:"fenced"`
	// Reforgotten counts subjects whose key the store still held (a restored
	// backup older than their erasure) and that were forgotten again.
	Reforgotten int `json:"reforgotten"`
	// Added counts erasures of the store's ledger that the fence lacked
	// (made before the fence was used) and that were copied into it.
	Added int `json:"added"`
	// Erased counts accounts and affiliates whose erasure the store did not
	// show and that were erased again through the domain.
	Erased int `json:"erased"`
}

// applyFence forgets again every subject the fence names whose key the ring
// still holds, then copies into the fence every erasure of the store's
// ledger that it lacks, so that the fence holds every erasure from then on.
func applyFence(ctx context.Context, fence *keyring.FenceFile, st *stack) (fenceResult, error) {
	var res fenceResult
	for _, e := range fence.Erasures() {
		res.Fenced++
		if _, err := st.ring.Key(ctx, e.SubjectID, e.KeyID); errors.Is(err, keyring.ErrForgotten) {
			continue
		}
		if err := st.ring.Forget(ctx, e.SubjectID); err != nil {
			return res, fmt.Errorf("erasure fence: forgetting subject %s again: %w", e.SubjectID, err)
		}
		res.Reforgotten++
	}
	err := keyring.ReadLedger(ctx, st.store, func(e keyring.Erasure) error {
		if fence.Has(e.SubjectID) {
			return nil
		}
		res.Added++
		return fence.Record(e)
	})
	if err != nil {
		return res, fmt.Errorf("erasure fence: copying the ledger into it: %w", err)
	}
	return res, nil
}

// eraseFenced records, through the domain, the erasure of every account and
// affiliate in the fence that the store does not show as erased (a restored
// backup older than the erasure): the projections then show it erased, its
// sessions end and its e-mail address is free. Subjects of other kinds (the
// pseudonyms of reservations, the keys of Stripe intents) have nothing to
// record; forgetting their key was all.
func eraseFenced(ctx context.Context, fence *keyring.FenceFile, svc *domain.Service, ring keyring.Ring) (int, error) {
	n := 0
	for _, e := range fence.Erasures() {
		acc, err := svc.Account(ctx, e.SubjectID)
		switch {
		case err == nil && acc.Status != domain.AccountStatusErased:
			if _, _, err := svc.RequestErasure(ctx, domain.RequestErasure{AccountID: e.SubjectID}); err != nil {
				return n, fmt.Errorf("erasure fence: erasing account %s again: %w", e.SubjectID, err)
			}
			if err := repository.ShredAccount(ctx, ring, e.SubjectID); err != nil {
				return n, fmt.Errorf("erasure fence: shredding account %s again: %w", e.SubjectID, err)
			}
			n++
			continue
		case err == nil:
			continue
		case !isNotFound(err):
			return n, fmt.Errorf("erasure fence: reading account %s: %w", e.SubjectID, err)
		}
		aff, err := svc.Affiliate(ctx, e.SubjectID)
		switch {
		case err == nil && aff.ErasedAt.IsZero():
			if _, _, err := svc.EraseAffiliate(ctx, e.SubjectID); err != nil {
				return n, fmt.Errorf("erasure fence: erasing affiliate %s again: %w", e.SubjectID, err)
			}
			if err := repository.ShredAffiliate(ctx, ring, e.SubjectID); err != nil {
				return n, fmt.Errorf("erasure fence: shredding affiliate %s again: %w", e.SubjectID, err)
			}
			n++
		case err != nil && !isNotFound(err):
			return n, fmt.Errorf("erasure fence: reading affiliate %s: %w", e.SubjectID, err)
		}
	}
	return n, nil
}

func isNotFound(err error) bool {
	var de *domain.Error
	return errors.As(err, &de) && de.Kind == domain.KindNotFound
}
