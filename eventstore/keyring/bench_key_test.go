package keyring

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// benchSubject names the i-th subject of a benchmark ring.
func benchSubject(i int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i) }

// benchRing writes a FileRing with n live slots into dir without fsyncing
// each one (the slots are encoded directly), then opens it. The ring's
// ledger store is closed by b's cleanup. It returns the key id of every
// subject too.
func benchRing(b *testing.B, dir string, n int, cfg Config) (*FileRing, MasterKey, []string) {
	b.Helper()
	ctx := context.Background()
	store := openStore(b, filepath.Join(dir, "events"))
	m, err := NewMasterKey(nil, "bench")
	if err != nil {
		b.Fatal(err)
	}
	ringDir := filepath.Join(dir, "keyring")
	r, err := OpenFileRing(ctx, ringDir, m, store, Config{})
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, n*slotSize)
	ids := make([]string, n)
	for i := range n {
		key, keyID, err := r.c.newKey()
		if err != nil {
			b.Fatal(err)
		}
		wrapped, err := r.c.wrapKey(benchSubject(i), keyID, key)
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = keyID
		p, err := liveSlot(benchSubject(i), keyID, fingerprintSum(key), 1, wrapped)
		if err != nil {
			b.Fatal(err)
		}
		binary.LittleEndian.PutUint32(p[offSlotCRC:], crc32.Checksum(p[:offSlotCRC], castagnoli))
		copy(buf[i*slotSize:], p[:])
	}
	if _, err := r.f.WriteAt(buf, headerSize); err != nil {
		b.Fatal(err)
	}
	r.Close()
	r, err = OpenFileRing(ctx, ringDir, m, store, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close() })
	return r, m, ids
}

// BenchmarkFileRingKey measures Key on a ring of 200,000 subjects: cold
// (every call misses the cache and unwraps the key, as a rebuild does at a
// subject's first event) and warm (the subject's key is cached).
func BenchmarkFileRingKey(b *testing.B) {
	const n = 200_000
	ctx := context.Background()
	r, _, ids := benchRing(b, b.TempDir(), n, Config{})
	subjects := make([]string, n)
	for i := range subjects {
		subjects[i] = benchSubject(i)
	}
	b.Run("cold", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			// In order over more subjects than the cache holds: always a miss.
			if _, err := r.Key(ctx, subjects[i], ids[i]); err != nil {
				b.Fatal(err)
			}
			if i++; i == n {
				i = 0
			}
		}
	})
	b.Run("warm", func(b *testing.B) {
		b.ReportAllocs()
		for i := range 1000 {
			if _, err := r.Key(ctx, subjects[i], ids[i]); err != nil {
				b.Fatal(err)
			}
		}
		i := 0
		for b.Loop() {
			if _, err := r.Key(ctx, subjects[i], ids[i]); err != nil {
				b.Fatal(err)
			}
			if i++; i == 1000 {
				i = 0
			}
		}
	})
}

// BenchmarkOpenFileRingHeap reports the live heap of an opened ring of
// 200,000 subjects (heap-MB: in use after a GC, the ring against none) and
// the time to open it.
func BenchmarkOpenFileRingHeap(b *testing.B) {
	const n = 200_000
	ctx := context.Background()
	dir := b.TempDir()
	r, m, _ := benchRing(b, dir, n, Config{})
	r.Close()
	var before, after runtime.MemStats
	b.ReportAllocs()
	for b.Loop() {
		runtime.GC()
		runtime.ReadMemStats(&before)
		r, err := OpenFileRing(ctx, filepath.Join(dir, "keyring"), m, r.store, Config{})
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/1e6, "heap-MB")
		r.Close()
	}
	if _, err := os.Stat(filepath.Join(dir, "keyring", SlotFile)); err != nil {
		b.Fatal(err)
	}
}
