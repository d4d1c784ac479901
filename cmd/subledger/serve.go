package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/term"

	"github.com/aseptsoft/subledger/api"
	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/eventstore/repository"
	"github.com/aseptsoft/subledger/mail"
	"github.com/aseptsoft/subledger/projections"
	"github.com/aseptsoft/subledger/stripe"
)

// serve runs the server: the store and key ring, the projector that follows
// the store, the jobs that carry out due work, and the HTTP server. SIGTERM
// (a cancelled ctx) drains requests in flight, stops the projector and the
// jobs, and closes the store cleanly.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := config{}
	var acfg apiConfig
	var pcfg portalConfig
	fs := newFlagSet("serve", stderr)
	cfg.serveFlags(fs)
	acfg.flags(fs)
	pcfg.flags(fs)
	if err := parseWithEnv(fs, args, os.Getenv); err != nil {
		return err
	}
	if len(acfg.APIKeys) == 0 {
		if v := os.Getenv("SUBLEDGER_API_KEYS"); v != "" {
			if err := acfg.APIKeys.Set(v); err != nil {
				return fmt.Errorf("SUBLEDGER_API_KEYS: %w", err)
			}
		}
	}
	logger := slog.New(slog.NewJSONHandler(stderr, nil))

	catalog, err := loadCatalog(acfg.Catalog)
	if err != nil {
		return err
	}
	var mailSender api.Mailer
	if acfg.SMTPURL != "" {
		ms, err := mail.NewSender(acfg.SMTPURL, acfg.MailFrom)
		if err != nil {
			return fmt.Errorf("--smtp-url: %w", err)
		}
		mailSender = mailer{ms}
	}
	// With no service key, a developer's server makes an admin and a store
	// key for this run; they are shown once on the terminal, never logged.
	var devKeys []api.APIKey
	if len(acfg.APIKeys) == 0 {
		devKeys = []api.APIKey{{Role: "admin", Key: randomKey("sk_admin_")}, {Role: "store", Key: randomKey("sk_store_")}}
		acfg.APIKeys = devKeys
	}

	// The erasure fence is read before the store opens: a corrupted line
	// stops the start, naming the line.
	fence, err := openFence(cfg, logger)
	if err != nil {
		return err
	}
	if fence != nil {
		defer fence.Close()
		cfg.fence = fence
	} else if storeKind(cfg.Store) == "embedded" {
		logger.Warn("no --erasure-fence: a restored backup of the data directory would bring back the people erased after it was made")
	}
	st, err := openStack(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	var fenced fenceResult
	if fence != nil {
		if fenced, err = applyFence(ctx, fence, st); err != nil {
			return err
		}
	}
	// The license-signing key is made only for a new deployment: over
	// existing data a missing key would silently invalidate every license
	// key issued, and every replica must sign with the same key.
	signing, err := loadOrCreateSigningKey(cfg.licenseKeyFile(), st.fresh, logger)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	appends := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "subledger_store_append_duration_seconds",
		Help: "Durable appends of domain events, from call to acknowledgement.", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)})
	reg.MustRegister(appends)
	// Commands load aggregates through a cache of decoded events, so that a
	// long-lived account's command decodes only what was appended since.
	svc, err := st.serviceOn(timedStore{Store: st.repo.WithCache(st.ring, 0), appends: appends}, cfg, signing, domain.Argon2id{})
	if err != nil {
		return err
	}
	if fence != nil {
		if fenced.Erased, err = eraseFenced(ctx, fence, svc, st.ring); err != nil {
			return err
		}
		logger.Info("erasure fence applied", "file", fence.Path(), "fenced", fenced.Fenced, "forgotten_again", fenced.Reforgotten,
			"erased_again", fenced.Erased, "copied_from_ledger", fenced.Added)
	}
	proj, err := projections.New(projections.Config{Decoder: st.repo, Observe: st.ring.Observe, CommissionHold: cfg.commissionHold(), Logger: logger})
	if err != nil {
		return err
	}
	// The embedded store's positions are dense, so the lag is a
	// subtraction; on KurrentDB the events behind are counted each second.
	counter := &lagCounter{store: st.store, at: proj.Position}
	lag := counter.lag
	if h, ok := st.store.(interface{ Position() uint64 }); ok {
		lag = func() uint64 {
			if head, at := h.Position(), proj.Position(); head > at {
				return head - at
			}
			return 0
		}
	}
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "subledger_projection_lag_events",
		Help: "Events appended to the store that the projections have not applied yet."}, func() float64 { return float64(lag()) }))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "subledger_stripe_outbox_pending",
		Help: "Calls to Stripe recorded and not yet made (retried with backoff)."}, func() float64 { return float64(proj.View().PendingStripeIntents()) }))
	metrics := api.NewMetrics(reg)
	shred := func(ctx context.Context, id string) error { return repository.ShredAccount(ctx, st.ring, id) }
	shredAffiliate := func(ctx context.Context, id string) error { return repository.ShredAffiliate(ctx, st.ring, id) }
	var hooks api.Webhooks
	if len(acfg.StripeWebhookSecret) > 0 {
		verifier, err := stripe.NewVerifier(acfg.StripeWebhookSecret...)
		if err != nil {
			return fmt.Errorf("--stripe-webhook-secret: %w", err)
		}
		hooks = &stripe.Webhooks{Verifier: verifier, Applier: &stripe.Applier{Service: svc, Translator: stripe.NewTranslator(catalog.Products())}}
	} else {
		logger.Warn("no --stripe-webhook-secret: Stripe webhooks are refused with 503 webhooks_unavailable")
	}
	var payments api.Payments
	var caller stripeCaller
	if acfg.StripeAPIKey != "" {
		client, err := stripe.NewClient(stripe.ClientConfig{APIKey: acfg.StripeAPIKey, BaseURL: acfg.StripeAPIURL})
		if err != nil {
			return fmt.Errorf("--stripe-api-key/--stripe-api-url: %w", err)
		}
		payments, caller = stripe.Payments{Client: client}, client
	} else {
		logger.Warn("no --stripe-api-key: checkout, cancellation and reactivation answer 503 stripe_unavailable")
	}
	handler, err := api.New(api.Config{
		Service: svc, Projections: proj, History: history(st.repo), Shred: shred, ShredAffiliate: shredAffiliate, Catalog: catalog,
		LicensePublicKey: signing.Public().(ed25519.PublicKey),
		APIKeys:          acfg.APIKeys, Mailer: mailSender, ResetURL: acfg.ResetURL, Logger: logger, Metrics: metrics,
		Now: cfg.now, SessionIdle: acfg.SessionIdle, SessionMaxAge: acfg.SessionMaxAge, Lag: lag, Webhooks: hooks, Payments: payments, BeforeErasure: beforeErasure(svc),
		PortalURL: pcfg.URL, NoPortal: !pcfg.On,
	})
	if err != nil {
		return err
	}
	site, err := withPortal(handler, pcfg, st.master.Derive("portal-csrf"), logger, cfg.now)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           site,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}

	bg, stopBackground := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	wg.Add(2)
	if _, dense := st.store.(interface{ Position() uint64 }); !dense {
		wg.Add(1)
		go func() { defer wg.Done(); counter.run(bg, time.Second) }()
	}
	go func() {
		defer wg.Done()
		if err := proj.Run(bg, st.store); err != nil && !errors.Is(err, context.Canceled) {
			errc <- err
		}
	}()
	go func() {
		defer wg.Done()
		(&jobs{proj: proj, svc: svc, ring: st.ring, logger: logger, metrics: metrics, stripe: caller}).run(bg, cfg.JobsInterval)
	}()
	go func() { errc <- srv.Serve(ln) }()
	addr := ln.Addr().String()
	logger.Info("subledger serving", "addr", addr, "store", storeKind(cfg.Store))
	if devKeys != nil {
		printDevKeys(stdout, logger, addr, devKeys)
	}

	select {
	case err = <-errc:
		logger.Error("subledger stopping after a failure", "error", err)
	case <-ctx.Done():
		logger.Info("subledger stopping: draining requests in flight")
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if serr := srv.Shutdown(shutdownCtx); serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	handler.Close()
	stopBackground()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// printDevKeys shows the keys made for this run, once, on the terminal
// (stdout); logs go to stderr and never hold them. When stdout is not a
// terminal they are not shown at all, and the log says how to give keys.
func printDevKeys(stdout io.Writer, logger *slog.Logger, addr string, keys []api.APIKey) {
	f, ok := stdout.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		logger.Warn("no --api-key given: random admin and store keys were made for this run and are shown only on a terminal; pass --api-key ROLE=KEY or SUBLEDGER_API_KEYS")
		return
	}
	fmt.Fprintf(stdout, "\nsubledger is serving on http://%s\n", addr)
	fmt.Fprintf(stdout, "No --api-key was given, so these keys were made for this run only. Paste them into your shell:\n\n")
	for _, k := range keys {
		fmt.Fprintf(stdout, "  export SUBLEDGER_%s_KEY=%s\n", map[string]string{"admin": "ADMIN", "store": "STORE"}[k.Role], k.Key)
	}
	fmt.Fprintf(stdout, "  export SUBLEDGER_URL=http://%s\n\n", addr)
	fmt.Fprintf(stdout, "Then try:\n\n  curl -s -H \"Authorization: Bearer $SUBLEDGER_STORE_KEY\" $SUBLEDGER_URL/v1/products\n\n")
}
