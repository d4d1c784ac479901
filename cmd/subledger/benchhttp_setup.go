// What bench http measures against: the prepared data directory, the
// server (subledger's or a bare one), the client.

package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/projections"
)

// benchSession is one worker's customer session.
type benchSession struct {
	accountID string
	token     string
}

// writeBenchSigningKey gives a generated store the license-signing key it
// was generated with, so that serve opens it.
func writeBenchSigningKey(dir string) error {
	path := filepath.Join(dir, "license-signing.key")
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	return os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(benchSigningKey().Seed())+"\n"), 0o600)
}

// benchHTTPPrepare checks that dir holds a store of accounts customers, does
// the jobs' due work (the generated business lies in the past: otherwise the
// server's first jobs round would run its erasures and commission approvals
// during the measurement), and signs conns random active customers in
// through the domain service. The sessions are new on every run, so that
// none has expired. It also returns up to others more active accounts, in
// random order.
func benchHTTPPrepare(ctx context.Context, dir string, accounts, conns, others int) (sessions []benchSession, more []string, erased, approved int, err error) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := openStack(ctx, config{DataDir: dir, Store: "embedded"}, logger)
	if err != nil {
		return nil, nil, 0, 0, err
	}
	defer st.Close()
	// The customers' hashes carry their own (cheap) parameters; these are
	// only for new hashes, of which there are none.
	svc, err := st.service(config{}, benchSigningKey(), domain.Argon2id{Time: 1, MemoryKiB: 64})
	if err != nil {
		return nil, nil, 0, 0, err
	}
	proj, err := projections.New(projections.Config{Decoder: st.repo, Observe: st.ring.Observe, Logger: logger})
	if err != nil {
		return nil, nil, 0, 0, err
	}
	runCtx, stop := context.WithCancel(ctx)
	runErr := make(chan error, 1)
	go func() { runErr <- proj.Run(runCtx, st.store) }()
	defer func() {
		stop()
		<-runErr
	}()
	select {
	case <-proj.Ready():
	case err := <-runErr:
		runErr <- err
		return nil, nil, 0, 0, fmt.Errorf("projections: %w", err)
	case <-ctx.Done():
		return nil, nil, 0, 0, ctx.Err()
	}
	if n := proj.View().Stats(time.Time{}, time.Time{}).Accounts.Registered; n != int64(accounts) {
		return nil, nil, 0, 0, fmt.Errorf("bench http: --dir %s holds a store of %d accounts, not --accounts %d: use another --dir", dir, n, accounts)
	}
	erased, approved = (&jobs{proj: proj, svc: svc, ring: st.ring, logger: logger}).once(ctx)
	if h, ok := st.store.(interface{ Position() uint64 }); ok {
		if err := proj.WaitFor(ctx, h.Position()); err != nil {
			return nil, nil, 0, 0, err
		}
	}
	view := proj.View()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for _, n := range rng.Perm(accounts) {
		if len(sessions) == conns && len(more) == others {
			break
		}
		a, ok := view.AccountByEmail(fmt.Sprintf("customer%d@example.com", n))
		if !ok || a.Status != domain.AccountStatusActive {
			continue
		}
		if len(sessions) == conns {
			more = append(more, a.ID)
			continue
		}
		_, token, _, err := svc.SignIn(ctx, domain.SignIn{AccountID: a.ID, Password: benchPassword, Idle: 2 * time.Hour, MaxAge: 7 * 24 * time.Hour})
		if err != nil {
			return nil, nil, 0, 0, fmt.Errorf("sign in customer %d: %w", n, err)
		}
		sessions = append(sessions, benchSession{accountID: a.ID, token: token})
	}
	if len(sessions) < conns {
		return nil, nil, 0, 0, fmt.Errorf("bench http: only %d active customers for %d connections", len(sessions), conns)
	}
	return sessions, more, erased, approved, nil
}

// benchHTTPServe runs serve on a free 127.0.0.1 port over dir, its output
// discarded, until the returned stop is called; it returns once /readyz
// answers 200. It returns the server's base URL and its store key.
func benchHTTPServe(ctx context.Context, dir string) (string, string, func(), error) {
	return benchServe(ctx, "bench http", dir)
}

// benchServe runs serve for a benchmark (name, in errors) on a free
// 127.0.0.1 port over dir with random admin and store keys and the extra
// flags, its output discarded, until the returned stop is called; it
// returns once /readyz answers 200, with the base URL and the store key.
func benchServe(ctx context.Context, name, dir string, extra ...string) (string, string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", "", nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	storeKey := randomKey("sk_store_")
	args := append([]string{"--addr", addr, "--data-dir", dir,
		"--api-key", "admin=" + randomKey("sk_admin_"), "--api-key", "store=" + storeKey}, extra...)
	go func() { done <- serve(sctx, args, io.Discard, io.Discard) }()
	stop := func() {
		cancel()
		<-done
	}
	base := "http://" + addr
	client := &http.Client{Timeout: 2 * time.Second}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(10 * time.Minute)
	for {
		select {
		case err := <-done:
			cancel()
			if err == nil {
				err = errors.New("serve returned")
			}
			return "", "", nil, fmt.Errorf("%s: serve: %w", name, err)
		case <-ctx.Done():
			stop()
			return "", "", nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		resp, err := client.Get(base + "/readyz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base, storeKey, stop, nil
			}
		}
		if time.Now().After(deadline) {
			stop()
			return "", "", nil, fmt.Errorf("%s: the server was not ready after 10 minutes", name)
		}
	}
}

// benchHTTPBare serves one Echo route answering body with no work, on a
// free 127.0.0.1 port.
func benchHTTPBare(body []byte) (string, func(), error) {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.GET("/v1/accounts/:id", func(c echo.Context) error {
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, body)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

// benchHTTPClient keeps conns connections to a host alive.
func benchHTTPClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        4 * conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}}
}

// benchHTTPFetch returns the body of a 200 answer to GET url.
func benchHTTPFetch(ctx context.Context, client *http.Client, url, token string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("bench http: GET %s: %s: %s", url, resp.Status, body)
	}
	return body, nil
}
