package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/aseptsoft/subledger/projections"
)

// rebuildSummary is what `subledger rebuild` reports.
type rebuildSummary struct {
	Events        uint64  `json:"events"`
	Seconds       float64 `json:"seconds"`
	EventsPerS    float64 `json:"events_per_s"`
	PeakRSSBytes  int64   `json:"peak_rss_bytes"`
	Accounts      int64   `json:"accounts"`
	Erased        int64   `json:"accounts_erased"`
	Subscriptions int64   `json:"subscriptions"`
	Sales         int64   `json:"sales"`
}

// rebuild replays the whole store into the projections, offline, and prints
// a summary; on a terminal it shows progress.
func rebuild(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := config{noCreate: true}
	fs := newFlagSet("rebuild", stderr)
	cfg.storageFlags(fs)
	asJSON := fs.Bool("json", false, "print the summary as one JSON line")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the rebuild to this file")
	memProfile := fs.String("memprofile", "", "write a heap profile taken after the rebuild to this file")
	gcPercent := fs.Int("gc-percent", -1, "Go GC target percentage during the rebuild (GOGC); -1, the default, collects only as the memory limit requires")
	memLimit := fs.Int64("memory-limit-mib", 1400, "soft memory limit in MiB, raised to 1.6 times the live heap when that is larger; 0 for none (then a GC target of -1 means 100)")
	if err := parseWithEnv(fs, args, os.Getenv); err != nil {
		return err
	}
	defer setRebuildMemory(ctx, *gcPercent, *memLimit, os.Getenv)()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := openStack(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	store := st.store
	proj, err := projections.New(projections.Config{Decoder: st.repo, Observe: st.ring.Observe, Logger: logger})
	if err != nil {
		return err
	}
	var head uint64
	if h, ok := store.(interface{ Position() uint64 }); ok {
		head = h.Position()
	}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	start := time.Now()
	runErr := make(chan error, 1)
	go func() { runErr <- proj.Run(runCtx, store) }()

	var progress io.Writer
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		progress = stderr
	}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
wait:
	for {
		select {
		case <-proj.Ready():
			break wait
		case err := <-runErr:
			return fmt.Errorf("rebuild stopped at position %d: %w", proj.Position(), err)
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			if progress != nil {
				fmt.Fprint(progress, progressLine(proj.Position(), head, time.Since(start)))
			}
		}
	}
	elapsed := time.Since(start)
	stop()
	if err := <-runErr; err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	if progress != nil {
		fmt.Fprint(progress, progressLine(proj.Position(), head, elapsed), "\n")
	}

	if *memProfile != "" {
		f, err := os.Create(*memProfile)
		if err != nil {
			return err
		}
		runtime.GC()
		err = pprof.WriteHeapProfile(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	stats := proj.View().Stats(time.Time{}, time.Time{})
	sum := rebuildSummary{
		Events:       proj.Position(),
		Seconds:      elapsed.Seconds(),
		PeakRSSBytes: peakRSS(),
		Accounts:     stats.Accounts.Registered,
		Erased:       stats.Accounts.Erased,
	}
	if sum.Seconds > 0 {
		sum.EventsPerS = float64(sum.Events) / sum.Seconds
	}
	for _, p := range stats.Subscriptions {
		sum.Subscriptions += p.Active + p.PastDue + p.Ended
	}
	for _, s := range stats.Sales {
		sum.Sales += s.Sales + s.Renewals
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(sum)
	}
	fmt.Fprintf(stdout, "rebuilt %d events in %.1fs (%.0f events/s), peak RSS %d MiB\n", sum.Events, sum.Seconds, sum.EventsPerS, sum.PeakRSSBytes>>20)
	fmt.Fprintf(stdout, "accounts %d (erased %d), subscriptions %d, sales %d\n", sum.Accounts, sum.Erased, sum.Subscriptions, sum.Sales)
	return nil
}

// progressLine is one carriage-return line of rebuild progress.
func progressLine(pos, head uint64, elapsed time.Duration) string {
	rate := float64(pos) / max(elapsed.Seconds(), 1e-9)
	line := fmt.Sprintf("\rposition %d", pos)
	if head > 0 {
		line += fmt.Sprintf(" of %d", head)
	}
	line += fmt.Sprintf("  %.0f events/s", rate)
	if head > pos && rate > 0 {
		left := time.Duration(float64(head-pos) / rate * float64(time.Second))
		line += fmt.Sprintf("  %s left", left.Round(time.Second))
	}
	return line + "   "
}

// peakRSS is the process's peak resident set size (VmHWM), or -1 when the
// system does not say.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return -1
			}
			return kb << 10
		}
	}
	return -1
}
