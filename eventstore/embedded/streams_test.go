package embedded

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestStreamTableKeepsWhatAMapWould drives the table and a plain map
// through the same appends and tombstones, with names that hash apart,
// all alike (every one a collision), or in two halves, and long names
// that need chunks of their own.
func TestStreamTableKeepsWhatAMapWould(t *testing.T) {
	type model struct {
		positions []uint64
		tomb      bool
	}
	for _, tc := range []struct {
		name    string
		mask    uint32
		long    bool
		steps   int
		tombs   bool // tombstone now and then
		streams int  // at most this many streams (0: no limit)
		hashed  int  // streams numbered from here on are not hashed (0: all are)
	}{
		{"distinct hashes", ^uint32(0), false, 20_000, true, 0, 0},
		{"no tombstones", ^uint32(0), false, 2_000, false, 0, 0},
		{"one stream, growing in place", ^uint32(0), false, 2_000, false, 1, 0},
		{"every name collides", 0, false, 3_000, true, 0, 0},
		{"names collide in pairs of halves", 1, false, 3_000, true, 0, 0},
		{"names longer than a chunk", ^uint32(0), true, 400, true, 0, 0},
		{"numbers too large to hash", ^uint32(0), false, 3_000, true, 0, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tab := newStreamTable()
			tab.mask = tc.mask
			if tc.hashed > 0 {
				tab.hashedStreams = tc.hashed
			}
			want := map[string]*model{}
			var order []string
			pos := uint64(0)
			nameOf := func(i int) string {
				n := fmt.Sprintf("stream-%d", i)
				if tc.long {
					n += strings.Repeat("x", maxNameChunk/3+i)
				}
				return n
			}
			for step := range tc.steps {
				// Mostly new streams, some appended to again (short ones
				// and a few that grow long), now and then a tombstone.
				var name string
				switch {
				case tc.streams > 0 && len(order) >= tc.streams:
					name = order[step%tc.streams]
				case step%3 == 0 && len(order) > 0:
					name = order[(step*7)%len(order)]
				case step%5 == 0 && len(order) > 0:
					name = order[step%min(len(order), 4)]
				default:
					name = nameOf(len(order))
				}
				id, ok := tab.findString(name)
				m := want[name]
				if ok != (m != nil) {
					t.Fatalf("step %d: find %q = %v, want %v", step, name, ok, m != nil)
				}
				if !ok {
					id = tab.add([]byte(name))
					m = &model{}
					want[name] = m
					order = append(order, name)
				}
				if tc.tombs && step%97 == 0 {
					tab.tombstone(id)
					m.positions, m.tomb = nil, true
					continue
				}
				if step%1000 == 999 {
					tab.compact() // as after Open
				}
				pos++
				tab.push(id, pos)
				m.positions = append(m.positions, pos)
			}
			if tab.len() != len(want) {
				t.Fatalf("%d streams, want %d", tab.len(), len(want))
			}
			for name, m := range want {
				id, ok := tab.find([]byte(name))
				if !ok {
					t.Fatalf("%q is not found", name)
				}
				if got := tab.name(id); got != name {
					t.Fatalf("name of %q is %q", name, got)
				}
				if got := tab.positions(id); !slices.Equal(got, m.positions) || tab.count(id) != int64(len(m.positions)) {
					t.Fatalf("positions of %q: %v (count %d), want %v", name, got, tab.count(id), m.positions)
				}
				if tab.tombstoned(id) != m.tomb {
					t.Fatalf("%q tombstoned %v, want %v", name, tab.tombstoned(id), m.tomb)
				}
			}
			for _, name := range []string{"", "stream-", nameOf(len(order)), "other"} {
				if _, ok := tab.findString(name); ok {
					t.Fatalf("%q is found but was never added", name)
				}
			}
		})
	}
}
