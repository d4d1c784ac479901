package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/eventstore/embedded"
)

// rebuildBenchResult is the one JSON line that `subledger bench rebuild` prints.
type rebuildBenchResult struct {
	Accounts         int     `json:"accounts"`
	Events           uint64  `json:"events"`
	GenerateSeconds  float64 `json:"generate_seconds,omitempty"`
	RebuildSeconds   float64 `json:"rebuild_seconds"`
	RebuildEventsPer float64 `json:"rebuild_events_per_s"`
	PeakRSSBytes     int64   `json:"rebuild_peak_rss_bytes"`
	StoreBytes       int64   `json:"store_bytes"`
}

func benchRebuild(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench rebuild", stderr)
	dir := fs.String("dir", "", "data directory; generated when it holds no store, reused otherwise (default: a new temporary directory, removed afterwards)")
	accounts := fs.Int("accounts", 100000, "customers to generate")
	affiliates := fs.Int("affiliates", 50, "affiliates to generate")
	workers := fs.Int("workers", 16, "concurrent generators")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "subledger-rebuild-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	res := rebuildBenchResult{Accounts: *accounts}
	if _, err := os.Stat(filepath.Join(*dir, "events")); os.IsNotExist(err) {
		start := time.Now()
		if err := generateStore(ctx, *dir, generateConfig{Accounts: *accounts, Affiliates: *affiliates, Workers: *workers, Seed: 1}, stderr); err != nil {
			return err
		}
		res.GenerateSeconds = time.Since(start).Seconds()
	}

	// The rebuild runs in a child process, so that its peak RSS is its own.
	self, err := os.Executable()
	if err != nil {
		return err
	}
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, self, "rebuild", "--data-dir", *dir, "--json")
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("rebuild: %v: %s", err, errOut.String())
	}
	var sum rebuildSummary
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil {
		return fmt.Errorf("rebuild printed %q: %w", out.String(), err)
	}
	res.Events, res.RebuildSeconds, res.RebuildEventsPer, res.PeakRSSBytes = sum.Events, sum.Seconds, sum.EventsPerS, sum.PeakRSSBytes
	logPath := filepath.Join(*dir, "events", embedded.LogFile)
	st, err := os.Stat(logPath)
	if err != nil {
		return err
	}
	if res.StoreBytes, err = usedBytes(logPath, st.Size()); err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(res)
}

// generateStore fills dir with a synthetic business, through the domain
// service, as `serve` would lay it out.
func generateStore(ctx context.Context, dir string, gc generateConfig, stderr io.Writer) error {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := openStack(ctx, config{DataDir: dir, Store: "embedded"}, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	// Cheap hashes: the benchmark is about replay, not sign-up.
	svc, err := st.service(config{}, benchSigningKey(), domain.Argon2id{Time: 1, MemoryKiB: 64})
	if err != nil {
		return err
	}
	start := time.Now()
	return generate(ctx, svc, gc, func(done int) {
		if done%10000 == 0 {
			fmt.Fprintf(stderr, "generated %d of %d customers in %s\n", done, gc.Accounts, time.Since(start).Round(time.Second))
		}
	})
}
