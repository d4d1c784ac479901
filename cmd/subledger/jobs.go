package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/aseptsoft/subledger/api"
	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/eventstore/keyring"
	"github.com/aseptsoft/subledger/eventstore/repository"
	"github.com/aseptsoft/subledger/projections"
)

// jobs carries out work that falls due with time: erasures scheduled after
// an account's last paid subscription ended (--erasure-grace), and
// commissions whose hold has passed (--commission-hold). Every step is a
// domain command that is safe to repeat, so several replicas may run jobs.
type jobs struct {
	proj   *projections.Projector
	svc    *domain.Service
	ring   keyring.Ring
	logger *slog.Logger
	// metrics, when set, counts the erasures carried out.
	metrics *api.Metrics

	// reconciled is set once every erased account's key was made sure to be
	// shredded (the first round); unshredded holds the erased accounts
	// whose Forget failed since, tried again every round.
	reconciled bool
	unshredded map[string]bool
}

// run does the due work every interval until ctx ends.
func (j *jobs) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-j.proj.Ready():
		}
		j.once(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// once does the work due now and reports how much it did.
func (j *jobs) once(ctx context.Context) (erased, approved int) {
	view := j.proj.View()
	// An erased account whose key survived (a Forget that failed, or a crash
	// between recording the erasure and shredding) is shredded now: on the
	// first round every erased account is checked (Forget is a no-op for a
	// forgotten subject), afterwards those whose Forget failed.
	if j.unshredded == nil {
		j.unshredded = map[string]bool{}
	}
	if !j.reconciled {
		for id := range view.ErasedAccounts() {
			j.unshredded[id] = true
		}
		j.reconciled = true
	}
	for id := range j.unshredded {
		if ctx.Err() != nil {
			return
		}
		if err := repository.ShredAccount(ctx, j.ring, id); err != nil {
			j.logger.Error("jobs: shredding an erased account's keys failed; trying again next round", "account_id", id, "error", err)
			continue
		}
		delete(j.unshredded, id)
	}
	for id := range view.ErasuresDue() {
		if ctx.Err() != nil {
			return
		}
		acc, _, err := j.svc.EraseIfDue(ctx, domain.EraseIfDue{AccountID: id})
		if err != nil {
			j.logger.Error("jobs: scheduled erasure failed", "account_id", id, "error", err)
			continue
		}
		if acc == nil || acc.Status != domain.AccountStatusErased {
			continue
		}
		// Shredding the keys is what makes the erasure real.
		if err := repository.ShredAccount(ctx, j.ring, id); err != nil {
			j.unshredded[id] = true
			j.logger.Error("jobs: shredding an erased account's keys failed; trying again next round", "account_id", id, "error", err)
		}
		erased++
		if j.metrics != nil {
			j.metrics.Erasure()
		}
	}
	for due := range view.CommissionsDue() {
		if ctx.Err() != nil {
			return
		}
		if _, _, err := j.svc.ApproveCommission(ctx, domain.ApproveCommission{SaleID: due.SaleID}); err != nil {
			j.logger.Error("jobs: commission approval failed", "sale_id", due.SaleID, "error", err)
			continue
		}
		approved++
	}
	if erased+approved > 0 {
		j.logger.Info("jobs: due work done", "erasures", erased, "commissions_approved", approved)
	}
	return erased, approved
}
