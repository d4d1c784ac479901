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
