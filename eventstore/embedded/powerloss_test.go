package embedded

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"hash/maphash"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aseptsoft/subledger/eventstore"
)

var (
	powerLossSeed   = flag.Uint64("powerloss.seed", 0, "seed of TestPowerLoss (0: from the clock)")
	powerLossRounds = flag.Int("powerloss.rounds", 80, "power cuts in TestPowerLoss")
)

// TestPowerLoss cuts the power under writers again and again. The store
// runs on the strict in-memory file system (memFS), which decides on its
// own what is durable: a write only after Fdatasync of its file, a new
// name only after a sync of its directory. Each round opens the store on
// what the disk held after the last cut, checks it, lets several writers
// append (one to five events at a time, to their own streams with exact
// versions and to shared ones with any), and cuts the power at a random
// moment: after a random time, instead of a random file operation, or
// during Open. The reboot drops every unsynced byte, or keeps a prefix or a
// random set of sectors of them (a torn write).
//
// After every reboot: every acknowledged append is there with its position,
// version, data and metadata; positions have no gap; stream versions count
// up from 0 with no gap; what the last reboot showed is unchanged; and
// beyond it there is nothing but this boot's appends, each whole and in
// order, acknowledged or left without an answer by the cut.
func TestPowerLoss(t *testing.T) {
	seed := *powerLossSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("TestPowerLoss seed %d: go test -run '^TestPowerLoss$' -powerloss.seed=%d ./eventstore/embedded/ (the goroutines' interleaving is not replayed)", seed, seed)
		}
	})
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	mfs := newMemFS()
	var tornCut atomic.Int64
	logger := slog.New(slog.NewTextHandler(logCounter{&tornCut}, nil))
	m := &plModel{t: t, streams: map[string]int64{}}
	const dir = "/srv/data/events"
	var stats struct {
		openCuts, opCuts, timeCuts, ackedApps, unanswered, unansweredKept int
		modes                                                             [3]int
	}
	start := time.Now()
	for round := 0; round <= *powerLossRounds; round++ {
		cfg := Config{
			fs:         mfs,
			Logger:     logger,
			NoPrealloc: rng.IntN(4) == 0,
			prealloc:   4 << 10 << (3 * rng.IntN(3)), // 4 KiB, 32 KiB or 256 KiB
		}
		if rng.IntN(8) == 0 {
			mfs.CrashAfter(1 + rng.IntN(8))
		}
		s, err := Open(dir, cfg)
		if err != nil {
			if !mfs.Dead() {
				t.Fatalf("round %d: open: %v", round, err)
			}
			stats.openCuts++
			mode := rebootMode(rng.IntN(3))
			stats.modes[mode]++
			mfs.Reboot(rng, mode)
			continue
		}
		stats.unansweredKept += m.verify(round, s)
		if round == *powerLossRounds {
			s.Close()
			break
		}

		// The writers, and the cut.
		m.acked, m.pending = map[uint64]plEvent{}, map[string]plEvent{}
		writers, quota := 2+rng.IntN(7), 5+rng.IntN(60)
		delay := time.Hour
		if rng.IntN(2) == 0 {
			mfs.CrashAfter(1 + rng.IntN(2*writers*quota))
			stats.opCuts++
		} else {
			delay = time.Duration(rng.IntN(15000)) * time.Microsecond
			stats.timeCuts++
		}
		var wg sync.WaitGroup
		for w := range writers {
			wg.Add(1)
			wrng := rand.New(rand.NewPCG(rng.Uint64(), uint64(w)))
			go func() {
				defer wg.Done()
				m.write(round, s, mfs, wrng, w, quota)
			}()
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(delay):
		}
		mfs.Crash()
		<-done
		s.Close()
		stats.ackedApps += m.ackedApps
		m.ackedApps = 0
		stats.unanswered += m.unanswered()
		mode := rebootMode(rng.IntN(3))
		stats.modes[mode]++
		mfs.Reboot(rng, mode)
		if t.Failed() {
			t.FailNow()
		}
	}
	t.Logf("seed %d: %d power cuts in %v (%d during open, %d at a file operation, %d at a moment; reboots: %d %v, %d %v, %d %v); %d events survive; %d appends acknowledged; %d appends cut off without an answer, %d of them found whole after the reboot; %d torn tails cut",
		seed, *powerLossRounds, time.Since(start).Round(time.Millisecond), stats.openCuts, stats.opCuts, stats.timeCuts,
		stats.modes[0], rebootMode(0), stats.modes[1], rebootMode(1), stats.modes[2], rebootMode(2),
		len(m.history), stats.ackedApps, stats.unanswered, stats.unansweredKept, tornCut.Load())
	if stats.ackedApps < 20*(*powerLossRounds) || stats.unanswered == 0 {
		t.Fatalf("the rounds proved little: %d appends acknowledged, %d cut off", stats.ackedApps, stats.unanswered)
	}
}

// plEvent is an appended event as the test knows it.
type plEvent struct {
	id, stream string
	version    int64  // -1 while there is no answer
	sum        uint64 // of data and metadata
	app        int    // the append it belongs to
	idx, n     int    // its index in that append, and the append's size
}

func (e plEvent) String() string {
	return fmt.Sprintf("%s %s@%d", e.id, e.stream, e.version)
}

func (e plEvent) same(o plEvent) bool {
	return e.id == o.id && e.stream == o.stream && e.version == o.version && e.sum == o.sum
}

var sumSeed = maphash.MakeSeed()

func eventSum(data, meta []byte) uint64 {
	var h maphash.Hash
	h.SetSeed(sumSeed)
	h.WriteString(strconv.Itoa(len(data)))
	h.Write(data)
	h.Write(meta)
	return h.Sum64()
}

// plModel is what the test knows, independently of the store.
type plModel struct {
	t       *testing.T
	history []plEvent        // what the store held after the last reboot, by position
	streams map[string]int64 // the length of every stream in history

	mu        sync.Mutex
	apps      int
	acked     map[uint64]plEvent // this boot: acknowledged events by position
	pending   map[string]plEvent // this boot: events of appends without an answer, by id
	ackedApps int
}

func (m *plModel) unanswered() int {
	apps := map[int]bool{}
	for _, e := range m.pending {
		apps[e.app] = true
	}
	return len(apps)
}

// write appends quota times, or until the power goes.
func (m *plModel) write(round int, s *Store, mfs *memFS, rng *rand.Rand, w, quota int) {
	own := fmt.Sprintf("own-%d", w)
	m.mu.Lock()
	version := m.streams[own] - 1
	m.mu.Unlock()
	for range quota {
		n := 1 + rng.IntN(5)
		stream, expected := own, eventstore.Exact(version)
		if rng.IntN(2) == 0 {
			stream, expected = fmt.Sprintf("shared-%d", rng.IntN(3)), eventstore.Any()
		}
		evs := make([]eventstore.EventData, n)
		recs := make([]plEvent, n)
		m.mu.Lock()
		app := m.apps
		m.apps++
		for k := range evs {
			data := payload(rng)
			meta := fmt.Appendf(nil, `{"w":%d,"app":%d,"k":%d}`, w, app, k)
			evs[k] = eventstore.EventData{ID: uuid.NewString(), Type: "PowerLoss", Data: data, Metadata: meta}
			recs[k] = plEvent{id: evs[k].ID, stream: stream, version: -1, sum: eventSum(data, meta), app: app, idx: k, n: n}
			m.pending[recs[k].id] = recs[k]
		}
		m.mu.Unlock()
		r, err := s.Append(context.Background(), stream, expected, evs...)
		if err != nil {
			if !mfs.Dead() {
				m.t.Errorf("round %d: append to %s with the power on: %v", round, stream, err)
			}
			return // cut off: the outcome is unknown
		}
		if stream == own {
			if r.Version != version+int64(n) {
				m.t.Errorf("round %d: append of %d to %s at version %d answered version %d", round, n, own, version, r.Version)
			}
			version = r.Version
		}
		m.mu.Lock()
		for k, rec := range recs {
			back := int64(n - 1 - k)
			rec.version = r.Version - back
			pos := r.Position - uint64(back)
			delete(m.pending, rec.id)
			if prev, dup := m.acked[pos]; dup {
				m.t.Errorf("round %d: position %d acknowledged twice: %v and %v", round, pos, prev, rec)
			}
			m.acked[pos] = rec
		}
		m.ackedApps++
		m.mu.Unlock()
	}
}

// payload is an event's data: mostly small, sometimes tens of kilobytes,
// so that commits cross sectors and preallocation steps.
func payload(rng *rand.Rand) []byte {
	n := rng.IntN(400)
	if rng.IntN(32) == 0 {
		n = 2<<10 + rng.IntN(20<<10)
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// verify checks the store opened after a reboot against the model, and
// makes what it holds the new history. It returns how many appends left
// without an answer by the cut were found.
func (m *plModel) verify(round int, s *Store) int {
	t := m.t
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("round %d: "+format, append([]any{round}, args...)...)
	}
	ctx := context.Background()
	all := make([]eventstore.Event, 0, s.Position())
	for after := uint64(0); ; {
		batch, err := s.ReadAll(ctx, after, 4096)
		if err != nil {
			fail("read all: %v", err)
		}
		if len(batch) == 0 {
			break
		}
		all = append(all, batch...)
		after = batch[len(batch)-1].Position
	}
	got := make([]plEvent, len(all))
	lens := map[string]int64{}
	for i, e := range all {
		if e.Position != uint64(i+1) {
			fail("the global order has a gap: event %d is at position %d", i, e.Position)
		}
		if e.Version != lens[e.Stream] {
			fail("position %d: %s holds version %d after version %d", e.Position, e.Stream, e.Version, lens[e.Stream]-1)
		}
		lens[e.Stream]++
		got[i] = plEvent{id: e.ID, stream: e.Stream, version: e.Version, sum: eventSum(e.Data, e.Metadata)}
	}
	if len(got) < len(m.history) {
		fail("%d events after the reboot, but %d after the one before: durable events lost", len(got), len(m.history))
	}
	for i, h := range m.history {
		if !got[i].same(h) {
			fail("position %d holds %v, after the reboot before it held %v", i+1, got[i], h)
		}
	}
	for p, a := range m.acked {
		if p > uint64(len(got)) {
			fail("the acknowledged event %v at position %d is lost: the store ends at %d", a, p, len(got))
		}
		if !got[p-1].same(a) {
			fail("position %d holds %v; acknowledged there was %v", p, got[p-1], a)
		}
	}
	// Beyond the history: this boot's appends only, each whole.
	kept := 0
	next := 0 // the index expected next within the current append
	var cur plEvent
	for i := len(m.history); i < len(got); i++ {
		g, p := got[i], uint64(i+1)
		want, ok := m.acked[p]
		if !ok {
			if want, ok = m.pending[g.id]; !ok {
				fail("position %d holds %v, which was never appended (or was already known lost)", p, g)
			}
			want.version = g.version
		}
		if !g.same(want) {
			fail("position %d holds %v with data %x, appended was %v with data %x", p, g, g.sum, want, want.sum)
		}
		switch {
		case next == 0 && want.idx != 0:
			fail("position %d holds event %d of append %d without the ones before it", p, want.idx, want.app)
		case next != 0 && (want.app != cur.app || want.idx != next):
			fail("append %d is torn: position %d holds event %d of append %d where its event %d belongs", cur.app, p, want.idx, want.app, next)
		}
		if want.idx == 0 {
			cur = want
			if _, acked := m.acked[p]; !acked {
				kept++
			}
		}
		if next = want.idx + 1; next == want.n {
			next = 0
		}
	}
	if next != 0 {
		fail("append %d is torn: %d of its %d events at the end of the log", cur.app, next, cur.n)
	}
	// Every stream reads back as the global order has it (from a little
	// before where it stood after the last reboot, to keep rounds fast).
	for name, n := range lens {
		from := max(0, m.streams[name]-3)
		evs, err := s.ReadStream(ctx, name, from, int(n-from)+1)
		if err != nil {
			fail("read %s: %v", name, err)
		}
		if int64(len(evs)) != n-from {
			fail("%s reads %d events from version %d, the global order holds %d", name, len(evs), from, n-from)
		}
		for _, e := range evs {
			if g := got[e.Position-1]; g.id != e.ID || g.stream != name || g.version != e.Version {
				fail("%s@%d reads %s at position %d, the global order has %v there", name, e.Version, e.ID, e.Position, g)
			}
		}
	}
	m.history, m.streams = got, lens
	return kept
}

// logCounter counts the store's warnings about a torn commit cut off.
type logCounter struct{ n *atomic.Int64 }

func (c logCounter) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("discarding a torn commit")) {
		c.n.Add(1)
	}
	return len(p), nil
}

// TestStrictMemFS checks the test's file system itself: what it keeps
// across a reboot is exactly what was synced.
func TestStrictMemFS(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	mustOpen := func(m *memFS, name string) file {
		t.Helper()
		f, err := m.OpenFile(name, true)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	content := func(m *memFS, name string) string {
		t.Helper()
		b, err := m.readFile(name)
		if errors.Is(err, fs.ErrNotExist) {
			return "<none>"
		}
		return string(b)
	}
	check := func(what, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s: %q, want %q", what, got, want)
		}
	}

	t.Run("data_needs_fdatasync_and_names_need_a_dir_sync", func(t *testing.T) {
		m := newMemFS()
		if created, err := m.MkdirAll("/a/b"); err != nil || strings.Join(created, ",") != "/a/b,/a" {
			t.Fatalf("mkdir: %v %v", created, err)
		}
		f := mustOpen(m, "/a/b/f")
		f.WriteAt([]byte("hello"), 0)
		f.Fdatasync()
		m.Reboot(rng, dropUnsynced)
		check("synced file in an unsynced directory", content(m, "/a/b/f"), "<none>")

		m.MkdirAll("/a/b")
		m.SyncDir("/")
		m.SyncDir("/a")
		f = mustOpen(m, "/a/b/f")
		f.WriteAt([]byte("hello"), 0)
		f.Fdatasync()
		m.Reboot(rng, dropUnsynced)
		check("synced file, directory not synced", content(m, "/a/b/f"), "<none>")

		f = mustOpen(m, "/a/b/f")
		m.SyncDir("/a/b")
		f.WriteAt([]byte("hello"), 0)
		m.Reboot(rng, dropUnsynced)
		check("name synced, data not", content(m, "/a/b/f"), "")

		f = mustOpen(m, "/a/b/f")
		f.WriteAt([]byte("hello"), 0)
		f.Fdatasync()
		f.WriteAt([]byte(" world"), 5)
		f.Fallocate(11, 10)
		m.Reboot(rng, dropUnsynced)
		check("unsynced write and fallocate after a sync", content(m, "/a/b/f"), "hello")

		f = mustOpen(m, "/a/b/f")
		f.Truncate(2)
		m.Reboot(rng, dropUnsynced)
		check("unsynced truncate", content(m, "/a/b/f"), "hello")
		f = mustOpen(m, "/a/b/f")
		f.Truncate(2)
		f.Fallocate(2, 3)
		f.Fdatasync()
		m.Reboot(rng, dropUnsynced)
		check("synced truncate and fallocate", content(m, "/a/b/f"), "he\x00\x00\x00")
	})

	t.Run("torn_reboots_keep_only_unsynced_bytes_and_every_synced_one", func(t *testing.T) {
		for i := range 200 {
			m := newMemFS()
			f := mustOpen(m, "/f")
			m.SyncDir("/")
			base := bytes.Repeat([]byte{'s'}, 1000+rng.IntN(2000))
			f.WriteAt(base, 0)
			f.Fdatasync()
			extra := bytes.Repeat([]byte{'u'}, rng.IntN(3000))
			f.WriteAt(extra, int64(len(base)))
			mode := rebootMode(1 + i%2)
			m.Reboot(rng, mode)
			got, _ := m.readFile("/f")
			if !bytes.HasPrefix(got, base) || len(got) > len(base)+len(extra) {
				t.Fatalf("%v: %d bytes, synced were %d, unsynced %d", mode, len(got), len(base), len(extra))
			}
			for _, c := range got[len(base):] {
				if c != 'u' && c != 0 {
					t.Fatalf("%v: byte %q was never written", mode, c)
				}
			}
			if mode == keepPrefix && bytes.IndexByte(got[len(base):], 0) >= 0 {
				t.Fatalf("keep a prefix left a hole")
			}
		}
	})

	t.Run("power_cut_fails_every_operation_and_old_handles_stay_dead", func(t *testing.T) {
		m := newMemFS()
		f := mustOpen(m, "/f")
		m.SyncDir("/")
		m.CrashAfter(2)
		if _, err := f.WriteAt([]byte("ab"), 0); err != nil {
			t.Fatalf("first operation: %v", err)
		}
		if err := f.Fdatasync(); !errors.Is(err, errPowerLost) {
			t.Fatalf("second operation: %v, want the power cut", err)
		}
		if _, err := f.ReadAt(make([]byte, 1), 0); !errors.Is(err, errPowerLost) {
			t.Fatalf("read after the cut: %v", err)
		}
		m.Reboot(rng, dropUnsynced)
		check("cut instead of the sync", content(m, "/f"), "")
		if _, err := f.WriteAt([]byte("x"), 0); !errors.Is(err, errPowerLost) {
			t.Fatalf("old handle after reboot: %v", err)
		}
		g := mustOpen(m, "/f")
		if err := g.Lock(); err != nil {
			t.Fatal(err)
		}
		if err := mustOpen(m, "/f").Lock(); err == nil {
			t.Fatal("a second lock was granted")
		}
	})

	t.Run("store_log_is_durable_only_through_the_store's_own_syncs", func(t *testing.T) {
		m := newMemFS()
		s, err := Open("/d/e", Config{fs: m})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Open("/d/e", Config{fs: m}); err == nil || !strings.Contains(err.Error(), "in use") {
			t.Fatalf("second open: %v, want in use", err)
		}
		fill(t, s, 5)
		m.Reboot(rng, dropUnsynced)
		s.Close()
		s, err = Open("/d/e", Config{fs: m})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if p := s.Position(); p != 5 {
			t.Fatalf("position %d after the reboot, want 5", p)
		}
	})
}
