package domaintest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aseptsoft/subledger/domain"
)

// Deliverer delivers lifecycles to a Service.
type Deliverer struct {
	// Service receives the commands. Its Config.NewID must come from
	// NewIDs.
	Service *domain.Service
	// SetClock, when set, sets the Service's clock: to RegisteredAt before
	// the registrations, to an action's time before the action, and to the
	// times given to Settle.
	SetClock func(time.Time)
	// Erased, when set, is called once an account was erased (by
	// RequestErasure or EraseIfDue): the caller shreds the account's data
	// key there, as the API does.
	Erased func(ctx context.Context, accountID string) error
	// Workers above 1 deliver the facts between two actions concurrently,
	// each retried on version conflicts: the interleaving is the
	// scheduler's, so such a delivery is not reproducible.
	Workers int
}

func (d Deliverer) setClock(t time.Time) {
	if d.SetClock != nil {
		d.SetClock(t)
	}
}

// Register registers lc's affiliates and accounts, in order, and checks
// that they got the ids lc expects.
func (d Deliverer) Register(ctx context.Context, lc Lifecycle) error {
	d.setClock(RegisteredAt)
	for i, a := range lc.Affiliates {
		got, _, err := d.Service.RegisterAffiliate(ctx, a)
		if err != nil {
			return fmt.Errorf("register affiliate %d: %w", i, err)
		}
		if want := lc.AffiliateIDs()[i]; got.Affiliate.ID != want {
			return fmt.Errorf("affiliate %d got id %s, want %s: the Service must use domaintest.NewIDs", i, got.Affiliate.ID, want)
		}
	}
	for i, a := range lc.Accounts {
		got, _, err := d.Service.RegisterAccount(ctx, a)
		if err != nil {
			return fmt.Errorf("register account %d: %w", i, err)
		}
		if want := lc.AccountIDs()[i]; got.ID != want {
			return fmt.Errorf("account %d got id %s, want %s: the Service must use domaintest.NewIDs", i, got.ID, want)
		}
	}
	return nil
}

// Deliver applies the steps of an order of lc. Facts must succeed (after
// retries on version conflicts); an action may be refused as Expected
// allows. It returns each action's outcome, by action index: "" when it
// was carried out, else the error code of its refusal.
func (d Deliverer) Deliver(ctx context.Context, lc Lifecycle, steps []Step) ([]string, error) {
	outcomes := make([]string, len(lc.Actions))
	var facts []Fact
	for _, s := range steps {
		if !s.Action {
			facts = append(facts, lc.Facts[s.Index])
			continue
		}
		if err := d.facts(ctx, facts); err != nil {
			return nil, err
		}
		facts = facts[:0]
		a := lc.Actions[s.Index]
		d.setClock(a.At)
		err := a.Apply(ctx, d.Service)
		if !Expected(err) {
			return nil, fmt.Errorf("%s: %w", lc.Label(s), err)
		}
		outcomes[s.Index] = domain.ErrorCode(err)
		if err == nil && a.Kind == RequestErasure && d.Erased != nil {
			if err := d.Erased(ctx, a.AccountID); err != nil {
				return nil, fmt.Errorf("%s: shred: %w", lc.Label(s), err)
			}
		}
	}
	return outcomes, d.facts(ctx, facts)
}

// facts applies facts in order, or by d.Workers concurrent deliverers.
func (d Deliverer) facts(ctx context.Context, facts []Fact) error {
	apply := func(f Fact) error {
		err := f.Apply(ctx, d.Service)
		for retry := 0; domain.ErrorKind(err) == domain.KindConflict && retry < 50; retry++ {
			err = f.Apply(ctx, d.Service)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", f.Label, err)
		}
		return nil
	}
	if d.Workers <= 1 {
		for _, f := range facts {
			if err := apply(f); err != nil {
				return err
			}
		}
		return nil
	}
	queue := make(chan Fact)
	errs := make(chan error, d.Workers)
	var wg sync.WaitGroup
	for range d.Workers {
		wg.Go(func() {
			for f := range queue {
				if err := apply(f); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		})
	}
	for _, f := range facts {
		queue <- f
	}
	close(queue)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

// Settle runs the jobs that follow a lifecycle: at approveAt the approval
// of every sale's commission (refused when not due or not earned), then at
// eraseAt the erasure of every account whose erasure is due (shredding as
// Deliver does).
func (d Deliverer) Settle(ctx context.Context, lc Lifecycle, approveAt, eraseAt time.Time) error {
	s := d.Service
	d.setClock(approveAt)
	for _, pi := range lc.PaymentIntents() {
		if _, _, err := s.ApproveCommission(ctx, domain.ApproveCommission{SaleID: s.SaleIDForPaymentIntent(pi)}); !Expected(err) {
			return fmt.Errorf("approve the commission on %s: %w", pi, err)
		}
	}
	d.setClock(eraseAt)
	for _, id := range lc.AccountIDs() {
		before, err := s.Account(ctx, id)
		if err != nil {
			return err
		}
		acc, _, err := s.EraseIfDue(ctx, domain.EraseIfDue{AccountID: id})
		if !Expected(err) {
			return fmt.Errorf("erase %s if due: %w", id, err)
		}
		if err == nil && before.Status != domain.AccountStatusErased && acc.Status == domain.AccountStatusErased && d.Erased != nil {
			if err := d.Erased(ctx, id); err != nil {
				return fmt.Errorf("erase %s if due: shred: %w", id, err)
			}
		}
	}
	return nil
}
