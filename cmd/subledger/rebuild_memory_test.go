package main

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
)

func TestMemoryPolicyLimit(t *testing.T) {
	p := memoryPolicy{floor: 1400 << 20, factor: 1.6}
	for _, tc := range []struct {
		name string
		live uint64
		want int64
	}{
		{"a small heap gets the floor", 100 << 20, 1400 << 20},
		{"a heap at the floor's share still gets the floor", 875 << 20, 1400 << 20},
		{"a larger heap gets 1.6 times itself", 4 << 30, 4 << 30 * 16 / 10},
		{"a heap beyond any limit gets no limit", math.MaxUint64, math.MaxInt64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.limitFor(tc.live); got != tc.want {
				t.Fatalf("limitFor(%d) = %d, want %d", tc.live, got, tc.want)
			}
		})
	}
}

func TestMemoryPolicyFollowsTheLiveHeap(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(before)

	keep := make([][]byte, 0, 64)
	for range 64 {
		keep = append(keep, make([]byte, 1<<20))
	}
	runtime.GC()
	// A floor of 1 byte: the limit is then the live heap's share alone,
	// at least the 64 MiB kept here times 1.6.
	got := memoryPolicy{floor: 1, factor: 1.6}.apply()
	if got < 64<<20*16/10 {
		t.Fatalf("limit %d below 1.6 times the 64 MiB kept live", got)
	}
	if set := debug.SetMemoryLimit(-1); set != got {
		t.Fatalf("the process's limit is %d, apply returned %d", set, got)
	}
	runtime.KeepAlive(keep)
}
