package main

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/aseptsoft/subledger/eventstore"
)

// maxLagCounted bounds how many events lagCounter counts: a lag above it
// shows as maxLagCounted.
const maxLagCounted = 10000

// lagCounter measures, for a store whose positions are not dense (KurrentDB's
// $all positions are byte offsets), how many events the projections have
// not applied yet: every interval it reads the events after the
// projections' position, up to maxLagCounted, and counts them. The figure is
// at most one interval old.
type lagCounter struct {
	store eventstore.Store
	at    func() uint64
	n     atomic.Uint64
}

func (l *lagCounter) lag() uint64 { return l.n.Load() }

func (l *lagCounter) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if evs, err := l.store.ReadAll(ctx, l.at(), maxLagCounted); err == nil {
			l.n.Store(uint64(len(evs)))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
