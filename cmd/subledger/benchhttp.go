package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"
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
