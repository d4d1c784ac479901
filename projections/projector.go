package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/eventstore"
)

// Decoder turns a stored event into its domain event. It returns a nil
// event and a nil error for a type it does not know (bookkeeping events of
// other packages); the projector skips those. Personal fields of an erased
// subject decode as zero values. Decode must be safe for concurrent use:
// the projector decodes the events of a large batch in parallel. The
// domain event must not share memory with e's Data or Metadata: once a
// batch is decoded, the store may reuse it (see releaser).
type Decoder interface {
	Decode(ctx context.Context, e eventstore.Event) (domain.Event, error)
}

// DecoderFunc adapts a function to Decoder.
type DecoderFunc func(ctx context.Context, e eventstore.Event) (domain.Event, error)

// Decode calls f.
func (f DecoderFunc) Decode(ctx context.Context, e eventstore.Event) (domain.Event, error) {
	return f(ctx, e)
}

// DefaultCommissionHold is the hold used when Config.CommissionHold is zero,
// the same default as the domain's.
const DefaultCommissionHold = 720 * time.Hour

// Errors of the projector. Callers test them with errors.Is.
var (
	// ErrRunning means Run was called while another Run of the same
	// projector was still going.
	ErrRunning = errors.New("projections: already running")
	// ErrStopped means the projector stopped (Run returned) before it
	// reached the position a caller waits for.
	ErrStopped = errors.New("projections: projector stopped")
	// ErrDecode means Run stopped at an event that its decoder (or
	// observer) refused.
	ErrDecode = errors.New("projections: cannot decode event")
)

// Config is what a Projector needs. Decoder is required.
type Config struct {
	// Decoder decodes stored events into domain events.
	Decoder Decoder
	// Now is the clock that commission statuses are computed against at
	// query time; time.Now by default.
	Now func() time.Time
	// CommissionHold is the wait after a sale before its commission counts
	// as approved (--commission-hold); DefaultCommissionHold when zero; a
	// negative value means no wait, as in the domain's Config.
	CommissionHold time.Duration
	// Observe, when set, is called with every event of the global order,
	// in order, before the batch holding it is decoded: the key ring's
	// Observe goes here, so that an erasure recorded by another replica
	// takes effect for the events after it. An error stops Run. Like
	// Decode, it must not keep ev's Data or Metadata.
	Observe func(ev eventstore.Event) error
	// Logger receives warnings (a dropped subscription being renewed);
	// slog.Default by default. Log lines carry positions and error texts,
	// never event data.
	Logger *slog.Logger
}

// Projector follows the event store's global order and keeps the
// projections in an in-memory go-memdb database. It starts empty and is
// rebuilt from the store by Run. It is safe for concurrent use; Run must
// not be called twice at once.
type Projector struct {
	db      *memdb.MemDB
	dec     Decoder
	observe func(eventstore.Event) error
	now     func() time.Time
	hold    time.Duration
	logger  *slog.Logger

	running atomic.Bool
	w       writer // used by the applying goroutine only
	// onCommit, in tests, learns each committed batch.
	onCommit func(b batch)

	mu       sync.Mutex
	pos      uint64
	changed  chan struct{} // closed and replaced when pos or err changes
	stopErr  error         // why the last Run ended; nil while running or before
	caughtUp bool
	ready    chan struct{} // closed once caught up
}

// New returns a projector with empty projections at position 0.
func New(cfg Config) (*Projector, error) {
	if cfg.Decoder == nil {
		return nil, errors.New("projections: Config.Decoder is required")
	}
	db, err := memdb.NewMemDB(schema())
	if err != nil {
		return nil, fmt.Errorf("projections: schema: %w", err)
	}
	// Work on a snapshot of the new database: go-memdb tracks the watch
	// channel of every node a write changes, and closes them at commit,
	// only in the database it created, not in a snapshot. Nothing here
	// watches, and the tracking costs about a tenth of applying.
	db = db.Snapshot()
	p := &Projector{
		db:      db,
		dec:     cfg.Decoder,
		observe: cfg.Observe,
		now:     cfg.Now,
		hold:    cfg.CommissionHold,
		logger:  cfg.Logger,
		changed: make(chan struct{}),
		ready:   make(chan struct{}),
	}
	if p.now == nil {
		p.now = time.Now
	}
	switch {
	case p.hold == 0:
		p.hold = DefaultCommissionHold
	case p.hold < 0:
		p.hold = 0
	}
	if p.logger == nil {
		p.logger = slog.Default()
	}
	p.w.init()
	return p, nil
}

// Position returns the global position of the last event applied: every
// query sees at least the effects of the events up to it.
func (p *Projector) Position() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pos
}

// CaughtUp reports whether the projector has reached the head of the store
// as it was when Run started (readiness). It stays true afterwards.
func (p *Projector) CaughtUp() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.caughtUp
}

// Ready returns a channel that is closed once the projector has caught up.
func (p *Projector) Ready() <-chan struct{} { return p.ready }

// WaitFor returns once the events up to position are applied
// (read-your-writes). It returns ctx's error when ctx ends first, and an
// error wrapping ErrStopped when Run has returned before reaching position.
func (p *Projector) WaitFor(ctx context.Context, position uint64) error {
	for {
		p.mu.Lock()
		pos, changed, stopErr := p.pos, p.changed, p.stopErr
		p.mu.Unlock()
		switch {
		case pos >= position:
			return nil
		case stopErr != nil:
			return fmt.Errorf("%w at position %d before %d: %w", ErrStopped, pos, position, stopErr)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// signal wakes every waiter; p.mu is held.
func (p *Projector) signal() {
	close(p.changed)
	p.changed = make(chan struct{})
}

func (p *Projector) publish(pos uint64, atHead bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pos = pos
	if atHead {
		p.markCaughtUpLocked()
	}
	p.signal()
}

func (p *Projector) markCaughtUpLocked() {
	if !p.caughtUp {
		p.caughtUp = true
		close(p.ready)
	}
}

func (p *Projector) setStopped(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopErr = err
	p.signal()
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

// batch is one decoded batch of events: applied in one transaction together
// with the checkpoint last.
type batch struct {
	events  []domain.Event // nil entries are skipped
	streams []string       // the stream of each event (none: nothing is indexed by subject)
	last    uint64
	atHead  bool
}

// Run follows store from the projector's position: each batch that the
// subscription delivers is decoded (in parallel when large), applied in one
// go-memdb write transaction together with the checkpoint it reaches, and
// then published to Position and WaitFor. A dropped subscription is renewed
// from the last position with a backoff. Run returns when ctx ends (with
// ctx's error), when the store is closed (eventstore.ErrClosed), or on an
// event that cannot be decoded or applied; the projections then stay at the
// last complete batch, and Run may be called again to continue.
func (p *Projector) Run(ctx context.Context, store eventstore.Store) error {
	if !p.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer p.running.Store(false)
	p.setStopped(nil)
	err := p.run(ctx, store)
	if err == nil {
		err = ErrStopped
	}
	p.setStopped(err)
	return err
}

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
			err := w.apply(e)
			if err == nil && i < len(b.streams) {
				err = w.index(b.streams[i], e)
			}
			if err != nil {
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
