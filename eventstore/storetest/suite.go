package storetest

import (
	"context"
	"fmt"
	"strings"
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
