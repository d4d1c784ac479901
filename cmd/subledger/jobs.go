package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/aseptsoft/subledger/api"
	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/eventstore/keyring"
	"github.com/aseptsoft/subledger/eventstore/repository"
	"github.com/aseptsoft/subledger/projections"
	"github.com/aseptsoft/subledger/stripe"
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
	// stripe makes the outbox's calls; nil (no --stripe-api-key) leaves
	// them pending.
	stripe stripeCaller

	// reconciled is set once every erased account's key was made sure to be
	// shredded (the first round); unshredded holds the erased accounts
	// whose Forget failed since, tried again every round.
	reconciled bool
	unshredded map[string]bool
}

// stripeCaller is the part of the Stripe client the outbox needs.
type stripeCaller interface {
	DeleteCustomer(ctx context.Context, idempotencyKey, customerID string) error
	DetachPaymentMethods(ctx context.Context, idempotencyKey, customerID string) (int, error)
}

// beforeErasure records what Stripe must be told about an account that is
// about to be erased (its customer deleted), while its customer id is
// still readable; the jobs carry it out, retrying until it succeeds.
func beforeErasure(svc *domain.Service) func(ctx context.Context, acc *domain.Account) error {
	return func(ctx context.Context, acc *domain.Account) error {
		if acc.StripeCustomerID == "" {
			return nil
		}
		_, _, err := svc.RecordStripeIntent(ctx, domain.IntentDeleteCustomer, acc.ID, acc.StripeCustomerID)
		return err
	}
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
		before, err := j.svc.Account(ctx, id)
		if err != nil {
			j.logger.Error("jobs: reading an account due for erasure failed", "account_id", id, "error", err)
			continue
		}
		acc, res, err := j.svc.EraseIfDue(ctx, domain.EraseIfDue{AccountID: id})
		if err != nil {
			j.logger.Error("jobs: scheduled erasure failed", "account_id", id, "error", err)
			continue
		}
		if acc == nil || acc.Status != domain.AccountStatusErased {
			continue
		}
		// The customer id was read before the erasure; the key goes next.
		if err := beforeErasure(j.svc)(ctx, before); err != nil {
			j.logger.Error("jobs: recording the Stripe deletion of an erased account failed", "account_id", id, "error", err)
		}
		// Shredding the keys is what makes the erasure real.
		if err := repository.ShredAccount(ctx, j.ring, id); err != nil {
			j.unshredded[id] = true
			j.logger.Error("jobs: shredding an erased account's keys failed; trying again next round", "account_id", id, "error", err)
		}
		// Another replica may have recorded the erasure first (nothing was
		// appended here): the Stripe deletion and the shredding above are
		// repeated on purpose, both idempotent, in case that replica stopped
		// before them; but the erasure is counted once, where it was
		// recorded.
		if res.Position == 0 {
			continue
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
	j.stripeCalls(ctx, view)
	if erased+approved > 0 {
		j.logger.Info("jobs: due work done", "erasures", erased, "commissions_approved", approved)
	}
	return erased, approved
}

// stripeCalls makes the outbox's calls that are due: each with the
// intent's id as its idempotency key, so that replicas and retries do the
// work once. A call that succeeds shreds the intent's key (the customer id
// it held), then completes the intent; one that fails is tried again with
// backoff.
func (j *jobs) stripeCalls(ctx context.Context, view *projections.View) {
	if j.stripe == nil {
		return
	}
	for id := range view.StripeIntentsDue() {
		if ctx.Err() != nil {
			return
		}
		in, err := j.svc.StripeIntent(ctx, id)
		if err != nil {
			j.logger.Error("jobs: reading a Stripe intent failed", "intent_id", id, "error", err)
			continue
		}
		if in.Done() {
			continue
		}
		// An intent whose key is gone was carried out (the key is shredded
		// only after the call succeeded) and only its completion is missing.
		if in.CustomerID != "" {
			var callErr error
			switch in.Kind {
			case domain.IntentDeleteCustomer:
				callErr = j.stripe.DeleteCustomer(ctx, "intent-"+id, in.CustomerID)
			case domain.IntentDetachPaymentMethods:
				// A subscription that runs (perhaps known only since the
				// intent was made) still needs the card: nothing to do.
				acc, err := j.svc.Account(ctx, in.AccountID)
				if err != nil {
					callErr = err
				} else if !acc.PaidServiceRuns() && acc.Status != domain.AccountStatusErased {
					_, callErr = j.stripe.DetachPaymentMethods(ctx, "intent-"+id, in.CustomerID)
				}
			default:
				callErr = errors.New("unknown intent kind")
			}
			if callErr != nil {
				code := "stripe_unavailable"
				if errors.Is(callErr, stripe.ErrRejected) {
					code = "stripe_rejected"
				}
				if _, _, err := j.svc.FailStripeIntent(ctx, id, code); err != nil {
					j.logger.Error("jobs: recording a failed Stripe call failed", "intent_id", id, "error", err)
				}
				if j.metrics != nil {
					j.metrics.StripeCallFailed()
				}
				j.logger.Warn("jobs: a Stripe call failed; it is tried again with backoff", "intent_id", id, "kind", string(in.Kind), "code", code)
				continue
			}
			if err := j.ring.Forget(ctx, domain.IntentSubject(id)); err != nil {
				j.logger.Error("jobs: shredding a done Stripe intent's key failed; trying again next round", "intent_id", id, "error", err)
				continue
			}
		}
		if _, err := j.svc.CompleteStripeIntent(ctx, id); err != nil {
			j.logger.Error("jobs: completing a Stripe intent failed", "intent_id", id, "error", err)
		}
	}
}
