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
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sys/unix"

	"github.com/aseptsoft/subledger/eventstore"
	"github.com/aseptsoft/subledger/eventstore/embedded"
)

// appendResult is the one JSON line that `subledger bench append` prints.
type appendResult struct {
	Store                string  `json:"store"`
	Writers              int     `json:"writers"`
	Streams              int     `json:"streams"`
	EventsPerStream      int     `json:"events_per_stream"`
	Events               int     `json:"events"`
	AppendsPerS          float64 `json:"appends_per_s"`
	ReplayEventsPerS     float64 `json:"replay_events_per_s"`
	StreamReadsPerS      float64 `json:"stream_reads_per_s"`
	BytesPerEvent        float64 `json:"bytes_per_event"`
	DiskFdatasyncPerS    float64 `json:"disk_fdatasync_per_s"`
	DiskGroupCommitPerS  float64 `json:"disk_group_commit_appends_per_s"`
	RatioToGroupCommit   float64 `json:"ratio_to_group_commit"`
	StreamReadsMeasured  int     `json:"stream_reads_measured"`
	ReplayEventsMeasured int     `json:"replay_events_measured"`
}

func benchAppend(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench append", stderr)
	dir := fs.String("dir", "", "data directory for the run (default: a new temporary directory, removed afterwards)")
	writers := fs.Int("writers", 16, "concurrent appenders")
	streams := fs.Int("streams", 10000, "streams to write")
	perStream := fs.Int("events-per-stream", 10, "events per stream")
	eventSize := fs.Int("event-size", 500, "bytes of data and metadata per event")
	reads := fs.Int("stream-reads", 1000, "random whole-stream reads to time")
	calibrate := fs.Duration("calibrate", 3*time.Second, "time to measure each of the disk's own limits")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *writers < 1 || *streams < 1 || *perStream < 1 || *eventSize < 100 {
		return fmt.Errorf("bench append: --writers, --streams and --events-per-stream must be positive and --event-size at least 100")
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "subledger-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		*dir = d
	} else if err := os.MkdirAll(*dir, 0o700); err != nil {
		return fmt.Errorf("bench append: --dir: %w", err)
	}
	res := appendResult{Store: "embedded", Writers: *writers, Streams: *streams, EventsPerStream: *perStream, Events: *streams * *perStream}

	// The disk's own limits, measured in the same run on the same disk.
	var err error
	if res.DiskFdatasyncPerS, err = measureFdatasync(*dir, *calibrate); err != nil {
		return err
	}
	if res.DiskGroupCommitPerS, err = measureGroupCommit(*dir, *writers, *eventSize, *calibrate); err != nil {
		return err
	}

	storeDir := filepath.Join(*dir, "store")
	s, err := embedded.Open(storeDir, embedded.Config{})
	if err != nil {
		return err
	}
	defer s.Close()

	data, meta := benchPayload(*eventSize)
	var next atomic.Int64
	total := int64(res.Events)
	var wg sync.WaitGroup
	errc := make(chan error, *writers)
	start := time.Now()
	for w := 0; w < *writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Appends interleave streams: append n goes to stream n%streams
			// at version n/streams, so each stream's versions are taken in
			// order while many streams are written at once.
			for {
				n := next.Add(1) - 1
				if n >= total {
					return
				}
				stream, version := n%int64(*streams), n/int64(*streams)
				for {
					_, err := s.Append(ctx, fmt.Sprintf("bench-%d", stream), eventstore.Exact(version-1),
						eventstore.EventData{ID: uuid.NewString(), Type: "BenchEvent", Data: data, Metadata: meta})
					if err == nil {
						break
					}
					if !errors.Is(err, eventstore.ErrConflict) {
						errc <- err
						return
					}
					// The previous version of this stream is still in flight
					// with another writer; try again once it has landed.
					time.Sleep(50 * time.Microsecond)
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return err
	}
	res.AppendsPerS = float64(total) / time.Since(start).Seconds()
	// The machine is shared and noisy: the limit is measured before and
	// after the store's run, and the ratio is against their mean.
	limitAfter, err := measureGroupCommit(*dir, *writers, *eventSize, *calibrate)
	if err != nil {
		return err
	}
	res.DiskGroupCommitPerS = (res.DiskGroupCommitPerS + limitAfter) / 2
	res.RatioToGroupCommit = res.AppendsPerS / res.DiskGroupCommitPerS

	// Replay the whole global order.
	start = time.Now()
	var after uint64
	for {
		evs, err := s.ReadAll(ctx, after, 4096)
		if err != nil {
			return err
		}
		if len(evs) == 0 {
			break
		}
		res.ReplayEventsMeasured += len(evs)
		after = evs[len(evs)-1].Position
	}
	res.ReplayEventsPerS = float64(res.ReplayEventsMeasured) / time.Since(start).Seconds()
	if res.ReplayEventsMeasured != res.Events {
		return fmt.Errorf("bench append: replay read %d events, want %d", res.ReplayEventsMeasured, res.Events)
	}

	// Read random whole streams.
	rng := rand.New(rand.NewPCG(1, 2))
	start = time.Now()
	for i := 0; i < *reads; i++ {
		evs, err := s.ReadStream(ctx, fmt.Sprintf("bench-%d", rng.IntN(*streams)), 0, 1<<20)
		if err != nil {
			return err
		}
		if len(evs) != *perStream {
			return fmt.Errorf("bench append: a stream read returned %d events, want %d", len(evs), *perStream)
		}
	}
	res.StreamReadsMeasured = *reads
	res.StreamReadsPerS = float64(*reads) / time.Since(start).Seconds()

	if err := s.Close(); err != nil {
		return err
	}
	st, err := os.Stat(filepath.Join(storeDir, embedded.LogFile))
	if err != nil {
		return err
	}
	used, err := usedBytes(filepath.Join(storeDir, embedded.LogFile), st.Size())
	if err != nil {
		return err
	}
	res.BytesPerEvent = float64(used) / float64(res.Events)
	return json.NewEncoder(stdout).Encode(res)
}

// benchPayload returns JSON data and metadata of about size bytes together.
func benchPayload(size int) (data, meta []byte) {
	meta = []byte(`{"actor":"bench","correlation_id":"5f0c6a8e-4c1e-4b9a-9d59-2f7c0e6d7a11","schema":1}`)
	pad := size - len(meta) - len(`{"amount":4900,"currency":"eur","note":""}`)
	note := make([]byte, max(pad, 0))
	for i := range note {
		note[i] = 'a' + byte(i%26)
	}
	data = []byte(fmt.Sprintf(`{"amount":4900,"currency":"eur","note":%q}`, note))
	return data, meta
}

// usedBytes is the log's size without the zeros preallocated past its end.
func usedBytes(path string, size int64) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := make([]byte, 1<<16)
	end := size
	for end > 0 {
		n := min(int64(len(buf)), end)
		if _, err := f.ReadAt(buf[:n], end-n); err != nil && err != io.EOF {
			return 0, err
		}
		for i := n - 1; i >= 0; i-- {
			if buf[i] != 0 {
				return end - n + i + 1, nil
			}
		}
		end -= n
	}
	return 0, nil
}

// measureFdatasync appends 512 bytes and fdatasyncs, one at a time, for d.
func measureFdatasync(dir string, d time.Duration) (float64, error) {
	f, err := os.CreateTemp(dir, "fsync-")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, 512)
	n := 0
	start := time.Now()
	for time.Since(start) < d {
		if _, err := f.Write(buf); err != nil {
			return 0, err
		}
		if err := unix.Fdatasync(int(f.Fd())); err != nil {
			return 0, err
		}
		n++
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// measureGroupCommit is the disk's group-commit limit: writers goroutines
// each append size bytes and wait; one committer writes every append pending
// at that moment to a plain file with one write and one fdatasync.
func measureGroupCommit(dir string, writers, size int, d time.Duration) (float64, error) {
	f, err := os.CreateTemp(dir, "groupcommit-")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	type req struct{ done chan error }
	queue := make(chan req, writers)
	stop := make(chan struct{})
	var acked atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := req{done: make(chan error, 1)}
			for {
				select {
				case <-stop:
					return
				case queue <- r:
				}
				if err := <-r.done; err != nil {
					return
				}
				acked.Add(1)
			}
		}()
	}
	payload := make([]byte, size)
	var buf []byte
	var pending []req
	start := time.Now()
	var ferr error
	for time.Since(start) < d && ferr == nil {
		pending = append(pending[:0], <-queue)
	drain:
		for {
			select {
			case r := <-queue:
				pending = append(pending, r)
			default:
				break drain
			}
		}
		buf = buf[:0]
		for range pending {
			buf = append(buf, payload...)
		}
		if _, ferr = f.Write(buf); ferr == nil {
			ferr = unix.Fdatasync(int(f.Fd()))
		}
		for _, r := range pending {
			r.done <- ferr
		}
	}
	elapsed := time.Since(start)
	close(stop)
	// Release writers still waiting to be queued or answered.
	go func() {
		for r := range queue {
			r.done <- fmt.Errorf("stopped")
		}
	}()
	wg.Wait()
	close(queue)
	return float64(acked.Load()) / elapsed.Seconds(), ferr
}
