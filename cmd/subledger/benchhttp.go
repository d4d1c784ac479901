package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/projections"
)

// httpBenchResult is the one JSON line that `subledger bench http` prints.
type httpBenchResult struct {
	Accounts        int              `json:"accounts"`
	Conns           int              `json:"conns"`
	DurationSeconds float64          `json:"duration_s"`
	Bare            httpPhaseFigures `json:"bare"`
	Get             httpPhaseFigures `json:"get"`
	Patch           httpPhaseFigures `json:"patch"`
	// PatchFresh (--patch-fresh) is PATCH through the store key, each
	// request to an account not touched before in the run.
	PatchFresh      *httpPhaseFigures `json:"patch_fresh,omitempty"`
	GetToBare       float64           `json:"get_to_bare"`
	PatchToBare     float64           `json:"patch_to_bare"`
	Errors          map[string]int    `json:"errors"`
	BodyBytes       int               `json:"body_bytes"`
	GenerateSeconds float64           `json:"generate_seconds,omitempty"`
	PrepareSeconds  float64           `json:"prepare_seconds"`
	StartSeconds    float64           `json:"server_start_seconds"`
	JobsErased      int               `json:"prepare_jobs_erased"`
	JobsApproved    int               `json:"prepare_jobs_approved"`
	Missed          []string          `json:"targets_missed,omitempty"`
}

// httpPhaseFigures are the figures of one phase.
type httpPhaseFigures struct {
	RPS      float64 `json:"rps"`
	P50ms    float64 `json:"p50_ms"`
	P99ms    float64 `json:"p99_ms"`
	Requests int     `json:"requests"`
}

// Targets of the HTTP benchmark (issue: API throughput).
const (
	httpTargetGetRPS    = 15000
	httpTargetPatchRPS  = 3000
	httpTargetGetToBare = 0.5
	// httpMaxErrorRate fails the benchmark: more than 0.1% non-2xx answers
	// (or transport errors) in any phase.
	httpMaxErrorRate = 0.001
)

// benchPassword is the password generate gives every customer.
const benchPassword = "generated password"

// benchHTTP measures the API over real HTTP: a generated store, the server
// as `serve` wires it (in this process, on a free 127.0.0.1 port), and a
// closed-loop load generator of conns keep-alive connections. Three phases
// in the same run: a bare Echo route answering the same bytes as a GET of an
// account (the ceiling of Echo, net/http and the loader on this machine),
// GET /v1/accounts/{id} with a customer's session, and PATCH of the same
// account's name (a durable write answered after projection).
func benchHTTP(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench http", stderr)
	dir := fs.String("dir", "", "data directory; generated when it holds no store, reused when it holds one of --accounts customers (default: a new temporary directory, removed afterwards). Before the run, the jobs' due work is done in it")
	accounts := fs.Int("accounts", 100000, "customers to generate")
	affiliates := fs.Int("affiliates", 50, "affiliates to generate")
	workers := fs.Int("workers", 16, "concurrent generators")
	conns := fs.Int("conns", 64, "keep-alive connections, one closed-loop worker each, each with its own session and account")
	duration := fs.Duration("duration", 10*time.Second, "measured time of each phase")
	warmup := fs.Duration("warmup", time.Second, "unmeasured warm-up before each phase")
	jsonOnly := fs.Bool("json", false, "print only the JSON line")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the measured GET phase to this file, and of the PATCH phase to FILE.patch")
	patchFresh := fs.Bool("patch-fresh", false, "also measure patch_fresh: PATCH through the store key, each request to another account, touched once (the write path without an account stream that grows during the run)")
	blockProfile := fs.String("blockprofile", "", "write a block profile of the measured PATCH phase to this file, and its mutex profile to FILE.mutex")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *conns < 1 || *accounts < *conns || *duration <= 0 || *warmup < 0 {
		return fmt.Errorf("bench http: want --conns >= 1, --accounts >= --conns, --duration > 0")
	}
	progress := stderr
	if *jsonOnly {
		progress = io.Discard
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "subledger-http-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		*dir = d
	} else if err := os.MkdirAll(*dir, 0o700); err != nil {
		return err
	}
	res := httpBenchResult{Accounts: *accounts, Conns: *conns, DurationSeconds: duration.Seconds(), Errors: map[string]int{}}

	// The store: generated once, reused afterwards.
	if _, err := os.Stat(filepath.Join(*dir, "events")); os.IsNotExist(err) {
		start := time.Now()
		if err := generateStore(ctx, *dir, generateConfig{Accounts: *accounts, Affiliates: *affiliates, Workers: *workers, Seed: 1}, progress); err != nil {
			return err
		}
		res.GenerateSeconds = time.Since(start).Seconds()
		fmt.Fprintf(progress, "generated %d customers in %s\n", *accounts, time.Since(start).Round(time.Second))
	}
	if err := writeBenchSigningKey(*dir); err != nil {
		return err
	}
	start := time.Now()
	others := 0
	if *patchFresh {
		others = *accounts
	}
	sessions, fresh, erased, approved, err := benchHTTPPrepare(ctx, *dir, *accounts, *conns, others)
	if err != nil {
		return err
	}
	res.PrepareSeconds, res.JobsErased, res.JobsApproved = time.Since(start).Seconds(), erased, approved
	fmt.Fprintf(progress, "prepared in %s: projections caught up, jobs' due work done (%d erasures, %d commissions), %d sessions\n",
		time.Since(start).Round(100*time.Millisecond), erased, approved, len(sessions))

	// The server, wired by serve itself.
	start = time.Now()
	base, storeKey, stopServer, err := benchHTTPServe(ctx, *dir)
	if err != nil {
		return err
	}
	defer stopServer()
	res.StartSeconds = time.Since(start).Seconds()
	fmt.Fprintf(progress, "server ready on %s in %s\n", base, time.Since(start).Round(100*time.Millisecond))

	client := benchHTTPClient(*conns)
	defer client.CloseIdleConnections()
	// The bare route answers the very bytes of a real GET.
	body, err := benchHTTPFetch(ctx, client, base+"/v1/accounts/"+sessions[0].accountID, sessions[0].token)
	if err != nil {
		return err
	}
	res.BodyBytes = len(body)
	bareBase, stopBare, err := benchHTTPBare(body)
	if err != nil {
		return err
	}
	defer stopBare()

	phase := func(name string, profiles httpProfiles, mk func(w, n int) (*http.Request, error)) (httpPhaseFigures, error) {
		fig, errs, firstErr, err := runHTTPPhase(ctx, client, *conns, *warmup, *duration, profiles, mk)
		if err != nil {
			return fig, err
		}
		res.Errors[name] = errs
		if errs > 0 {
			fmt.Fprintf(stderr, "bench http: %s: %d errors, the first: %s\n", name, errs, firstErr)
		}
		fmt.Fprintf(progress, "%-5s %9.0f req/s  p50 %6.2f ms  p99 %6.2f ms  (%d requests, %d errors)\n", name, fig.RPS, fig.P50ms, fig.P99ms, fig.Requests, errs)
		return fig, nil
	}
	if res.Bare, err = phase("bare", httpProfiles{}, func(w, n int) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, bareBase+"/v1/accounts/"+sessions[w].accountID, nil)
	}); err != nil {
		return err
	}
	if res.Get, err = phase("get", httpProfiles{cpu: *cpuProfile}, func(w, n int) (*http.Request, error) {
		r, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/accounts/"+sessions[w].accountID, nil)
		if err == nil {
			r.Header.Set("Authorization", "Bearer "+sessions[w].token)
		}
		return r, err
	}); err != nil {
		return err
	}
	patchProfile := ""
	if *cpuProfile != "" {
		patchProfile = *cpuProfile + ".patch"
	}
	if res.Patch, err = phase("patch", httpProfiles{cpu: patchProfile, block: *blockProfile}, func(w, n int) (*http.Request, error) {
		b := []byte(`{"name":"Bench ` + strconv.Itoa(w) + " " + strconv.Itoa(n) + `"}`)
		r, err := http.NewRequestWithContext(ctx, http.MethodPatch, base+"/v1/accounts/"+sessions[w].accountID, bytes.NewReader(b))
		if err == nil {
			r.Header.Set("Authorization", "Bearer "+sessions[w].token)
			r.Header.Set("Content-Type", "application/json")
		}
		return r, err
	}); err != nil {
		return err
	}
	if *patchFresh {
		var next atomic.Int64
		fig, err := phase("patch_fresh", httpProfiles{}, func(w, n int) (*http.Request, error) {
			i := int(next.Add(1) - 1)
			if i >= len(fresh) {
				return nil, fmt.Errorf("bench http: patch_fresh ran out of accounts after %d", len(fresh))
			}
			b := []byte(`{"name":"Bench fresh ` + strconv.Itoa(i) + `"}`)
			r, err := http.NewRequestWithContext(ctx, http.MethodPatch, base+"/v1/accounts/"+fresh[i], bytes.NewReader(b))
			if err == nil {
				r.Header.Set("Authorization", "Bearer "+storeKey)
				r.Header.Set("Content-Type", "application/json")
			}
			return r, err
		})
		if err != nil {
			return err
		}
		res.PatchFresh = &fig
	}
	if res.Bare.RPS > 0 {
		res.GetToBare, res.PatchToBare = res.Get.RPS/res.Bare.RPS, res.Patch.RPS/res.Bare.RPS
	}
	if res.Get.RPS < httpTargetGetRPS {
		res.Missed = append(res.Missed, fmt.Sprintf("GET %.0f/s < %d/s", res.Get.RPS, httpTargetGetRPS))
	}
	if res.Patch.RPS < httpTargetPatchRPS {
		res.Missed = append(res.Missed, fmt.Sprintf("PATCH %.0f/s < %d/s", res.Patch.RPS, httpTargetPatchRPS))
	}
	if res.GetToBare < httpTargetGetToBare {
		res.Missed = append(res.Missed, fmt.Sprintf("GET/bare %.2f < %.1f", res.GetToBare, httpTargetGetToBare))
	}
	if err := json.NewEncoder(stdout).Encode(res); err != nil {
		return err
	}
	fmt.Fprintf(progress, "GET/bare %.2f, PATCH/bare %.2f (targets: GET >= %d/s, PATCH >= %d/s, GET/bare >= %.1f)\n",
		res.GetToBare, res.PatchToBare, httpTargetGetRPS, httpTargetPatchRPS, httpTargetGetToBare)
	for _, m := range res.Missed {
		fmt.Fprintln(stderr, "WARN: target missed:", m)
	}
	var failed []string
	var freshFig httpPhaseFigures
	if res.PatchFresh != nil {
		freshFig = *res.PatchFresh
	}
	for _, p := range []struct {
		name string
		fig  httpPhaseFigures
	}{{"bare", res.Bare}, {"get", res.Get}, {"patch", res.Patch}, {"patch_fresh", freshFig}} {
		if n := res.Errors[p.name]; n > 0 && float64(n) > httpMaxErrorRate*float64(n+p.fig.Requests) {
			failed = append(failed, fmt.Sprintf("%s: %d errors in %d requests", p.name, n, n+p.fig.Requests))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("bench http: more than 0.1%% of requests failed: %v", failed)
	}
	return nil
}

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

// httpProfiles names the profiles of a phase's measured time: cpu, and
// block (block, and mutex profile in block+".mutex"); "" for none.
type httpProfiles struct{ cpu, block string }

// runHTTPPhase runs conns closed-loop workers, each issuing the requests mk
// makes back to back, for warmup (not counted) then d. A request counts when
// it starts and ends within d; non-2xx answers and transport errors are
// errors. The measured time is profiled as profiles says.
func runHTTPPhase(ctx context.Context, client *http.Client, conns int, warmup, d time.Duration, profiles httpProfiles,
	mk func(worker, n int) (*http.Request, error)) (httpPhaseFigures, int, string, error) {
	begin := time.Now()
	from, to := begin.Add(warmup), begin.Add(warmup+d)
	lat := make([][]time.Duration, conns)
	errs := make([]int, conns)
	var firstErr string
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := make([]time.Duration, 0, 4096)
			for n := 0; ; n++ {
				t0 := time.Now()
				if !t0.Before(to) || ctx.Err() != nil {
					break
				}
				failure := ""
				req, err := mk(w, n)
				if err != nil {
					failure = err.Error()
				} else if resp, err := client.Do(req); err != nil {
					failure = err.Error()
				} else {
					var head [256]byte
					k, _ := io.ReadFull(resp.Body, head[:])
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode < 200 || resp.StatusCode > 299 {
						failure = resp.Status + ": " + string(head[:k])
					}
				}
				t1 := time.Now()
				if t0.Before(from) || t1.After(to) {
					continue
				}
				if failure != "" {
					errs[w]++
					mu.Lock()
					if firstErr == "" {
						firstErr = failure
					}
					mu.Unlock()
					continue
				}
				l = append(l, t1.Sub(t0))
			}
			lat[w] = l
		}()
	}
	perr := profilePhase(from, to, profiles)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return httpPhaseFigures{}, 0, "", err
	}
	var all []time.Duration
	nerr := 0
	for w := range lat {
		all = append(all, lat[w]...)
		nerr += errs[w]
	}
	slices.Sort(all)
	fig := httpPhaseFigures{Requests: len(all), RPS: float64(len(all)) / d.Seconds()}
	if len(all) > 0 {
		fig.P50ms = ms(all[quantileIndex(len(all), 0.50)])
		fig.P99ms = ms(all[quantileIndex(len(all), 0.99)])
	}
	return fig, nerr, firstErr, perr
}

// profilePhase profiles the time from..to as profiles says.
func profilePhase(from, to time.Time, profiles httpProfiles) error {
	if profiles == (httpProfiles{}) {
		return nil
	}
	time.Sleep(time.Until(from))
	var cpu *os.File
	if profiles.cpu != "" {
		f, err := os.Create(profiles.cpu)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return err
		}
		cpu = f
	}
	if profiles.block != "" {
		runtime.SetBlockProfileRate(10000) // one sample per 10 µs blocked
		runtime.SetMutexProfileFraction(5)
	}
	time.Sleep(time.Until(to))
	var err error
	if cpu != nil {
		pprof.StopCPUProfile()
		err = cpu.Close()
	}
	if profiles.block != "" {
		runtime.SetBlockProfileRate(0)
		runtime.SetMutexProfileFraction(0)
		for name, path := range map[string]string{"block": profiles.block, "mutex": profiles.block + ".mutex"} {
			f, ferr := os.Create(path)
			if ferr == nil {
				ferr = errors.Join(pprof.Lookup(name).WriteTo(f, 0), f.Close())
			}
			err = errors.Join(err, ferr)
		}
	}
	return err
}

// quantileIndex is the index of the q quantile of n sorted values (nearest
// rank).
func quantileIndex(n int, q float64) int {
	return min(max(int(math.Ceil(q*float64(n)))-1, 0), n-1)
}

func ms(d time.Duration) float64 { return math.Round(float64(d.Microseconds())) / 1000 }
