package embedded

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aseptsoft/subledger/eventstore"
)

func fill(t *testing.T, s *Store, commits int) []eventstore.Event {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < commits; i++ {
		_, err := s.Append(ctx, fmt.Sprintf("s-%d", i%3), eventstore.Any(),
			eventstore.EventData{ID: uuid.NewString(), Type: "T", Data: []byte(fmt.Sprintf(`{"i":%d}`, i))})
		if err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.ReadAll(ctx, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	return all
}

func TestOpenDamagedLog(t *testing.T) {
	cases := []struct {
		name string
		// damage changes the log file, given its bytes up to the end of the
		// last commit and the offsets where commits start.
		damage func(b []byte, commits []int64) []byte
		// keep is how many of the 10 events must be there after opening;
		// -1 means opening must fail.
		keep int
	}{
		{"garbage_after_the_last_commit_keeps_every_event", func(b []byte, _ []int64) []byte {
			return append(b, []byte("\x07\x00garbage that is no commit at all")...)
		}, 10},
		{"half_written_last_commit_is_discarded", func(b []byte, c []int64) []byte {
			return b[:c[9]+(int64(len(b))-c[9])/2]
		}, 9},
		{"header_only_last_commit_is_discarded", func(b []byte, c []int64) []byte {
			return b[:c[9]+headerSize]
		}, 9},
		{"flipped_byte_in_the_last_commit_is_a_torn_tail", func(b []byte, c []int64) []byte {
			b[len(b)-3] ^= 0xff
			return b
		}, 9},
		{"flipped_byte_in_an_early_commit_fails_to_open", func(b []byte, c []int64) []byte {
			b[c[3]+headerSize+5] ^= 0xff
			return b
		}, -1},
		{"zeroed_early_commit_fails_to_open", func(b []byte, c []int64) []byte {
			for i := c[2]; i < c[3]; i++ {
				b[i] = 0
			}
			return b
		}, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			var commits []int64
			s, err := Open(dir, Config{NoPrealloc: true})
			if err != nil {
				t.Fatal(err)
			}
			want := fill(t, s, 10)
			s.Close()
			path := filepath.Join(dir, LogFile)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for off := int64(0); off < int64(len(b)); {
				h, _, err := parseHeader(b[off:])
				if err != nil {
					t.Fatal(err)
				}
				commits = append(commits, off)
				off += headerSize + int64(h.payloadLen)
			}
			if len(commits) != 10 {
				t.Fatalf("%d commits, want 10", len(commits))
			}
			if err := os.WriteFile(path, c.damage(b, commits), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err = Open(dir, Config{})
			if c.keep < 0 {
				var ce *corruptError
				if !errors.As(err, &ce) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "corrupt at byte") {
					t.Fatalf("open = %v, want an error naming %s and the damage", err, path)
				}
				after, _ := os.ReadFile(path)
				if len(after) < int(commits[9]) {
					t.Fatalf("a failed open cut the file to %d bytes", len(after))
				}
				return
			}
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer s.Close()
			got, err := s.ReadAll(context.Background(), 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != c.keep {
				t.Fatalf("%d events after opening, want %d", len(got), c.keep)
			}
			for i := range got {
				if got[i].ID != want[i].ID || got[i].Position != want[i].Position {
					t.Fatalf("event %d changed", i)
				}
			}
			// The store keeps working at the right position.
			r, err := s.Append(context.Background(), "after", eventstore.NoStream(), eventstore.EventData{ID: uuid.NewString(), Type: "T"})
			if err != nil || r.Position != uint64(c.keep+1) {
				t.Fatalf("append after opening: position %d, err %v; want %d", r.Position, err, c.keep+1)
			}
		})
	}
}

// TestCloseAnswersEveryAppend closes the store while writers append: every
// append returns, acknowledged or ErrClosed, and nothing hangs.
func TestCloseAnswersEveryAppend(t *testing.T) {
	for round := 0; round < 200; round++ {
		s, err := Open(t.TempDir(), Config{})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for w := 0; w < 32; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					_, err := s.Append(context.Background(), fmt.Sprintf("w%d", w), eventstore.Any(), eventstore.EventData{ID: uuid.NewString(), Type: "C"})
					if errors.Is(err, eventstore.ErrClosed) {
						return
					}
					if err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		time.Sleep(time.Duration(round%5) * time.Millisecond)
		s.Close()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: appends still waiting 10 s after Close", round)
		}
	}
}

func TestReadsAfterCloseAreErrClosed(t *testing.T) {
	s, err := Open(t.TempDir(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	fill(t, s, 3)
	sub, err := s.SubscribeAll(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := s.ReadAll(context.Background(), 0, 10); !errors.Is(err, eventstore.ErrClosed) {
		t.Fatalf("read all after close: %v, want ErrClosed", err)
	}
	if _, err := s.ReadStream(context.Background(), "s-0", 0, 10); !errors.Is(err, eventstore.ErrClosed) {
		t.Fatalf("read stream after close: %v, want ErrClosed", err)
	}
	if _, err := sub.Next(context.Background()); !errors.Is(err, eventstore.ErrClosed) {
		t.Fatalf("next after close: %v, want ErrClosed", err)
	}
}
