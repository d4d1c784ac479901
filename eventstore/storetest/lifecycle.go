// The cases of a stream's and a store's life: tombstones and reopening.

package storetest

import (
	"errors"
	"testing"

	"github.com/aseptsoft/subledger/eventstore"
)

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
