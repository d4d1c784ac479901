// The cases of reads of a stream and of $all, over ranges.

package storetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/aseptsoft/subledger/eventstore"
)

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
