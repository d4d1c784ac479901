package domain_test

import (
	"context"
	"flag"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/domain/domaintest"
)

// The order-independence property of the domain alone: a lifecycle drawn
// by domaintest (license purchases, paid at once or asynchronously;
// subscriptions with trials, renewals, plan and quantity changes and their
// prorations, failed payments and Stripe's cancellation after them;
// refunds, inquiries and disputes; the customers' cancellations,
// reactivations, closures, erasures and re-signups; every fact with its
// Stripe event id) is delivered to a Service over an in-memory store in
// time order, in shuffled orders with duplicates (customer commands kept
// causally valid, see domaintest.Action), and in one of those again by
// concurrent deliverers, then settled (commission approvals, due
// erasures). Every aggregate must fold to the same state, and every
// customer command must have the same outcome. The clock advances a
// second on every reading while facts are delivered, so that a decision
// that wrongly depends on it shows.
//
// The projections' property test (projections/property_test.go) runs the
// same lifecycles through the real store and codec and compares the
// reports with an independent oracle.

// Times of the jobs that follow a lifecycle, as in the projections' test.
var (
	approveAt = domaintest.Base.AddDate(0, 0, 100)
	eraseAt   = domaintest.Base.AddDate(2, 0, 0)
)

// delivery is what one delivery leaves: every stream's aggregate, and the
// outcome of every customer command.
type delivery struct {
	states   map[string]any
	outcomes []string
}

func deliver(t *rapid.T, lc domaintest.Lifecycle, order []domaintest.Step, workers int) delivery {
	ctx := context.Background()
	r := domain.NewOrderRun(t)
	d := domaintest.Deliverer{Service: r.Service(), SetClock: r.SetClock, Erased: r.Forget, Workers: workers}
	if err := d.Register(ctx, lc); err != nil {
		t.Fatal(err)
	}
	r.SetTick(time.Second)
	outcomes, err := d.Deliver(ctx, lc, order)
	if err != nil {
		t.Fatalf("delivered in this order:\n  %s\n%v", strings.Join(lc.Labels(order), "\n  "), err)
	}
	r.SetTick(0)
	if err := d.Settle(ctx, lc, approveAt, eraseAt); err != nil {
		t.Fatal(err)
	}
	return delivery{states: r.States(t), outcomes: outcomes}
}

// same fails t unless got is want.
func same(t *rapid.T, lc domaintest.Lifecycle, want, got delivery, how string, order []domaintest.Step) {
	where := func() string { return how + ":\n  " + strings.Join(lc.Labels(order), "\n  ") }
	if !slices.Equal(want.outcomes, got.outcomes) {
		t.Fatalf("%s\ncustomer commands' outcomes differ:\n in time order: %q\n this order:    %q", where(), want.outcomes, got.outcomes)
	}
	var ws, gs []string
	for s := range want.states {
		ws = append(ws, s)
	}
	for s := range got.states {
		gs = append(gs, s)
	}
	slices.Sort(ws)
	slices.Sort(gs)
	if !slices.Equal(ws, gs) {
		t.Fatalf("%s\nstreams differ:\n in time order: %v\n this order:    %v", where(), ws, gs)
	}
	for _, s := range ws {
		if a, b := want.states[s], got.states[s]; !reflect.DeepEqual(a, b) {
			t.Fatalf("%s\n%s differs:\n in time order: %+v\n this order:    %+v", where(), s, a, b)
		}
	}
}

func TestStripeFactsInAnyOrderGiveTheSameState(t *testing.T) {
	if f := flag.Lookup("rapid.checks"); f != nil {
		set := false
		flag.Visit(func(v *flag.Flag) { set = set || v.Name == "rapid.checks" })
		if !set {
			old := f.Value.String()
			_ = f.Value.Set("1000")
			defer func() { _ = f.Value.Set(old) }()
		}
	}
	rapid.Check(t, func(t *rapid.T) {
		lc := domaintest.Lifecycles(domaintest.Limits{}).Draw(t, "lifecycle")
		want := deliver(t, lc, lc.InOrder(), 1)
		for i := range 2 {
			order := lc.Orders().Draw(t, fmt.Sprintf("order_%d", i))
			same(t, lc, want, deliver(t, lc, order, 1), "delivered in this order", order)
		}
		// The same again with concurrent deliveries: the interleaving is the
		// scheduler's, so this part is a smoke test of the retries rather
		// than a reproducible case.
		order := lc.Orders().Draw(t, "concurrent")
		same(t, lc, want, deliver(t, lc, order, 4), "delivered concurrently in this order", order)
	})
}
