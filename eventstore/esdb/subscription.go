package esdb

import (
	"context"
	"fmt"
	"sync"

	esdbc "github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/aseptsoft/subledger/eventstore"
)

// subscriptionBuffer is how many events a subscription holds for Next
// before it stops reading from the server (which then applies back
// pressure); it also bounds one batch.
const subscriptionBuffer = 1024

// SubscribeAll implements eventstore.Store with the server's SubscribeToAll,
// from the start of $all when after is 0, else from the event at after.
// The subscription ends when ctx ends, when it is closed, or when the store
// is closed; Next then returns ErrClosed (wrapping ctx's error in the first
// case). If the server drops it, Next returns that error after the events
// already received; subscribe again from the last position seen.
func (s *Store) SubscribeAll(ctx context.Context, after uint64) (eventstore.Subscription, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, eventstore.ErrClosed
	}
	s.calls.Add(1) // held by the pump, or released below on failure
	sctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.ctx, cancel)
	sub := &subscription{
		store:  s,
		ctx:    sctx,
		cancel: cancel,
		events: make(chan eventstore.Event, subscriptionBuffer),
		closed: make(chan struct{}),
		pumped: make(chan struct{}),
	}
	s.subs[sub] = struct{}{}
	s.mu.Unlock()

	esub, err := s.client.SubscribeToAll(sctx, esdbc.SubscribeToAllOptions{From: allPosition(after)})
	if err != nil {
		stop()
		cancel()
		s.removeSub(sub)
		close(sub.pumped)
		s.calls.Done()
		return nil, s.mapErr(err, fmt.Sprintf("subscribe to $all after %d", after))
	}
	go sub.pump(esub, after, stop)
	return sub, nil
}

func (s *Store) removeSub(sub *subscription) {
	s.mu.Lock()
	delete(s.subs, sub)
	s.mu.Unlock()
}

// subscription is an eventstore.Subscription fed by a pump goroutine that
// reads the server's subscription into a buffered channel.
type subscription struct {
	store  *Store
	ctx    context.Context // ends with the caller's context, Close or the store's Close
	cancel context.CancelFunc
	events chan eventstore.Event // closed by the pump when it stops
	err    error                 // why the pump stopped; read only after events is closed

	closeOnce sync.Once
	closed    chan struct{} // closed by Close
	pumped    chan struct{} // closed when the pump has stopped
}

// pump delivers the server's events after position after, leaving out
// system events and anything at or before the last position delivered.
func (sub *subscription) pump(esub *esdbc.Subscription, after uint64, stop func() bool) {
	defer sub.store.calls.Done()
	defer close(sub.pumped)
	defer sub.store.removeSub(sub)
	defer close(sub.events)
	defer stop()
	defer sub.cancel()
	defer esub.Close()
	last := after
	for {
		msg := esub.Recv()
		switch {
		case msg.EventAppeared != nil:
			r := msg.EventAppeared.OriginalEvent()
			p := position(r.Position)
			if p <= last {
				continue // the start event itself, if the server includes it
			}
			last = p
			if system(r) {
				continue
			}
			select {
			case sub.events <- toEvent(r):
			case <-sub.ctx.Done():
				sub.err = sub.endErr(nil)
				return
			}
		case msg.SubscriptionDropped != nil:
			sub.err = sub.endErr(msg.SubscriptionDropped.Error)
			return
		}
	}
}

// endErr is what Next returns once the pump has stopped for dropped.
func (sub *subscription) endErr(dropped error) error {
	select {
	case <-sub.closed:
		return eventstore.ErrClosed
	default:
	}
	if sub.store.ctx.Err() != nil {
		return eventstore.ErrClosed
	}
	if err := sub.ctx.Err(); err != nil {
		return fmt.Errorf("%w: subscription context ended: %w", eventstore.ErrClosed, err)
	}
	return fmt.Errorf("esdb: subscription to $all dropped: %w", dropped)
}

// Next implements eventstore.Subscription.
func (sub *subscription) Next(ctx context.Context) ([]eventstore.Event, error) {
	select {
	case <-sub.closed:
		return nil, eventstore.ErrClosed
	default:
	}
	var batch []eventstore.Event
	select {
	case e, ok := <-sub.events:
		if !ok {
			return nil, sub.err
		}
		batch = append(batch, e)
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-sub.closed:
		return nil, eventstore.ErrClosed
	}
	for len(batch) < subscriptionBuffer {
		select {
		case e, ok := <-sub.events:
			if !ok {
				return batch, nil
			}
			batch = append(batch, e)
		default:
			return batch, nil
		}
	}
	return batch, nil
}

// Close implements eventstore.Subscription. It returns once the
// subscription has stopped reading from the server.
func (sub *subscription) Close() error {
	sub.closeOnce.Do(func() {
		close(sub.closed)
		sub.cancel()
	})
	<-sub.pumped
	return nil
}
