package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/aseptsoft/subledger/api"
	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/projections"
)

// serve runs the server: the store and key ring, the projector that follows
// the store, the jobs that carry out due work, and the HTTP server. SIGTERM
// (a cancelled ctx) drains requests in flight, stops the projector and the
// jobs, and closes the store cleanly.
func serve(ctx context.Context, args []string, stderr io.Writer) error {
	cfg := config{}
	fs := newFlagSet("serve", stderr)
	cfg.serveFlags(fs)
	if err := parseWithEnv(fs, args, os.Getenv); err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(stderr, nil))

	st, err := openStack(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	// The license-signing key is made only for a new deployment: over
	// existing data a missing key would silently invalidate every license
	// key issued, and every replica must sign with the same key.
	signing, err := loadOrCreateSigningKey(cfg.licenseKeyFile(), st.fresh, logger)
	if err != nil {
		return err
	}
	svc, err := st.service(cfg, signing, domain.Argon2id{})
	if err != nil {
		return err
	}
	proj, err := projections.New(projections.Config{Decoder: st.repo, Observe: st.ring.Observe, CommissionHold: cfg.CommissionHold, Logger: logger})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: api.New(api.Config{Ready: proj.CaughtUp}), ReadHeaderTimeout: 10 * time.Second}

	bg, stopBackground := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := proj.Run(bg, st.store); err != nil && !errors.Is(err, context.Canceled) {
			errc <- err
		}
	}()
	go func() {
		defer wg.Done()
		(&jobs{proj: proj, svc: svc, ring: st.ring, logger: logger}).run(bg, cfg.JobsInterval)
	}()
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("subledger serving", "addr", ln.Addr().String(), "store", storeKind(cfg.Store))

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
	stopBackground()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
