package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/eventstore"
	"github.com/aseptsoft/subledger/eventstore/embedded"
)

// testDecoder decodes events that encode wrote: plain JSON of the domain
// types, keyed by EventType. Subjects marked erased decode with their
// personal fields zero, as the real codec does after a key is shredded.
type testDecoder struct {
	types map[string]reflect.Type

	mu     sync.Mutex
	erased map[string]bool
}

func newTestDecoder() *testDecoder {
	d := &testDecoder{types: map[string]reflect.Type{}, erased: map[string]bool{}}
	for _, e := range domain.EventTypes() {
		d.types[e.EventType()] = reflect.TypeOf(e)
	}
	return d
}

func (d *testDecoder) erase(subject string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.erased[subject] = true
}

func (d *testDecoder) isErased(subject string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.erased[subject]
}

func (d *testDecoder) Decode(_ context.Context, ev eventstore.Event) (domain.Event, error) {
	t, ok := d.types[ev.Type]
	if !ok {
		return nil, nil
	}
	p := reflect.New(t)
	if err := json.Unmarshal(ev.Data, p.Interface()); err != nil {
		return nil, err
	}
	e := p.Elem().Interface().(domain.Event)
	if pe, ok := e.(domain.PersonalEvent); ok && d.isErased(pe.DataSubject()) {
		v := p.Elem()
		for i := range t.NumField() {
			if t.Field(i).Tag.Get("personal") == "true" {
				v.Field(i).SetZero()
			}
		}
		e = v.Interface().(domain.Event)
	}
	return e, nil
}

// encode turns a domain event into EventData as plain JSON.
func encode(tb testing.TB, e domain.Event) eventstore.EventData {
	tb.Helper()
	data, err := json.Marshal(e)
	if err != nil {
		tb.Fatal(err)
	}
	return eventstore.EventData{ID: uuid.NewString(), Type: e.EventType(), Data: data, Metadata: []byte(`{}`)}
}

// openStore opens an embedded store in a temporary directory.
func openStore(tb testing.TB) *embedded.Store {
	tb.Helper()
	s, err := embedded.Open(tb.TempDir(), embedded.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// appendEvents appends events to stream and returns the position of the last.
func appendEvents(tb testing.TB, s eventstore.Store, stream string, events ...domain.Event) uint64 {
	tb.Helper()
	data := make([]eventstore.EventData, len(events))
	for i, e := range events {
		data[i] = encode(tb, e)
	}
	res, err := s.Append(context.Background(), stream, eventstore.Any(), data...)
	if err != nil {
		tb.Fatal(err)
	}
	return res.Position
}

// fixedClock is a settable clock.
type fixedClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fixedClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fixedClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// running is a projector whose Run goes on in the background until the test ends.
type running struct {
	*Projector
	cancel context.CancelFunc
	done   chan struct{} // closed when Run has returned, err set
	err    error
}

// stop ends Run and returns its error.
func (r *running) stop() error {
	r.cancel()
	<-r.done
	return r.err
}

func startProjector(tb testing.TB, s eventstore.Store, cfg Config) *running {
	tb.Helper()
	return runProjector(tb, newProjector(tb, cfg), s)
}

// runProjector runs p on s in the background until the test ends.
func runProjector(tb testing.TB, p *Projector, s eventstore.Store) *running {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Projector: p, cancel: cancel, done: make(chan struct{})}
	go func() {
		r.err = p.Run(ctx, s)
		close(r.done)
	}()
	// Wait until Run has begun (and cleared the error of an earlier Run),
	// so that a WaitFor right after this does not see the old stop.
	for started := false; !started; {
		p.mu.Lock()
		started = p.running.Load() && p.stopErr == nil
		p.mu.Unlock()
		select {
		case <-r.done:
			started = true
		case <-time.After(time.Millisecond):
		}
	}
	tb.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			tb.Error("Run did not return after cancel")
		}
	})
	return r
}

// waitFor waits (bounded) until p has applied pos.
func waitFor(tb testing.TB, p *Projector, pos uint64) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.WaitFor(ctx, pos); err != nil {
		tb.Fatalf("WaitFor(%d): %v (at %d)", pos, err, p.Position())
	}
}

// dump returns every row of every table, in primary key order, as values.
func dump(tb testing.TB, p *Projector) map[string][]any {
	tb.Helper()
	txn := p.db.Txn(false)
	out := map[string][]any{}
	for table := range schema().Tables {
		it, err := txn.Get(table, indexID)
		if err != nil {
			tb.Fatal(err)
		}
		for raw := it.Next(); raw != nil; raw = it.Next() {
			out[table] = append(out[table], reflect.ValueOf(raw).Elem().Interface())
		}
	}
	return out
}

// collect gathers a sequence.
func collect[T any](seq func(func(T) bool)) []T {
	var out []T
	for v := range seq {
		out = append(out, v)
	}
	return out
}

// applyEvents applies events directly as one batch at position pos (for
// tests and benchmarks that do not need a store).
func applyEvents(tb testing.TB, p *Projector, pos uint64, events ...domain.Event) {
	tb.Helper()
	if err := p.apply(batch{events: events, last: pos}); err != nil {
		tb.Fatal(err)
	}
}

func newProjector(tb testing.TB, cfg Config) *Projector {
	tb.Helper()
	if cfg.Decoder == nil {
		cfg.Decoder = newTestDecoder()
	}
	p, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// hideHead wraps a store so that it offers only the Store interface (no
// cheap head position), to exercise the probing path.
type hideHead struct{ eventstore.Store }

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func accountID(i int) string { return fmt.Sprintf("acc-%06d", i) }

// diffDumps describes the first difference of each table between two dumps,
// or returns "" when they are equal.
func diffDumps(got, want map[string][]any) string {
	var b strings.Builder
	for table := range schema().Tables {
		g, w := got[table], want[table]
		if reflect.DeepEqual(g, w) {
			continue
		}
		fmt.Fprintf(&b, "table %s: %d rows, want %d", table, len(g), len(w))
		for i := range max(len(g), len(w)) {
			if i >= len(g) || i >= len(w) || !reflect.DeepEqual(g[i], w[i]) {
				var gi, wi any
				if i < len(g) {
					gi = g[i]
				}
				if i < len(w) {
					wi = w[i]
				}
				fmt.Fprintf(&b, "; first difference at row %d:\n  got  %+v\n  want %+v\n", i, gi, wi)
				break
			}
		}
	}
	return b.String()
}
