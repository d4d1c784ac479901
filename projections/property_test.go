package projections_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"flag"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/domain/domaintest"
	"github.com/aseptsoft/subledger/eventstore/codec"
	"github.com/aseptsoft/subledger/eventstore/embedded"
	"github.com/aseptsoft/subledger/eventstore/keyring"
	"github.com/aseptsoft/subledger/eventstore/repository"
	"github.com/aseptsoft/subledger/projections"
)

// The order-independence property on the whole write and read path: a
// generated lifecycle (domaintest: sign-ups, license purchases,
// subscriptions with renewals, plan changes and payment failures, refunds,
// disputes, the customers' cancellations, reactivations, closures and
// erasures) is delivered to a real stack (embedded store, file key ring,
// encrypting codec, repository, domain.Service, projector) in time order,
// in shuffled orders with duplicates, and in one of those again by
// concurrent deliverers, each on a fresh stack in its own directory; then
// the jobs that follow (commission approvals, due erasures) run. Every
// projection and report must come out the same, and so must the domain's
// aggregates and the outcome of every customer command.
//
//   - Ids are equal in every delivery: the Service hands out account and
//     affiliate ids with domaintest.NewIDs (registrations come first, in
//     order), its Random is a fixed-seed ChaCha8 (affiliate codes, API key
//     digests, password salts), and every other id is derived from a Stripe
//     id under the fixed secret. Nothing is compared modulo ids.
//   - Clocks are fixed: the Service's is set by the deliverer (registration
//     time, each customer command's own time, the jobs' times), the
//     projector's is viewAt, so commission statuses are comparable.
//   - Customer commands stay causally valid (see domaintest.Action): a
//     Stripe fact of their scope that occurs later is never delivered
//     before them, and a subscription command comes after the facts of its
//     subscription that occurred before it.
//   - Every delivery also rebuilds a second projector from the store when
//     it is done: it must show what the live projector shows.
//
//   - Every delivery's reports are compared with an independent oracle
//     (oracle_test.go, checkOracle), and the commission statuses of the
//     report and of the Sale aggregates with each other at the instants
//     they turn; the commission hold is drawn per lifecycle (holds).
//
// The deliveries of a lifecycle run at once, in memory where /dev/shm
// exists (fastTempDir); a thousand lifecycles take about 45 s on two
// cores. A failure prints rapid's seed and fail file to rerun it with.

// propertyChecks is how many lifecycles the test checks unless
// -rapid.checks is given.
const propertyChecks = 1000

// shuffledOrders is how many shuffled orders each lifecycle is also
// delivered in.
const shuffledOrders = 2

// Fixed times: the projector's clock (commission statuses are computed
// against it), and the times of the jobs that follow a lifecycle.
var (
	approveAt = domaintest.Base.AddDate(0, 0, 100)
	viewAt    = domaintest.Base.AddDate(0, 0, 130)
	eraseAt   = domaintest.Base.AddDate(2, 0, 0)
)

// grace is the erasure grace; the commission hold is drawn per lifecycle
// (holds), so that the statuses are checked with the default, a shorter
// hold and none.
const grace = 720 * time.Hour

// holds are the commission holds a lifecycle is drawn with: the default,
// ten days, and none (a negative Config.CommissionHold).
var holds = []time.Duration{720 * time.Hour, 240 * time.Hour, -1}

var (
	secret  = []byte("property-test-secret-0123456789ab")
	signKey = ed25519.NewKeyFromSeed([]byte("property-test-license-seed-00001"))

	sharedOnce sync.Once
	sharedReg  *codec.Registry
	sharedKey  keyring.MasterKey
	sharedErr  error
)

func shared() (*codec.Registry, keyring.MasterKey, error) {
	sharedOnce.Do(func() {
		if sharedReg, sharedErr = repository.NewRegistry(); sharedErr == nil {
			sharedKey, sharedErr = keyring.NewMasterKey(rand.Reader, "property test")
		}
	})
	return sharedReg, sharedKey, sharedErr
}

// clock is the Service's clock: fixed, set by the deliverer.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// stack is a fresh write and read path in a directory.
type stack struct {
	store *embedded.Store
	ring  *keyring.FileRing
	repo  *repository.Repository
	clock *clock
	// viewClock is the projector's clock: viewAt, unless a check moves it.
	viewClock *clock
	hold      time.Duration
	svc       *domain.Service
	proj      *projections.Projector
	stop      func() error
}

func newStack(dir string, hold time.Duration) (*stack, error) {
	ctx := context.Background()
	reg, master, err := shared()
	if err != nil {
		return nil, err
	}
	store, err := embedded.Open(filepath.Join(dir, "events"), embedded.Config{NoPrealloc: true})
	if err != nil {
		return nil, err
	}
	ring, err := keyring.OpenFileRing(ctx, filepath.Join(dir, "keyring"), master, store, keyring.Config{})
	if err != nil {
		store.Close()
		return nil, err
	}
	repo := repository.New(store, codec.New(reg, ring, codec.Config{}))
	st := &stack{store: store, ring: ring, repo: repo, clock: &clock{}, viewClock: &clock{t: viewAt}, hold: hold}
	st.svc, err = domain.NewService(domain.Config{Store: repo, Secret: secret, LicenseSigningKey: signKey, Pseudonyms: repository.Pseudonyms{Ring: st.ring},
		Now: st.clock.now, NewID: domaintest.NewIDs(), Random: mrand.NewChaCha8([32]byte{}), // affiliate codes and keys equal in every run
		Passwords:    domain.Argon2id{Time: 1, MemoryKiB: 64, Threads: 1, KeyLen: 32, SaltLen: 16}, // sign-ups are not what this tests
		ErasureGrace: grace, CommissionHold: hold})
	if err == nil {
		st.proj, err = projections.New(projections.Config{Decoder: repo, Now: st.viewClock.now,
			CommissionHold: hold, Observe: ring.Observe})
	}
	if err != nil {
		st.close()
		return nil, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- st.proj.Run(runCtx, store) }()
	st.stop = func() error {
		cancel()
		return <-done
	}
	return st, nil
}

func (st *stack) close() {
	if st.stop != nil {
		_ = st.stop()
	}
	st.ring.Close()
	st.store.Close()
}

// run delivers lc in order to a fresh stack in dir, settles it and returns
// what the projections and reports show.
func run(dir string, lc domaintest.Lifecycle, hold time.Duration, order []domaintest.Step, workers int) (observation, error) {
	ctx := context.Background()
	st, err := newStack(dir, hold)
	if err != nil {
		return nil, err
	}
	defer st.close()
	d := domaintest.Deliverer{Service: st.svc, SetClock: st.clock.set, Erased: func(ctx context.Context, id string) error { return repository.ShredAccount(ctx, st.ring, id) }, Workers: workers}
	if err := d.Register(ctx, lc); err != nil {
		return nil, err
	}
	outcomes, err := d.Deliver(ctx, lc, order)
	if err != nil {
		return nil, err
	}
	if err := d.Settle(ctx, lc, approveAt, eraseAt); err != nil {
		return nil, err
	}
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := st.proj.WaitFor(wait, st.store.Position()); err != nil {
		return nil, fmt.Errorf("projector at %d of %d: %w", st.proj.Position(), st.store.Position(), err)
	}
	obs := observe(st.proj.View(), st.svc, lc)
	// A projector rebuilt from the store (as at a restart, the erased
	// subjects' personal fields decoding as zero) shows the same.
	rebuilt, err := projections.New(projections.Config{Decoder: st.repo, Now: func() time.Time { return viewAt },
		CommissionHold: st.hold, Observe: st.ring.Observe})
	if err != nil {
		return nil, err
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- rebuilt.Run(runCtx, st.store) }()
	err = rebuilt.WaitFor(wait, st.store.Position())
	stop()
	<-done
	if err != nil {
		return nil, fmt.Errorf("rebuilt projector at %d of %d: %w", rebuilt.Position(), st.store.Position(), err)
	}
	if d := obs.diff(observe(rebuilt.View(), st.svc, lc), "live", "rebuilt"); d != "" {
		return nil, fmt.Errorf("a projector rebuilt from the store differs from the live one:\n%s", d)
	}
	if err := observeDomain(ctx, obs, st.svc, lc); err != nil {
		return nil, err
	}
	if err := checkOracle(ctx, st, lc); err != nil {
		return nil, err
	}
	for i, o := range outcomes {
		obs["outcome of "+lc.Actions[i].GoString()] = o
	}
	return obs, nil
}

// observation is what the projections and reports show, by what was asked.
type observation map[string]string

// summaryRanges are the ranges the summaries are asked for: whole months,
// and months cut at both ends.
var summaryRanges = [][2]time.Time{
	{domaintest.Base.AddDate(0, -1, 0), domaintest.Base.AddDate(2, 0, 0)},
	{domaintest.Base.Add(10*24*time.Hour + 5*time.Hour), domaintest.Base.AddDate(0, 0, 200)},
}

// observe asks the view everything the API and the reports may ask about
// lc: accounts (by id and e-mail), licenses, subscriptions, affiliates,
// affiliate report rows and summaries, statistics, due commissions and
// erasures. Positions are left out: they count events, and a shuffled
// order records more of them (a reversal recorded, then adjusted).
func observe(v *projections.View, svc *domain.Service, lc domaintest.Lifecycle) observation {
	obs := observation{}
	put := func(key string, value any) { obs[key] = fmt.Sprintf("%+v", value) }
	for i, id := range lc.AccountIDs() {
		a, ok := v.Account(id)
		put("account "+id, fmt.Sprintf("%v %+v", ok, a))
		email := lc.Registrations()[i].Email
		a, ok = v.AccountByEmail(email)
		put("account by e-mail "+email, fmt.Sprintf("%v %s", ok, a.ID))
		lics, err := v.Licenses(id, projections.MaxLimit, "")
		put("licenses of "+id, fmt.Sprintf("%v %+v", err, lics))
		subs, err := v.Subscriptions(id, projections.MaxLimit, "")
		put("subscriptions of "+id, fmt.Sprintf("%v %+v", err, subs))
		for _, pi := range lc.PaymentIntentsOf(id) {
			l, ok := v.License(svc.LicenseIDForPaymentIntent(pi))
			put("license "+pi, fmt.Sprintf("%v %+v", ok, l))
		}
	}
	for _, sid := range lc.StripeSubscriptions() {
		s, ok := v.Subscription(svc.SubscriptionIDFor(sid))
		put("subscription "+sid, fmt.Sprintf("%v %+v", ok, s))
	}
	ranges := summaryRanges
	for _, aff := range append(lc.AffiliateIDs(), domaintest.UnknownAffiliate) {
		a, ok := v.Affiliate(aff)
		put("affiliate "+aff, fmt.Sprintf("%v %+v", ok, a))
		put("sales rows of "+aff, collect(v.SalesRows(aff, time.Time{}, time.Time{})))
		for _, r := range ranges {
			put(fmt.Sprintf("summary of %s from %s to %s", aff, r[0].Format(time.RFC3339), r[1].Format(time.RFC3339)),
				v.SalesSummary(aff, r[0], r[1]))
		}
	}
	for _, r := range append(ranges, [2]time.Time{}) {
		st := v.Stats(r[0], r[1])
		st.Position = 0
		put(fmt.Sprintf("stats from %s to %s", r[0].Format(time.RFC3339), r[1].Format(time.RFC3339)), st)
	}
	put("commissions due", collect(v.CommissionsDue()))
	put("erasures due", collect(v.ErasuresDue()))
	return obs
}

// observeDomain adds to obs what the domain's aggregates say of lc, as
// the Service loads them from the store (through the codec): every
// account, license, started subscription, sale and affiliate.
func observeDomain(ctx context.Context, obs observation, svc *domain.Service, lc domaintest.Lifecycle) error {
	put := func(key string, v any, err error) error {
		if err != nil && domain.ErrorCode(err) != domain.CodeNotFound {
			return fmt.Errorf("%s: %w", key, err)
		}
		if err != nil {
			obs[key] = domain.ErrorCode(err)
			return nil
		}
		obs[key] = fmt.Sprintf("%+v", v)
		return nil
	}
	for _, id := range lc.AccountIDs() {
		a, err := svc.Account(ctx, id)
		if err != nil {
			return err
		}
		if err := put("domain account "+id, *a, nil); err != nil {
			return err
		}
		for _, pi := range lc.PaymentIntentsOf(id) {
			l, err := svc.License(ctx, svc.LicenseIDForPaymentIntent(pi))
			if err != nil {
				return fmt.Errorf("license %s: %w", pi, err)
			}
			if err := put("domain license "+pi, *l, nil); err != nil {
				return err
			}
		}
	}
	for _, sid := range lc.StripeSubscriptions() {
		x, err := svc.Subscription(ctx, svc.SubscriptionIDFor(sid))
		if x == nil {
			x = &domain.Subscription{}
		}
		if err := put("domain subscription "+sid, *x, err); err != nil {
			return err
		}
	}
	for _, pi := range lc.PaymentIntents() {
		x, err := svc.Sale(ctx, svc.SaleIDForPaymentIntent(pi))
		if x == nil {
			x = &domain.Sale{}
		}
		if err := put("domain sale "+pi, *x, err); err != nil {
			return err
		}
	}
	for _, id := range lc.AffiliateIDs() {
		a, err := svc.Affiliate(ctx, id)
		if err != nil {
			return err
		}
		if err := put("domain affiliate "+id, *a, nil); err != nil {
			return err
		}
	}
	return nil
}

func collect[T any](seq func(func(T) bool)) []T {
	var out []T
	for v := range seq {
		out = append(out, v)
	}
	return out
}

// diff describes how got differs from want, or returns "".
func (want observation) diff(got observation, wantName, gotName string) string {
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		if w, g := want[k], got[k]; w != g {
			fmt.Fprintf(&b, "%s:\n  %s: %s\n  %s: %s\n", k, wantName, w, gotName, g)
		}
	}
	return b.String()
}

// fastTempDir returns a temporary directory in memory (/dev/shm) where
// there is one, else on disk. The deliveries append one event batch at a
// time with an fsync each; in memory an fsync costs next to nothing, and
// durability is the store's own tests' question, not this one's.
func fastTempDir(t *testing.T) string {
	if dir, err := os.MkdirTemp("/dev/shm", "subledger-property-"); err == nil {
		t.Cleanup(func() { os.RemoveAll(dir) })
		return dir
	}
	return t.TempDir()
}

// TestProjectionsDoNotDependOnDeliveryOrder checks propertyChecks
// lifecycles (unless -rapid.checks says otherwise), each delivered in
// order and in shuffledOrders shuffled orders with duplicates, every
// delivery on a fresh stack.
func TestProjectionsDoNotDependOnDeliveryOrder(t *testing.T) {
	if f := flag.Lookup("rapid.checks"); f != nil {
		set := false
		flag.Visit(func(v *flag.Flag) { set = set || v.Name == "rapid.checks" })
		if !set {
			old := f.Value.String()
			if err := f.Value.Set(fmt.Sprint(propertyChecks)); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = f.Value.Set(old) }()
		}
	}
	// One temporary directory for the whole test, a subdirectory per
	// delivery removed after it: t.TempDir per delivery would keep them all
	// until the test ends.
	root := fastTempDir(t)
	var runs int
	rapid.Check(t, func(t *rapid.T) {
		lc := domaintest.Lifecycles(domaintest.Limits{}).Draw(t, "lifecycle")
		hold := rapid.SampledFrom(holds).Draw(t, "commission_hold")
		orders := [][]domaintest.Step{lc.InOrder()}
		for i := range shuffledOrders {
			orders = append(orders, lc.Orders().Draw(t, fmt.Sprintf("order_%d", i)))
		}
		// The last order again, by concurrent deliverers: the interleaving
		// is the scheduler's, so this is a smoke test of the retries on the
		// real store rather than a reproducible case.
		orders = append(orders, orders[len(orders)-1])
		concurrent := len(orders) - 1
		// The deliveries wait mostly for the store's fsyncs: run them at
		// once, each on its own stack.
		obs := make([]observation, len(orders))
		errs := make([]error, len(orders))
		var wg sync.WaitGroup
		for i, order := range orders {
			runs++
			dir := filepath.Join(root, fmt.Sprint(runs))
			workers := 1
			if i == concurrent {
				workers = 4
			}
			wg.Go(func() {
				defer os.RemoveAll(dir)
				obs[i], errs[i] = run(dir, lc, hold, order, workers)
			})
		}
		wg.Wait()
		how := func(i int) string {
			if i == concurrent {
				return "delivered concurrently in this order"
			}
			return "delivered in this order"
		}
		for i, err := range errs {
			if err != nil {
				t.Fatalf("%s:\n  %s\n%v", how(i), strings.Join(lc.Labels(orders[i]), "\n  "), err)
			}
		}
		for i := 1; i < len(orders); i++ {
			if d := obs[0].diff(obs[i], "in time order", "this order"); d != "" {
				t.Fatalf("%s:\n  %s\nthe projections differ from the time order's:\n%s",
					how(i), strings.Join(lc.Labels(orders[i]), "\n  "), d)
			}
		}
	})
}
