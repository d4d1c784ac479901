package embedded

import (
	"context"
	"sync"

	"github.com/aseptsoft/subledger/eventstore"
)

// SubscribeAll implements eventstore.Store.
func (s *Store) SubscribeAll(ctx context.Context, after uint64) (eventstore.Subscription, error) {
	select {
	case <-s.closing:
		return nil, eventstore.ErrClosed
	default:
	}
	return &subscription{s: s, after: after, closed: make(chan struct{})}, nil
}

type subscription struct {
	s      *Store
	after  uint64
	once   sync.Once
	closed chan struct{}

	last  *readMem // the memory of the events Next returned last
	spare *readMem // last, once released: the next Next reads into it
}

// Next implements eventstore.Subscription.
func (sub *subscription) Next(ctx context.Context) ([]eventstore.Event, error) {
	for {
		select {
		case <-sub.closed:
			return nil, eventstore.ErrClosed
		case <-sub.s.closing:
			return nil, eventstore.ErrClosed
		default:
		}
		sub.s.mu.RLock()
		committed, notify := sub.s.committed, sub.s.notify
		sub.s.mu.RUnlock()
		if committed > sub.after {
			mem := sub.spare
			if mem == nil {
				mem = new(readMem)
			}
			mem.used = 0
			sub.spare, sub.last = nil, mem
			evs, err := sub.s.readAll(ctx, sub.after, readChunk, mem)
			if err != nil {
				return nil, err
			}
			sub.after = evs[len(evs)-1].Position
			return evs, nil
		}
		select {
		case <-notify:
		case <-sub.closed:
			return nil, eventstore.ErrClosed
		case <-sub.s.closing:
			return nil, eventstore.ErrClosed
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Release tells the subscription that the events its last Next returned
// are no longer used, not even their strings or byte slices: the next Next
// reads into their memory rather than allocating anew. A subscriber that
// keeps any part of an event must not call it.
func (sub *subscription) Release() {
	sub.spare, sub.last = sub.last, nil
}

// Close implements eventstore.Subscription.
func (sub *subscription) Close() error {
	sub.once.Do(func() { close(sub.closed) })
	return nil
}
