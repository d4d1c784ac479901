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

// gcPercent returns the process's GC target percentage.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

func TestSetRebuildMemory(t *testing.T) {
	const unlimited = math.MaxInt64
	for _, tc := range []struct {
		name       string
		env        map[string]string
		processLim int64 // the limit in force before, as GOMEMLIMIT would set it
		gcPercent  int
		limitMiB   int64
		wantGC     int
		wantLimit  int64 // during the rebuild; 0: at least the floor
	}{
		{"the defaults turn the target off under the policy's limit", nil, unlimited, -1, 1400, -1, 0},
		{"no limit makes an off target 100", nil, unlimited, -1, 0, 100, unlimited},
		{"GOMEMLIMIT=off makes an off target 100", map[string]string{"GOMEMLIMIT": "off"}, unlimited, -1, 1400, 100, unlimited},
		{"a GOMEMLIMIT wins over the flag and keeps the target off", map[string]string{"GOMEMLIMIT": "2GiB"}, 2 << 30, -1, 1400, -1, 2 << 30},
		{"GOGC wins over the flag", map[string]string{"GOGC": "50"}, unlimited, -1, 1400, 50, 0},
		{"a target given is kept", nil, unlimited, 300, 1400, 300, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prevGC := debug.SetGCPercent(50)
			prevLimit := debug.SetMemoryLimit(tc.processLim)
			defer func() {
				debug.SetGCPercent(prevGC)
				debug.SetMemoryLimit(prevLimit)
			}()
			restore := setRebuildMemory(t.Context(), tc.gcPercent, tc.limitMiB, func(k string) string { return tc.env[k] })
			gotGC, gotLimit := gcPercent(), debug.SetMemoryLimit(-1)
			restore()
			if gotGC != tc.wantGC {
				t.Errorf("GC target %d during the rebuild, want %d", gotGC, tc.wantGC)
			}
			switch {
			case tc.wantLimit == 0 && gotLimit < tc.limitMiB<<20:
				t.Errorf("limit %d during the rebuild, want at least the floor %d", gotLimit, tc.limitMiB<<20)
			case tc.wantLimit != 0 && gotLimit != tc.wantLimit:
				t.Errorf("limit %d during the rebuild, want %d", gotLimit, tc.wantLimit)
			}
			if gc, lim := gcPercent(), debug.SetMemoryLimit(-1); gc != 50 || lim != tc.processLim {
				t.Errorf("after the rebuild: GC target %d, limit %d; want 50 and %d put back", gc, lim, tc.processLim)
			}
		})
	}
}
