package main

import (
	"context"
	"math"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// memoryPolicy is the rebuild's memory policy. A replay allocates much and
// keeps most of what it allocates, so the collector runs only as a soft
// memory limit requires (the GC target percentage is off by default): the
// default store of `bench rebuild` is then collected three times instead of
// eight. The limit is floor, or factor times the live heap, whichever is
// larger, and follows the live heap as it grows: a store too large for the
// floor gets headroom in proportion to what it keeps, instead of a collector
// that runs without pause.
type memoryPolicy struct {
	floor  int64   // bytes
	factor float64 // of the live heap
}

// limitFor returns the soft memory limit for a live heap of live bytes.
func (m memoryPolicy) limitFor(live uint64) int64 {
	scaled := float64(live) * m.factor
	if scaled >= math.MaxInt64 {
		return math.MaxInt64
	}
	return max(m.floor, int64(scaled))
}

// apply sets the limit for the live heap that the last collection found,
// and returns it.
func (m memoryPolicy) apply() int64 {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	var live uint64
	if sample[0].Value.Kind() == metrics.KindUint64 {
		live = sample[0].Value.Uint64()
	}
	limit := m.limitFor(live)
	debug.SetMemoryLimit(limit)
	return limit
}

// follow applies the policy every interval until ctx ends.
func (m memoryPolicy) follow(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			m.apply()
		}
	}
}

// setRebuildMemory sets the GC target percentage and starts the memory
// policy with a floor of limitMiB (none when 0) for a rebuild, and returns
// the function that stops the policy and puts back the settings it found.
// GOGC and GOMEMLIMIT in the environment win over the flags; a GC target
// below 0 with no limit in force (none given, or GOMEMLIMIT=off) means 100,
// since the collector would otherwise never run.
func setRebuildMemory(ctx context.Context, gcPercent int, limitMiB int64, getenv func(string) string) (restore func()) {
	prevLimit := debug.SetMemoryLimit(-1)
	envLimit := getenv("GOMEMLIMIT") != ""
	policy := !envLimit && limitMiB > 0
	limited := policy || (envLimit && prevLimit < math.MaxInt64)
	var undo []func()
	if getenv("GOGC") == "" {
		if gcPercent < 0 && !limited {
			gcPercent = 100
		}
		prev := debug.SetGCPercent(gcPercent)
		undo = append(undo, func() { debug.SetGCPercent(prev) })
	}
	if policy {
		m := memoryPolicy{floor: limitMiB << 20, factor: 1.6}
		m.apply()
		ctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			m.follow(ctx, 100*time.Millisecond)
		}()
		undo = append(undo, func() {
			stop()
			<-done
			debug.SetMemoryLimit(prevLimit)
		})
	}
	return func() {
		for _, f := range undo {
			f()
		}
	}
}
