package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	// subjects is the per-subject index (subjects.go).
	subjects subjectIndex
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
	p.subjects.init()
	p.w.subjects = &p.subjects
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
