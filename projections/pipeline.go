// The projector's pipeline, from the store to the tables: batches are read
// from the store (feed while catching up, follow on the live
// subscription), merged while they wait (gather), decoded, in parallel
// when large (decode), and applied with their checkpoint in one write
// transaction (apply).

package projections

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/eventstore"
)

// batch is one decoded batch of events: applied in one transaction together
// with the checkpoint last.
type batch struct {
	events  []domain.Event // nil entries are skipped
	streams []string       // the stream of each event (none: nothing is indexed by subject)
	last    uint64
	atHead  bool
}

// releaser is what a subscription offers when it can reuse the memory of
// the events its last Next returned once they are no longer used (the
// embedded store's does): catching up, that is most of what a rebuild
// allocates, and less garbage means fewer collections.
type releaser interface {
	Release()
}

// headPositioner is what a store offers when it can tell its head position
// cheaply (the embedded store does).
type headPositioner interface {
	Position() uint64
}

// run is Run's loop: a feeder reads batches from the store into a channel,
// and this goroutine applies them until the feeder stops.
func (p *Projector) run(ctx context.Context, store eventstore.Store) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	start := p.Position()
	var target uint64
	probe := true
	if h, ok := store.(headPositioner); ok {
		target, probe = h.Position(), false
		if start >= target {
			p.publish(start, true)
		}
	} else if !p.CaughtUp() {
		next, err := store.ReadAll(ctx, start, 1)
		if err == nil && len(next) == 0 {
			p.publish(start, true)
		}
	}

	batches := make(chan batch, maxMerge)
	feedErr := make(chan error, 1)
	go func() {
		defer close(batches)
		feedErr <- p.feed(ctx, store, start, target, probe, batches)
	}()
	var group []batch
	for b := range batches {
		group = gather(append(group[:0], b), batches, target)
		if err := p.apply(group...); err != nil {
			cancel()
			for range batches {
			}
			<-feedErr
			return err
		}
	}
	return <-feedErr
}

// maxMerge bounds how many decoded batches one transaction applies. While
// catching up, a transaction waits for that many: it copies the upper nodes
// of the go-memdb trees it changes once, so a large one costs less per event
// than several small ones.
const maxMerge = 8

// gather adds to group the batches that go into the same transaction:
// those already decoded and waiting and, while catching up to target (the
// head when Run started, 0 when unknown), those that make the transaction
// maxMerge batches long. A live batch goes alone.
func gather(group []batch, batches <-chan batch, target uint64) []batch {
	for len(group) < maxMerge {
		var more batch
		var ok bool
		if group[len(group)-1].last < target {
			more, ok = <-batches
		} else {
			select {
			case more, ok = <-batches:
			default:
			}
		}
		if !ok {
			return group
		}
		group = append(group, more)
	}
	return group
}

// feed subscribes from position after and sends decoded batches until ctx
// ends, the store closes or an event does not decode.
func (p *Projector) feed(ctx context.Context, store eventstore.Store, after, target uint64, probe bool, out chan<- batch) error {
	const minBackoff, maxBackoff = 50 * time.Millisecond, 5 * time.Second
	backoff := minBackoff
	for {
		from := after
		sub, err := store.SubscribeAll(ctx, after)
		if err == nil {
			err = p.follow(ctx, store, sub, &after, target, probe, out)
			sub.Close()
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, eventstore.ErrClosed) || errors.Is(err, ErrDecode) {
			return err
		}
		if after != from {
			backoff = minBackoff
		}
		p.logger.Warn("projections: subscription failed; subscribing again", "after", after, "backoff", backoff, "error", err)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return ctx.Err()
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// follow reads sub until it fails, advancing *after past every batch sent.
func (p *Projector) follow(ctx context.Context, store eventstore.Store, sub eventstore.Subscription, after *uint64, target uint64, probe bool, out chan<- batch) error {
	for {
		evs, err := sub.Next(ctx)
		if err != nil {
			return err
		}
		if len(evs) == 0 {
			continue
		}
		decoded, err := p.decode(ctx, evs)
		if err != nil {
			return err
		}
		streams := make([]string, len(evs))
		for i := range evs {
			streams[i] = evs[i].Stream
		}
		b := batch{events: decoded, streams: streams, last: evs[len(evs)-1].Position}
		if r, ok := sub.(releaser); ok {
			r.Release() // decoded and observed: evs is not used any more
		}
		switch {
		case !probe:
			b.atHead = b.last >= target
		case !p.CaughtUp():
			// No cheap head position: the batch reached the head when
			// nothing follows it yet.
			next, err := store.ReadAll(ctx, b.last, 1)
			b.atHead = err == nil && len(next) == 0
		}
		select {
		case out <- b:
			*after = b.last
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// parallelDecodeMin is the batch size from which decoding is spread over
// several goroutines.
const parallelDecodeMin = 128

// decode decodes evs in order, in parallel for a large batch, after
// passing them to the observer in order.
func (p *Projector) decode(ctx context.Context, evs []eventstore.Event) ([]domain.Event, error) {
	if p.observe != nil {
		for i := range evs {
			if err := p.observe(evs[i]); err != nil {
				return nil, fmt.Errorf("%w %s (%s) at position %d: observe: %w", ErrDecode, evs[i].ID, evs[i].Type, evs[i].Position, err)
			}
		}
	}
	out := make([]domain.Event, len(evs))
	workers := min(runtime.GOMAXPROCS(0), len(evs)/(parallelDecodeMin/2))
	if len(evs) < parallelDecodeMin || workers < 2 {
		return out, p.decodeRange(ctx, evs, out)
	}
	chunk := (len(evs) + workers - 1) / workers
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for i := range workers {
		lo, hi := i*chunk, min((i+1)*chunk, len(evs))
		if lo >= hi {
			break
		}
		wg.Go(func() { errs[i] = p.decodeRange(ctx, evs[lo:hi], out[lo:hi]) })
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

func (p *Projector) decodeRange(ctx context.Context, evs []eventstore.Event, out []domain.Event) error {
	for i := range evs {
		e, err := p.dec.Decode(ctx, evs[i])
		if err != nil {
			return fmt.Errorf("%w %s (%s) at position %d: %w", ErrDecode, evs[i].ID, evs[i].Type, evs[i].Position, err)
		}
		out[i] = e
	}
	return nil
}

// apply applies batches and the checkpoint of the last in one write
// transaction, then publishes the position.
func (p *Projector) apply(bs ...batch) error {
	b := bs[len(bs)-1]
	txn := p.db.Txn(true)
	w := &p.w
	w.begin(txn)
	for _, b := range bs {
		for i, e := range b.events {
			if e == nil {
				continue
			}
			if i < len(b.streams) {
				w.index(b.streams[i], e)
			}
			if err := w.apply(e); err != nil {
				txn.Abort()
				w.end()
				return fmt.Errorf("projections: applying %s before position %d: %w", e.EventType(), b.last, err)
			}
		}
		if b.atHead {
			bs[len(bs)-1].atHead = true
		}
	}
	b = bs[len(bs)-1]
	err := w.flush()
	if err == nil {
		err = txn.Insert(tableCheckpoint, &checkpoint{Position: b.last})
	}
	w.end()
	if err != nil {
		txn.Abort()
		return fmt.Errorf("projections: committing position %d: %w", b.last, err)
	}
	txn.Commit()
	if p.onCommit != nil {
		p.onCommit(b)
	}
	p.publish(b.last, b.atHead)
	return nil
}
