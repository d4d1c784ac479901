// The cases of appends: expected versions, results, invalid input, writers
// racing on one stream and many writers.

package storetest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aseptsoft/subledger/eventstore"
)

func testExpectedVersion(t *testing.T, b Backend) {
	s := b.Open(t)
	p := prefix()
	cases := []struct {
		name     string
		existing int // events in the stream before the append
		expected eventstore.ExpectedVersion
		conflict bool
	}{
		{"any_on_new_stream_appends", 0, eventstore.Any(), false},
		{"any_on_existing_stream_appends", 2, eventstore.Any(), false},
		{"no_stream_on_new_stream_appends", 0, eventstore.NoStream(), false},
		{"no_stream_on_existing_stream_conflicts", 1, eventstore.NoStream(), true},
		{"stream_exists_on_new_stream_conflicts", 0, eventstore.StreamExists(), true},
		{"stream_exists_on_existing_stream_appends", 1, eventstore.StreamExists(), false},
		{"exact_current_version_appends", 3, eventstore.Exact(2), false},
		{"exact_older_version_conflicts", 3, eventstore.Exact(1), true},
		{"exact_future_version_conflicts", 3, eventstore.Exact(5), true},
		{"exact_on_new_stream_conflicts", 0, eventstore.Exact(0), true},
		{"exact_minus_one_on_new_stream_appends", 0, eventstore.Exact(eventstore.NoStreamVersion), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := ctxFor(t)
			stream := p + c.name
			if c.existing > 0 {
				if _, err := s.Append(ctx, stream, eventstore.NoStream(), evs(c.existing, "Seed")...); err != nil {
					t.Fatalf("seed: %v", err)
				}
			}
			r, err := s.Append(ctx, stream, c.expected, ev("Tried", "x"))
			got, rerr := s.ReadStream(ctx, stream, 0, 100)
			if rerr != nil {
				t.Fatalf("read back: %v", rerr)
			}
			if c.conflict {
				if !errors.Is(err, eventstore.ErrConflict) {
					t.Fatalf("append with %v to a stream of %d events: err = %v, want ErrConflict", c.expected, c.existing, err)
				}
				if len(got) != c.existing {
					t.Fatalf("a refused append changed the stream: %d events, want %d", len(got), c.existing)
				}
				return
			}
			if err != nil {
				t.Fatalf("append with %v to a stream of %d events: %v", c.expected, c.existing, err)
			}
			if r.Version != int64(c.existing) {
				t.Fatalf("version = %d, want %d", r.Version, c.existing)
			}
			if len(got) != c.existing+1 || got[c.existing].Type != "Tried" {
				t.Fatalf("stream holds %d events, want %d ending with the new one", len(got), c.existing+1)
			}
		})
	}
}

func testAppendResult(t *testing.T, b Backend) {
	s := b.Open(t)
	ctx := ctxFor(t)
	p := prefix()
	before := mark(t, s, p)
	in := evs(3, "Thing")
	r, err := s.Append(ctx, p+"a", eventstore.NoStream(), in...)
	if err != nil {
		t.Fatal(err)
	}
	if r.Version != 2 {
		t.Fatalf("version = %d, want 2", r.Version)
	}
	if r.Position <= before {
		t.Fatalf("position %d not after the marker's %d", r.Position, before)
	}
	got, err := s.ReadStream(ctx, p+"a", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("read %d events, want 3", len(got))
	}
	for i, e := range got {
		if e.ID != in[i].ID || e.Type != in[i].Type || string(e.Data) != string(in[i].Data) ||
			string(e.Metadata) != string(in[i].Metadata) || e.Stream != p+"a" || e.Version != int64(i) {
			t.Fatalf("event %d read back as %+v, want %+v", i, e, in[i])
		}
		if e.Recorded.IsZero() || time.Since(e.Recorded) > time.Hour || time.Until(e.Recorded) > time.Hour {
			t.Fatalf("event %d recorded at %v, want about now", i, e.Recorded)
		}
		if i > 0 && e.Position <= got[i-1].Position {
			t.Fatalf("positions within one append do not increase: %d then %d", got[i-1].Position, e.Position)
		}
	}
	if got[2].Position != r.Position {
		t.Fatalf("last event at position %d, append reported %d", got[2].Position, r.Position)
	}
	if b.DensePositions && (got[0].Position != before+1 || got[2].Position != before+3) {
		t.Fatalf("positions %d..%d, want %d..%d", got[0].Position, got[2].Position, before+1, before+3)
	}
}

func testInvalidAppend(t *testing.T, b Backend) {
	s := b.Open(t)
	p := prefix()
	cases := []struct {
		name   string
		stream string
		events []eventstore.EventData
	}{
		{"empty_stream_name", "", evs(1, "T")},
		{"event_without_type", p + "x", []eventstore.EventData{{ID: uuid.NewString(), Data: []byte(`{}`)}}},
		{"event_without_id", p + "x", []eventstore.EventData{{Type: "T", Data: []byte(`{}`)}}},
		{"no_events", p + "x", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.Append(ctxFor(t), c.stream, eventstore.Any(), c.events...)
			if !errors.Is(err, eventstore.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
	got, err := s.ReadStream(ctxFor(t), p+"x", 0, 10)
	if err != nil || len(got) != 0 {
		t.Fatalf("refused appends left %d events (err %v)", len(got), err)
	}
}

func testRacingOneStream(t *testing.T, b Backend) {
	s := b.Open(t)
	p := prefix()
	stream := p + "race"
	const writers, versions = 16, 20
	ctx := ctxFor(t)
	var mu sync.Mutex
	winners := map[int64]int{} // version -> writer
	var wg sync.WaitGroup
	// Failures are gathered under mu, never sent on a channel that could
	// fill while a writer holds mu: a broken backend fails the case with a
	// message instead of hanging it.
	var errs []error
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for v := int64(0); v < versions; v++ {
				r, err := s.Append(ctx, stream, eventstore.Exact(v-1), ev("Race", fmt.Sprintf("%d/%d", w, v)))
				switch {
				case err == nil:
					mu.Lock()
					if prev, ok := winners[r.Version]; ok {
						errs = append(errs, fmt.Errorf("writers %d and %d both won version %d", prev, w, r.Version))
					}
					winners[r.Version] = w
					if r.Version != v {
						errs = append(errs, fmt.Errorf("append expecting %d landed at %d", v-1, r.Version))
					}
					mu.Unlock()
				case errors.Is(err, eventstore.ErrConflict):
				default:
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	if len(errs) > 0 {
		t.FailNow()
	}
	got, err := s.ReadStream(ctx, stream, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != versions || len(winners) != versions {
		t.Fatalf("stream has %d events and %d winners, want %d of each", len(got), len(winners), versions)
	}
	for i, e := range got {
		if e.Version != int64(i) {
			t.Fatalf("event %d has version %d", i, e.Version)
		}
		var w, v int
		fmt.Sscanf(strings.Trim(string(e.Data), `{}"v:`), "%d/%d", &w, &v)
		if winners[int64(i)] != w || v != i {
			t.Fatalf("version %d holds %s, but writer %d was told it won", i, e.Data, winners[int64(i)])
		}
	}
}

func testManyWriters(t *testing.T, b Backend) {
	s := b.Open(t)
	p := prefix()
	ctx := ctxFor(t)
	before := mark(t, s, p)
	const writers, streamsPer, eventsPer = 16, 4, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	acked := make([][]eventstore.EventData, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < eventsPer; i++ {
				for k := 0; k < streamsPer; k++ {
					e := ev("Many", fmt.Sprintf("%d-%d-%d", w, k, i))
					if _, err := s.Append(ctx, fmt.Sprintf("%sw%d-s%d", p, w, k), eventstore.Exact(int64(i)-1), e); err != nil {
						errs <- err
						return
					}
					acked[w] = append(acked[w], e)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	all := readAllOwn(t, s, before, p)
	if len(all) != writers*streamsPer*eventsPer {
		t.Fatalf("global order holds %d events, want %d", len(all), writers*streamsPer*eventsPer)
	}
	seen := map[string]bool{}
	next := map[string]int64{}
	for i, e := range all {
		if b.DensePositions && e.Position != before+1+uint64(i) {
			t.Fatalf("event %d of the run at position %d, want %d: the global order has a gap", i, e.Position, before+1+uint64(i))
		}
		if seen[e.ID] {
			t.Fatalf("event %s appears twice", e.ID)
		}
		seen[e.ID] = true
		if e.Version != next[e.Stream] {
			t.Fatalf("stream %s: version %d follows %d in the global order", e.Stream, e.Version, next[e.Stream]-1)
		}
		next[e.Stream]++
	}
	for w := range acked {
		for _, e := range acked[w] {
			if !seen[e.ID] {
				t.Fatalf("acknowledged event %s missing from the global order", e.ID)
			}
		}
	}
}
