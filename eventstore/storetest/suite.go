package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aseptsoft/subledger/eventstore"
)

// Run runs every contract case against b as subtests of t named
// <b.Name>/<case>.
func Run(t *testing.T, b Backend) {
	t.Run(b.Name, func(t *testing.T) {
		cases := []struct {
			name string
			fn   func(t *testing.T, b Backend)
		}{
			{"expected_version", testExpectedVersion},
			{"append_reports_version_and_position", testAppendResult},
			{"invalid_appends_are_refused", testInvalidAppend},
			{"racing_writers_one_stream_one_winner_per_version", testRacingOneStream},
			{"many_writers_many_streams_global_order_has_no_gap", testManyWriters},
			{"read_stream_ranges", testReadStreamRanges},
			{"read_all_ranges", testReadAllRanges},
			{"subscribe_from_start_while_appending", func(t *testing.T, b Backend) { testSubscribe(t, b, false) }},
			{"subscribe_from_middle_while_appending", func(t *testing.T, b Backend) { testSubscribe(t, b, true) }},
			{"subscription_stops_cleanly", testSubscriptionStop},
			{"tombstone", testTombstone},
			{"close_and_reopen_keeps_everything", testReopen},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) { c.fn(t, b) })
		}
	})
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// prefix returns a stream-name prefix unique to this run, so that cases can
// share a store (or a real server) without seeing each other's streams.
func prefix() string { return "t" + strings.ReplaceAll(uuid.NewString()[:8], "-", "") + "-" }

func ev(typ string, body string) eventstore.EventData {
	return eventstore.EventData{
		ID:       uuid.NewString(),
		Type:     typ,
		Data:     []byte(fmt.Sprintf(`{"v":%q}`, body)),
		Metadata: []byte(`{"actor":"storetest"}`),
	}
}

func evs(n int, typ string) []eventstore.EventData {
	out := make([]eventstore.EventData, n)
	for i := range out {
		out[i] = ev(typ, fmt.Sprint(i))
	}
	return out
}

// mark appends one event to its own stream and returns its position: every
// event appended afterwards has a greater one.
func mark(t *testing.T, s eventstore.Store, p string) uint64 {
	t.Helper()
	r, err := s.Append(ctxFor(t), p+"marker", eventstore.Any(), ev("Marker", "m"))
	if err != nil {
		t.Fatalf("append marker: %v", err)
	}
	return r.Position
}

// readAllOwn reads the global order after pos and keeps the events of
// streams starting with p.
func readAllOwn(t *testing.T, s eventstore.Store, after uint64, p string) []eventstore.Event {
	t.Helper()
	ctx := ctxFor(t)
	var out []eventstore.Event
	for {
		batch, err := s.ReadAll(ctx, after, 1000)
		if err != nil {
			t.Fatalf("read all after %d: %v", after, err)
		}
		if len(batch) == 0 {
			return out
		}
		for _, e := range batch {
			if e.Position <= after {
				t.Fatalf("read all after %d returned position %d", after, e.Position)
			}
			after = e.Position
			if strings.HasPrefix(e.Stream, p) {
				out = append(out, e)
			}
		}
	}
}

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

func testReadStreamRanges(t *testing.T, b Backend) {
	s := b.Open(t)
	p := prefix()
	ctx := ctxFor(t)
	if _, err := s.Append(ctx, p+"r", eventstore.NoStream(), evs(10, "R")...); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		stream    string
		from      int64
		max       int
		wantFirst int64
		wantLen   int
	}{
		{"whole_stream", p + "r", 0, 100, 0, 10},
		{"from_the_middle", p + "r", 4, 100, 4, 6},
		{"limited", p + "r", 2, 3, 2, 3},
		{"last_event", p + "r", 9, 100, 9, 1},
		{"past_the_end_is_empty", p + "r", 10, 100, 0, 0},
		{"far_past_the_end_is_empty", p + "r", 1000, 100, 0, 0},
		{"missing_stream_is_empty", p + "nothing", 0, 100, 0, 0},
	}
	for _, bad := range []struct {
		from int64
		max  int
	}{{-1, 10}, {0, 0}, {0, -1}} {
		if _, err := s.ReadStream(ctx, p+"r", bad.from, bad.max); !errors.Is(err, eventstore.ErrInvalid) {
			t.Fatalf("read from %d max %d: %v, want ErrInvalid", bad.from, bad.max, err)
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := s.ReadStream(ctx, c.stream, c.from, c.max)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if len(got) != c.wantLen {
				t.Fatalf("read %d events, want %d", len(got), c.wantLen)
			}
			for i, e := range got {
				if e.Version != c.wantFirst+int64(i) {
					t.Fatalf("event %d has version %d, want %d", i, e.Version, c.wantFirst+int64(i))
				}
			}
		})
	}
}

func testReadAllRanges(t *testing.T, b Backend) {
	s := b.Open(t)
	p := prefix()
	ctx := ctxFor(t)
	before := mark(t, s, p)
	for i := 0; i < 5; i++ {
		if _, err := s.Append(ctx, fmt.Sprintf("%ss%d", p, i%2), eventstore.Any(), evs(2, "A")...); err != nil {
			t.Fatal(err)
		}
	}
	all := readAllOwn(t, s, before, p)
	if len(all) != 10 {
		t.Fatalf("read %d events after the marker, want 10", len(all))
	}
	mid := all[4].Position
	rest := readAllOwn(t, s, mid, p)
	if len(rest) != 5 || rest[0].ID != all[5].ID {
		t.Fatalf("read after position %d: %d events, want the last 5", mid, len(rest))
	}
	limited, err := s.ReadAll(ctx, before, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(limited) != 3 {
		t.Fatalf("read with max 3 returned %d", len(limited))
	}
	last := all[len(all)-1].Position
	if b.DensePositions {
		end, err := s.ReadAll(ctx, last, 10)
		if err != nil || len(end) != 0 {
			t.Fatalf("read past the end returned %d events (err %v), want none", len(end), err)
		}
	}
	if _, err := s.ReadAll(ctx, before, 0); !errors.Is(err, eventstore.ErrInvalid) {
		t.Fatalf("read all with max 0: %v, want ErrInvalid", err)
	}
	far, err := s.ReadAll(ctx, last+1<<40, 10)
	if err != nil || len(far) != 0 {
		t.Fatalf("read far past the end returned %d events (err %v), want none", len(far), err)
	}
}

// testSubscribe appends from several writers while a subscription reads, and
// checks that it sees every event of the run once, in order.
func testSubscribe(t *testing.T, b Backend, fromMiddle bool) {
	s := b.Open(t)
	p := prefix()
	ctx := ctxFor(t)
	before := mark(t, s, p)
	const writers, per = 4, 50
	// Half of the events exist before the subscription starts.
	for i := 0; i < writers*per/2; i++ {
		e := ev("Sub", fmt.Sprint(i))
		if _, err := s.Append(ctx, fmt.Sprintf("%spre%d", p, i%3), eventstore.Any(), e); err != nil {
			t.Fatal(err)
		}
	}
	start := before
	wantFrom := 0
	if fromMiddle {
		existing := readAllOwn(t, s, before, p)
		start = existing[len(existing)/2-1].Position
		wantFrom = len(existing) / 2
	}
	sub, err := s.SubscribeAll(ctx, start)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per/2; i++ {
				e := ev("Sub", fmt.Sprintf("live-%d-%d", w, i))
				if _, err := s.Append(ctx, fmt.Sprintf("%slive%d", p, w), eventstore.Any(), e); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	// Read until the subscription passes the last event written. A
	// subscription that skips or loses an event fails on the comparison
	// below, and one that stalls fails after 10 s without progress, never
	// through the test's own time-out.
	writing := make(chan struct{})
	go func() {
		wg.Wait()
		close(writing)
	}()
	var got []eventstore.Event
	last := start
	var target uint64
	progress := time.Now()
	for target == 0 || last < target {
		if target == 0 {
			select {
			case <-writing:
				own := readAllOwn(t, s, before, p)
				target = own[len(own)-1].Position
				continue
			default:
			}
		}
		nctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		batch, err := sub.Next(nctx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			if time.Since(progress) > 10*time.Second {
				t.Fatalf("subscription made no progress for 10 s at position %d, after %d of %d events (the last one written is at %d)",
					last, len(got), writers*per-wantFrom, target)
			}
			continue
		}
		if err != nil {
			t.Fatalf("next after %d of %d events: %v", len(got), writers*per-wantFrom, err)
		}
		progress = time.Now()
		for _, e := range batch {
			if e.Position <= last {
				t.Fatalf("subscription went back or repeated: position %d after %d", e.Position, last)
			}
			if b.DensePositions && e.Position != last+1 {
				t.Fatalf("subscription skipped from position %d to %d", last, e.Position)
			}
			last = e.Position
			if strings.HasPrefix(e.Stream, p) && e.Type == "Sub" {
				got = append(got, e)
			}
		}
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	stored := readAllOwn(t, s, before, p)
	var storedSub []eventstore.Event
	for _, e := range stored {
		if e.Type == "Sub" {
			storedSub = append(storedSub, e)
		}
	}
	storedSub = storedSub[wantFrom:]
	if len(storedSub) != len(got) {
		t.Fatalf("subscription saw %d events, the store holds %d", len(got), len(storedSub))
	}
	for i := range got {
		if got[i].ID != storedSub[i].ID || got[i].Position != storedSub[i].Position {
			t.Fatalf("event %d: subscription saw %s@%d, the store holds %s@%d", i, got[i].ID, got[i].Position, storedSub[i].ID, storedSub[i].Position)
		}
	}
}

func testSubscriptionStop(t *testing.T, b Backend) {
	s := b.Open(t)
	p := prefix()
	last := mark(t, s, p)

	sub, err := s.SubscribeAll(ctxFor(t), last)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := sub.Next(context.Background())
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := sub.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, eventstore.ErrClosed) {
			t.Fatalf("next after close: %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("next did not return after close")
	}
	if err := sub.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}

	sub2, err := s.SubscribeAll(ctxFor(t), last)
	if err != nil {
		t.Fatal(err)
	}
	defer sub2.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := sub2.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("next with an ending context: %v, want DeadlineExceeded", err)
	}
}

func testTombstone(t *testing.T, b Backend) {
	s := b.Open(t)
	p := prefix()
	ctx := ctxFor(t)
	stream := p + "doomed"
	if _, err := s.Append(ctx, stream, eventstore.NoStream(), evs(2, "D")...); err != nil {
		t.Fatal(err)
	}
	if err := s.Tombstone(ctx, stream, eventstore.Exact(0)); !errors.Is(err, eventstore.ErrConflict) {
		t.Fatalf("tombstone with a wrong version: %v, want ErrConflict", err)
	}
	if got, err := s.ReadStream(ctx, stream, 0, 10); err != nil || len(got) != 2 {
		t.Fatalf("a refused tombstone changed the stream: %d events, err %v", len(got), err)
	}
	if err := s.Tombstone(ctx, stream, eventstore.Exact(1)); err != nil {
		t.Fatalf("tombstone: %v", err)
	}
	if _, err := s.Append(ctx, stream, eventstore.Any(), ev("D", "late")); !errors.Is(err, eventstore.ErrStreamDeleted) {
		t.Fatalf("append to a tombstoned stream: %v, want ErrStreamDeleted", err)
	}
	if _, err := s.ReadStream(ctx, stream, 0, 10); !errors.Is(err, eventstore.ErrStreamDeleted) {
		t.Fatalf("read of a tombstoned stream: %v, want ErrStreamDeleted", err)
	}
	if err := s.Tombstone(ctx, p+"never", eventstore.Any()); err != nil {
		t.Fatalf("tombstone of a stream without events: %v", err)
	}
	if _, err := s.Append(ctx, p+"never", eventstore.Any(), ev("D", "late")); !errors.Is(err, eventstore.ErrStreamDeleted) {
		t.Fatalf("append to a tombstoned empty stream: %v, want ErrStreamDeleted", err)
	}
	other := p + "other"
	if _, err := s.Append(ctx, other, eventstore.NoStream(), ev("D", "x")); err != nil {
		t.Fatalf("append to another stream after a tombstone: %v", err)
	}
}

func testReopen(t *testing.T, b Backend) {
	if b.Reopen == nil {
		t.Skip("backend cannot reopen")
	}
	s := b.Open(t)
	p := prefix()
	ctx := ctxFor(t)
	before := mark(t, s, p)
	if _, err := s.Append(ctx, p+"keep", eventstore.NoStream(), evs(5, "K")...); err != nil {
		t.Fatal(err)
	}
	if err := s.Tombstone(ctx, p+"gone", eventstore.Any()); err != nil {
		t.Fatal(err)
	}
	want := readAllOwn(t, s, before, p)
	s = b.Reopen(t, s)
	got := readAllOwn(t, s, before, p)
	if len(got) != len(want) {
		t.Fatalf("after reopening: %d events, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i].ID != want[i].ID || got[i].Position != want[i].Position || got[i].Version != want[i].Version ||
			!got[i].Recorded.Equal(want[i].Recorded) || string(got[i].Data) != string(want[i].Data) {
			t.Fatalf("event %d changed across reopening: %+v, was %+v", i, got[i], want[i])
		}
	}
	r, err := s.Append(ctx, p+"keep", eventstore.Exact(4), ev("K", "after"))
	if err != nil {
		t.Fatalf("append after reopening: %v", err)
	}
	if r.Version != 5 || r.Position <= want[len(want)-1].Position {
		t.Fatalf("append after reopening landed at version %d position %d", r.Version, r.Position)
	}
	if _, err := s.Append(ctx, p+"gone", eventstore.Any(), ev("K", "x")); !errors.Is(err, eventstore.ErrStreamDeleted) {
		t.Fatalf("tombstone forgotten across reopening: %v", err)
	}
}
