package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/eventstore/keyring"
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
	for id := range view.ErasuresDue() {
		if ctx.Err() != nil {
			return
		}
		acc, _, err := j.svc.EraseIfDue(ctx, domain.EraseIfDue{AccountID: id})
		if err == nil && acc != nil && acc.Status == domain.AccountStatusErased {
			// Shredding the key is what makes the erasure real; Forget is
			// safe to repeat, so a crash between the two is mended on the
			// next round (the account is erased, its key still goes).
			err = j.ring.Forget(ctx, id)
		}
		if err != nil {
			j.logger.Error("jobs: scheduled erasure failed", "account_id", id, "error", err)
			continue
		}
		erased++
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
