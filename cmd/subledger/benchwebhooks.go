package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
)

// webhookBenchResult is the one JSON line that `subledger bench webhooks`
// prints.
type webhookBenchResult struct {
	Subscriptions int              `json:"subscriptions"`
	Senders       int              `json:"senders"`
	Webhooks      httpPhaseFigures `json:"webhooks"`
	Bare          httpPhaseFigures `json:"bare"`
	// Ratio is webhooks/s over bare/s, the figure to compare between runs.
	Ratio float64 `json:"ratio"`
	// Errors counts non-200 answers and transport errors of each phase,
	// and "verify" the sampled subscriptions whose projected period does
	// not end where the renewals sent to them say.
	Errors          map[string]int `json:"errors"`
	DurationSeconds float64        `json:"duration_s"`
	BodyBytes       int            `json:"body_bytes"`
	// ReusedStore is true when --dir held the accounts and subscriptions
	// of an earlier run.
	ReusedStore               bool     `json:"reused_store"`
	SetupAccountsSeconds      float64  `json:"setup_accounts_seconds,omitempty"`
	StartSeconds              float64  `json:"server_start_seconds"`
	SetupSubscriptionsSeconds float64  `json:"setup_subscriptions_seconds,omitempty"`
	Verified                  int      `json:"verified_subscriptions"`
	Missed                    []string `json:"targets_missed,omitempty"`
}

// Target of the webhook benchmark (issue 8).
const webhookTargetRPS = 3000

// webhookBenchStateFile, in --dir, lists the benchmark's accounts and the
// next month to renew of each subscription, so that a reused store goes on
// with successive periods.
const webhookBenchStateFile = "bench-webhooks.json"

type webhookBenchState struct {
	Subscriptions int      `json:"subscriptions"`
	Accounts      []string `json:"accounts"`
	// Next is each subscription's next month to invoice: 0 before its
	// subscription exists, 1 once created with its first invoice paid.
	Next []int `json:"next_month"`
}

// benchWebhooks measures POST /v1/webhooks/stripe: signed invoice.paid
// events (subscription_cycle) for existing subscriptions, each a new
// renewal, from closed-loop senders over keep-alive connections to the
// server as serve wires it (in this process, on a free 127.0.0.1 port); the
// server answers 200 only once the renewal is durable and projected. The
// same senders post the same bytes to a bare Echo route in the same run,
// the baseline.
func benchWebhooks(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench webhooks", stderr)
	subs := fs.Int("subscriptions", 1000, "existing subscriptions to renew (made before the measurement: an account each, signed up through the domain, then customer.subscription.created and a first invoice.paid through the webhook)")
	senders := fs.Int("senders", 64, "concurrent senders, one keep-alive connection and closed loop each")
	duration := fs.Duration("duration", 10*time.Second, "measured time of each phase")
	warmup := fs.Duration("warmup", time.Second, "unmeasured warm-up before each phase")
	dir := fs.String("dir", "", "data directory; set up when it holds no store, reused (renewals go on from the last run's periods) when it holds one of --subscriptions made by this command (default: a new temporary directory, removed afterwards)")
	jsonOnly := fs.Bool("json", false, "print only the JSON line")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole process during the measured webhooks phase to this file")
	blockProfile := fs.String("blockprofile", "", "write a block profile of the measured webhooks phase to this file, and its mutex profile to FILE.mutex")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *senders < 1 || *subs < 1 || *duration <= 0 || *warmup < 0 {
		return errors.New("bench webhooks: want --senders >= 1, --subscriptions >= 1, --duration > 0, --warmup >= 0")
	}
	progress := stderr
	if *jsonOnly {
		progress = io.Discard
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "subledger-webhooks-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		*dir = d
	} else if err := os.MkdirAll(*dir, 0o700); err != nil {
		return err
	}
	res := webhookBenchResult{Subscriptions: *subs, Senders: *senders, DurationSeconds: duration.Seconds(),
		Errors: map[string]int{"webhooks": 0, "bare": 0, "verify": 0}}

	// The accounts, signed up through the domain before the server starts
	// (cheap password hashes: sign-up is not what is measured).
	state, err := loadWebhookBenchState(*dir)
	if err != nil {
		return err
	}
	_, statErr := os.Stat(filepath.Join(*dir, "events"))
	switch {
	case state == nil && statErr == nil:
		return fmt.Errorf("bench webhooks: --dir %s holds a store that this command did not set up (no %s): use another --dir", *dir, webhookBenchStateFile)
	case state != nil && (state.Subscriptions != *subs || len(state.Accounts) != *subs || len(state.Next) != *subs):
		return fmt.Errorf("bench webhooks: --dir %s holds a store of %d subscriptions, not --subscriptions %d: use another --dir", *dir, state.Subscriptions, *subs)
	case state == nil:
		start := time.Now()
		accounts, err := benchWebhooksAccounts(ctx, *dir, *subs)
		if err != nil {
			return err
		}
		state = &webhookBenchState{Subscriptions: *subs, Accounts: accounts, Next: make([]int, *subs)}
		if err := state.save(*dir); err != nil {
			return err
		}
		res.SetupAccountsSeconds = time.Since(start).Seconds()
		fmt.Fprintf(progress, "signed up %d accounts through the domain in %s\n", *subs, time.Since(start).Round(100*time.Millisecond))
	default:
		res.ReusedStore = true
	}
	if err := writeBenchSigningKey(*dir); err != nil {
		return err
	}

	// The server, wired by serve itself, with a webhook secret of this run.
	secret := randomKey("whsec_bench_")
	start := time.Now()
	base, storeKey, stopServer, err := benchWebhooksServe(ctx, *dir, secret)
	if err != nil {
		return err
	}
	defer stopServer()
	res.StartSeconds = time.Since(start).Seconds()
	fmt.Fprintf(progress, "server ready on %s in %s\n", base, time.Since(start).Round(100*time.Millisecond))

	client := benchHTTPClient(*senders)
	defer client.CloseIdleConnections()
	gen := newWebhookGen(secret, state)
	hooks := base + "/v1/webhooks/stripe"

	// The subscriptions: customer.subscription.created and the first
	// invoice.paid (subscription_create) of each, through the webhook.
	start = time.Now()
	created, err := benchWebhooksSubscribe(ctx, client, hooks, gen, *senders)
	if err != nil {
		return err
	}
	if created > 0 {
		if err := state.save(*dir); err != nil {
			return err
		}
		res.SetupSubscriptionsSeconds = time.Since(start).Seconds()
		fmt.Fprintf(progress, "created %d subscriptions through the webhook (2 events each) in %s\n", created, time.Since(start).Round(100*time.Millisecond))
	}
	all := make([]int, *subs)
	for i := range all {
		all[i] = i
	}
	if bad, first, err := benchWebhooksVerify(ctx, client, base, storeKey, gen, all, *senders); err != nil {
		return err
	} else if bad > 0 {
		return fmt.Errorf("bench webhooks: %d of %d subscriptions are not as set up, the first: %s", bad, *subs, first)
	}

	// The bare route answers what the webhook answers, with no work.
	body, err := benchWebhooksAnswer(ctx, client, hooks, gen)
	if err != nil {
		return err
	}
	bareBase, stopBare, err := benchWebhooksBare(body)
	if err != nil {
		return err
	}
	defer stopBare()
	res.BodyBytes = len(gen.invoicePaid(0, 1))

	phase := func(name, url string, profiles httpProfiles, next []atomic.Int64) (httpPhaseFigures, error) {
		mk := gen.renewals(ctx, url, next, *senders)
		fig, errs, firstErr, err := runHTTPPhase(ctx, client, *senders, *warmup, *duration, profiles, mk)
		if err != nil {
			return fig, err
		}
		res.Errors[name] = errs
		if errs > 0 {
			fmt.Fprintf(stderr, "bench webhooks: %s: %d errors, the first: %s\n", name, errs, firstErr)
		}
		fmt.Fprintf(progress, "%-8s %8.0f events/s  p50 %6.2f ms  p99 %6.2f ms  (%d requests, %d errors)\n", name, fig.RPS, fig.P50ms, fig.P99ms, fig.Requests, errs)
		return fig, nil
	}
	// The baseline sends the very bodies the webhooks phase would, from a
	// copy of the months, so the real subscriptions' periods stay
	// successive.
	if res.Bare, err = phase("bare", bareBase+"/v1/webhooks/stripe", httpProfiles{}, gen.copyNext()); err != nil {
		return err
	}
	if res.Webhooks, err = phase("webhooks", hooks, httpProfiles{cpu: *cpuProfile, block: *blockProfile}, gen.next); err != nil {
		return err
	}
	for i := range gen.next {
		state.Next[i] = int(gen.next[i].Load())
	}
	if err := state.save(*dir); err != nil {
		return err
	}

	// Every acknowledged renewal was projected: a sample of subscriptions
	// ends its current period where the last month sent to it ends.
	if res.Errors["webhooks"] == 0 {
		sample := rand.Perm(*subs)[:min(*subs, 256)]
		bad, first, err := benchWebhooksVerify(ctx, client, base, storeKey, gen, sample, *senders)
		if err != nil {
			return err
		}
		res.Verified, res.Errors["verify"] = len(sample)-bad, bad
		if bad > 0 {
			fmt.Fprintf(stderr, "bench webhooks: %d of %d sampled subscriptions do not show their last renewal, the first: %s\n", bad, len(sample), first)
		}
	}

	if res.Bare.RPS > 0 {
		res.Ratio = res.Webhooks.RPS / res.Bare.RPS
	}
	if res.Webhooks.RPS < webhookTargetRPS {
		res.Missed = append(res.Missed, fmt.Sprintf("webhooks %.0f/s < %d/s", res.Webhooks.RPS, webhookTargetRPS))
	}
	if err := json.NewEncoder(stdout).Encode(res); err != nil {
		return err
	}
	fmt.Fprintf(progress, "webhooks/bare %.3f; invoice.paid renewals %.0f/s, p99 %.2f ms (target: >= %d/s)\n",
		res.Ratio, res.Webhooks.RPS, res.Webhooks.P99ms, webhookTargetRPS)
	for _, m := range res.Missed {
		fmt.Fprintln(stderr, "WARN: target missed:", m)
	}
	var failed []string
	for _, p := range []struct {
		name string
		fig  httpPhaseFigures
	}{{"bare", res.Bare}, {"webhooks", res.Webhooks}} {
		if n := res.Errors[p.name]; n > 0 && float64(n) > httpMaxErrorRate*float64(n+p.fig.Requests) {
			failed = append(failed, fmt.Sprintf("%s: %d errors in %d requests", p.name, n, n+p.fig.Requests))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("bench webhooks: more than 0.1%% of requests failed: %v", failed)
	}
	if res.Errors["verify"] > 0 {
		return fmt.Errorf("bench webhooks: %d sampled subscriptions do not show their acknowledged renewals", res.Errors["verify"])
	}
	return nil
}

func loadWebhookBenchState(dir string) (*webhookBenchState, error) {
	b, err := os.ReadFile(filepath.Join(dir, webhookBenchStateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s webhookBenchState
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("bench webhooks: %s: %w", webhookBenchStateFile, err)
	}
	return &s, nil
}

// save writes the state atomically.
func (s *webhookBenchState) save(dir string) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, webhookBenchStateFile)
	if err := os.WriteFile(path+".tmp", b, 0o600); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

// The payloads are stripe/testdata's invoice.paid.cycle.json and
// customer.subscription.created.json (API version 2023-10-16, as Stripe
// sends them, indented), with their ids, times and account as fields and
// no affiliate.
