package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/eventstore/embedded"
	"github.com/aseptsoft/subledger/projections"
)

// capacityResult is the one JSON line that `subledger bench capacity` prints.
// Heap figures are the live heap after a forced GC, taken in the bench's own
// process; RSS figures are those of a `subledger serve` child process.
type capacityResult struct {
	Accounts int `json:"accounts"`
	// GeneratedEvents is what the store held when it was opened; Events
	// also counts the events of the jobs' due work done before serve.
	GeneratedEvents uint64  `json:"events_generated"`
	Events          uint64  `json:"events"`
	Streams         int     `json:"streams"`
	GenerateSeconds float64 `json:"generate_seconds,omitempty"`
	LoadAvg         string  `json:"loadavg"`

	// OpenSeconds are the times of embedded.Open (the log scanned and the
	// index built), once per --opens; LogReadSeconds is a plain sequential
	// read of the same log, for comparison.
	OpenSeconds    []float64 `json:"open_seconds"`
	LogReadSeconds float64   `json:"log_read_seconds"`
	// IndexHeapBytes is the live heap that the open store holds.
	IndexHeapBytes    int64   `json:"index_heap_bytes"`
	IndexBytesPerEvnt float64 `json:"index_heap_bytes_per_event"`
	// RingHeapBytes is the key ring opened on top of the store (its slots).
	RingHeapBytes int64 `json:"ring_heap_bytes"`
	// ProjectionsHeapBytes is what caught-up projections add, with the key
	// cache that the catch-up filled.
	ProjectionsSeconds   float64 `json:"projections_catch_up_seconds"`
	ProjectionsHeapBytes int64   `json:"projections_heap_bytes"`
	DueErased            int     `json:"due_work_erased"`
	DueApproved          int     `json:"due_work_approved"`

	ServeReadySeconds float64 `json:"serve_ready_seconds"`
	ServeRSSBytes     int64   `json:"serve_rss_bytes"`
	ServeHWMBytes     int64   `json:"serve_hwm_bytes"`
	ServeRSSSettled   int64   `json:"serve_rss_settled_bytes"`

	RebuildSeconds   float64 `json:"rebuild_seconds,omitempty"`
	RebuildEventsPer float64 `json:"rebuild_events_per_s,omitempty"`
	RebuildPeakRSS   int64   `json:"rebuild_peak_rss_bytes,omitempty"`

	LogBytes      int64   `json:"log_bytes"`
	BytesPerEvent float64 `json:"log_bytes_per_event"`
	KeyringBytes  int64   `json:"keyring_bytes"`
}

// benchCapacity measures what a store of --accounts generated customers
// costs: the embedded store's open time and index, the key ring's and the
// projections' heap, the RSS of `subledger serve` after catch-up, the
// rebuild, and the disk per event.
func benchCapacity(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fset := newFlagSet("bench capacity", stderr)
	dir := fset.String("dir", "", "data directory; generated when it holds no store, reused otherwise (default: a new temporary directory, removed afterwards). The jobs' due work is done in it before serve starts")
	accounts := fset.Int("accounts", 80000, "customers to generate (about 12.5 events each)")
	affiliates := fset.Int("affiliates", 50, "affiliates to generate")
	workers := fset.Int("workers", 16, "concurrent generators")
	opens := fset.Int("opens", 2, "times to open the embedded store and time it")
	settle := fset.Duration("settle", 5*time.Second, "wait after serve is ready before the settled RSS is read")
	withRebuild := fset.Bool("rebuild", true, "also time `subledger rebuild` in a child process")
	cpuProfile := fset.String("cpuprofile", "", "write a CPU profile of the first open of the embedded store to this file")
	if err := fset.Parse(args); err != nil {
		return err
	}
	if *accounts < 1 || *opens < 1 {
		return errors.New("bench capacity: --accounts and --opens must be positive")
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "subledger-capacity-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	res := capacityResult{Accounts: *accounts}
	if _, err := os.Stat(filepath.Join(*dir, "events")); errors.Is(err, fs.ErrNotExist) {
		start := time.Now()
		if err := generateStore(ctx, *dir, generateConfig{Accounts: *accounts, Affiliates: *affiliates, Workers: *workers, Seed: 1}, stderr); err != nil {
			return err
		}
		res.GenerateSeconds = time.Since(start).Seconds()
	}
	if err := writeBenchSigningKey(*dir); err != nil {
		return err
	}
	if err := capacityInProcess(ctx, *dir, *opens, *cpuProfile, &res); err != nil {
		return err
	}
	// The projections built here are garbage now; give their memory back
	// before serve builds its own, so that both do not hold it at once.
	debug.FreeOSMemory()
	if err := capacityServe(ctx, *dir, *settle, &res); err != nil {
		return err
	}
	if *withRebuild {
		sum, err := rebuildChild(ctx, *dir)
		if err != nil {
			return err
		}
		res.RebuildSeconds, res.RebuildEventsPer, res.RebuildPeakRSS = sum.Seconds, sum.EventsPerS, sum.PeakRSSBytes
	}
	logPath := filepath.Join(*dir, "events", embedded.LogFile)
	st, err := os.Stat(logPath)
	if err != nil {
		return err
	}
	if res.LogBytes, err = usedBytes(logPath, st.Size()); err != nil {
		return err
	}
	res.BytesPerEvent = float64(res.LogBytes) / float64(res.Events)
	if res.KeyringBytes, err = dirBytes(filepath.Join(*dir, "keyring")); err != nil {
		return err
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		res.LoadAvg = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	return json.NewEncoder(stdout).Encode(res)
}

// capacityInProcess times the embedded store's open, measures the live heap
// of its index, of the key ring and of caught-up projections, and does the
// jobs' due work, so that serve afterwards starts on a settled store.
func capacityInProcess(ctx context.Context, dir string, opens int, cpuProfile string, res *capacityResult) error {
	storeDir := filepath.Join(dir, "events")
	logPath := filepath.Join(storeDir, embedded.LogFile)
	// A plain read of the log first, which also brings it into the page
	// cache, so that every open below reads from memory.
	start := time.Now()
	if err := readWhole(logPath); err != nil {
		return err
	}
	res.LogReadSeconds = time.Since(start).Seconds()

	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for i := 0; i < opens; i++ {
		before := liveHeap()
		var prof *os.File
		if i == 0 && cpuProfile != "" {
			f, err := os.Create(cpuProfile)
			if err != nil {
				return err
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				f.Close()
				return err
			}
			prof = f
		}
		start := time.Now()
		s, err := embedded.Open(storeDir, embedded.Config{Logger: quiet})
		elapsed := time.Since(start)
		if prof != nil {
			pprof.StopCPUProfile()
			prof.Close()
		}
		if err != nil {
			return err
		}
		res.OpenSeconds = append(res.OpenSeconds, elapsed.Seconds())
		res.IndexHeapBytes = int64(liveHeap()) - int64(before)
		res.GeneratedEvents = s.Position()
		if i == 0 {
			if res.Streams, err = countStreams(ctx, s); err != nil {
				s.Close()
				return err
			}
		}
		runtime.KeepAlive(s)
		if err := s.Close(); err != nil {
			return err
		}
	}
	if res.GeneratedEvents == 0 {
		return fmt.Errorf("bench capacity: %s holds no events", dir)
	}
	res.Events = res.GeneratedEvents
	res.IndexBytesPerEvnt = float64(res.IndexHeapBytes) / float64(res.GeneratedEvents)

	before := liveHeap()
	st, err := openStack(ctx, config{DataDir: dir, Store: "embedded", noCreate: true}, quiet)
	if err != nil {
		return err
	}
	defer st.Close()
	res.RingHeapBytes = int64(liveHeap()) - int64(before) - res.IndexHeapBytes
	svc, err := st.service(config{}, benchSigningKey(), domain.Argon2id{Time: 1, MemoryKiB: 64})
	if err != nil {
		return err
	}
	proj, err := projections.New(projections.Config{Decoder: st.repo, Observe: st.ring.Observe, Logger: quiet})
	if err != nil {
		return err
	}
	before = liveHeap()
	start = time.Now()
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
		return fmt.Errorf("projections: %w", err)
	case <-ctx.Done():
		return ctx.Err()
	}
	res.ProjectionsSeconds = time.Since(start).Seconds()
	res.ProjectionsHeapBytes = int64(liveHeap()) - int64(before)
	if n := proj.View().Stats(time.Time{}, time.Time{}).Accounts.Registered; n != int64(res.Accounts) {
		return fmt.Errorf("bench capacity: %s holds a store of %d accounts, not --accounts %d: use another --dir", dir, n, res.Accounts)
	}
	res.DueErased, res.DueApproved = (&jobs{proj: proj, svc: svc, ring: st.ring, logger: quiet}).once(ctx)
	if h, ok := st.store.(interface{ Position() uint64 }); ok {
		res.Events = h.Position()
	}
	return nil
}

// capacityServe starts `subledger serve` on dir as a child process on a free
// 127.0.0.1 port, waits for /readyz to answer 200, and reads the child's
// resident set size then and after settle.
func capacityServe(ctx context.Context, dir string, settle time.Duration, res *capacityResult) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	ln.Close()
	var errOut tailBuffer
	cmd := exec.CommandContext(ctx, self, "serve", "--addr", addr, "--data-dir", dir,
		"--api-key", "admin="+randomKey("sk_admin_"), "--api-key", "store="+randomKey("sk_store_"))
	cmd.Stdout, cmd.Stderr = io.Discard, &errOut
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cmd.Process.Signal(syscall.SIGTERM)
		return <-exited
	}
	defer stop()

	client := &http.Client{Timeout: 2 * time.Second}
	defer client.CloseIdleConnections()
	deadline := start.Add(30 * time.Minute)
	for {
		select {
		case err := <-exited:
			stopped = true
			return fmt.Errorf("bench capacity: serve exited before it was ready: %v: %s", err, errOut.String())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if ready(client, "http://"+addr+"/readyz") {
			break
		}
		if time.Now().After(deadline) {
			return errors.New("bench capacity: serve was not ready after 30 minutes")
		}
	}
	res.ServeReadySeconds = time.Since(start).Seconds()
	pid := cmd.Process.Pid
	if res.ServeRSSBytes, res.ServeHWMBytes, err = procMemory(pid); err != nil {
		return err
	}
	select {
	case <-time.After(settle):
	case <-ctx.Done():
		return ctx.Err()
	}
	if res.ServeRSSSettled, _, err = procMemory(pid); err != nil {
		return err
	}
	if err := stop(); err != nil {
		return fmt.Errorf("bench capacity: serve did not stop cleanly: %v: %s", err, errOut.String())
	}
	return nil
}

// ready reports whether url answers 200.
func ready(client *http.Client, url string) bool {
	resp, err := client.Get(url)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// rebuildChild runs `subledger rebuild --json` on dir in a child process, so
// that its peak RSS is its own.
func rebuildChild(ctx context.Context, dir string) (rebuildSummary, error) {
	var sum rebuildSummary
	self, err := os.Executable()
	if err != nil {
		return sum, err
	}
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, self, "rebuild", "--data-dir", dir, "--json")
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return sum, fmt.Errorf("rebuild: %v: %s", err, errOut.String())
	}
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil {
		return sum, fmt.Errorf("rebuild printed %q: %w", out.String(), err)
	}
	return sum, nil
}

// procMemory reads a process's VmRSS and VmHWM, in bytes, from /proc.
func procMemory(pid int) (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		for name, p := range map[string]*int64{"VmRSS:": &rss, "VmHWM:": &hwm} {
			if rest, ok := strings.CutPrefix(line, name); ok {
				kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
				if err != nil {
					return 0, 0, fmt.Errorf("/proc/%d/status: %q: %w", pid, line, err)
				}
				*p = kb << 10
			}
		}
	}
	if rss == 0 || hwm == 0 {
		return 0, 0, fmt.Errorf("/proc/%d/status gives no VmRSS and VmHWM", pid)
	}
	return rss, hwm, nil
}

// liveHeap is the heap in use after two complete garbage collections (the
// second frees what finalizers and sync.Pool's victim cache kept alive).
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// countStreams reads the whole global order and counts the distinct streams.
func countStreams(ctx context.Context, s *embedded.Store) (int, error) {
	seen := map[string]struct{}{}
	var after uint64
	for {
		evs, err := s.ReadAll(ctx, after, 4096)
		if err != nil {
			return 0, err
		}
		if len(evs) == 0 {
			return len(seen), nil
		}
		for _, e := range evs {
			if _, ok := seen[e.Stream]; !ok {
				seen[strings.Clone(e.Stream)] = struct{}{}
			}
		}
		after = evs[len(evs)-1].Position
	}
}

// readWhole reads a file from start to end in 1 MiB pieces.
func readWhole(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for {
		_, err := f.Read(buf)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// dirBytes is the size of the regular files under dir.
func dirBytes(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			n += info.Size()
		}
		return err
	})
	return n, err
}

// tailBuffer keeps the last 64 KiB written to it (a child's log).
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if over := len(t.b) - 64<<10; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.b) }
