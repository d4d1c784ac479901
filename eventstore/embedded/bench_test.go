package embedded

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aseptsoft/subledger/eventstore"
)

// writeBenchLog writes a log of events events in commits of three, to
// streams most of which are short (as in a ledger: one or two events per
// customer stream, a few longer ones), without going through Append.
func writeBenchLog(b *testing.B, dir string, events int) {
	b.Helper()
	streams := max(1, events/2)
	versions := make([]int64, streams)
	var log, batch []byte
	data := make([]byte, 400)
	now := time.Unix(1_700_000_000, 0)
	first := uint64(1)
	var count uint32
	for p := 1; p <= events; p++ {
		// Every second event goes to a new stream, the others to one of the
		// first tenth of the streams.
		st := p / 2
		if p%2 == 1 {
			st = (p * 7919) % max(1, streams/10)
		}
		st %= streams
		if len(batch) == 0 {
			batch = make([]byte, headerSize)
		}
		e := eventstore.EventData{Type: "BenchEvent", Data: data, Metadata: []byte(`{"m":1}`)}
		batch = appendEventRecord(batch, fmt.Sprintf("customer-%08d-%s", st, "0123456789abcdef0123"), versions[st], now, &e, uuid.New())
		versions[st]++
		count++
		if count == 3 || p == events {
			sealBatch(batch, count, first)
			log = append(log, batch...)
			first += uint64(count)
			batch, count = batch[:0], 0
		}
	}
	if err := os.WriteFile(filepath.Join(dir, LogFile), log, 0o600); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkOpen opens a store of 100,000 events in 50,000 streams and
// reports the heap the open store keeps.
func BenchmarkOpen(b *testing.B) {
	dir := b.TempDir()
	writeBenchLog(b, dir, 100_000)
	var inuse float64
	for b.Loop() {
		var before, after runtime.MemStats
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&before)
		b.StartTimer()
		s, err := Open(dir, Config{NoPrealloc: true})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		inuse = float64(after.HeapInuse) - float64(before.HeapInuse)
		objects := float64(after.HeapObjects) - float64(before.HeapObjects)
		b.ReportMetric(objects, "heap-objects")
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(inuse/1e6, "heap-MB")
}

// BenchmarkSubscribeAll reads a store of 100,000 events from the start
// with a subscription whose events are released after each batch.
func BenchmarkSubscribeAll(b *testing.B) {
	dir := b.TempDir()
	writeBenchLog(b, dir, 100_000)
	s, err := Open(dir, Config{NoPrealloc: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for b.Loop() {
		sub, err := s.SubscribeAll(ctx, 0)
		if err != nil {
			b.Fatal(err)
		}
		for n := 0; n < 100_000; {
			evs, err := sub.Next(ctx)
			if err != nil {
				b.Fatal(err)
			}
			n += len(evs)
			sub.(*subscription).Release()
		}
		sub.Close()
	}
}
