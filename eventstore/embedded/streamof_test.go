package embedded

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aseptsoft/subledger/eventstore"
)

// TestGlobalReadsNameTheStreamOfEveryEvent reads all events when the
// index numbers the stream of each (the names come from the index), of
// none (as for numbers too large to keep: they come from the records), of
// every other one, and when it numbers the wrong stream: then the record
// is unreadable.
func TestGlobalReadsNameTheStreamOfEveryEvent(t *testing.T) {
	for _, tc := range []struct {
		name    string
		edit    func(p int, streamOf []uint32) // p counts from 0
		wantErr bool
	}{
		{"numbered by the index", func(int, []uint32) {}, false},
		{"numbers too large to keep", func(p int, of []uint32) { of[p] = noStreamNumber }, false},
		{"every other one numbered", func(p int, of []uint32) {
			if p%2 == 0 {
				of[p] = noStreamNumber
			}
		}, false},
		{"the wrong stream numbered", func(p int, of []uint32) {
			if p == 4 {
				of[p] = of[p] ^ 1
			}
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(t.TempDir(), Config{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			want := fill(t, s, 9)
			s.mu.Lock()
			for p := range s.streamOf {
				tc.edit(p, s.streamOf)
			}
			s.mu.Unlock()
			got, err := s.ReadAll(context.Background(), 0, 100)
			if tc.wantErr {
				if err == nil {
					t.Fatal("read all succeeds with the wrong stream in the index")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("read all:\n%v\nwant\n%v", got, want)
			}
		})
	}
}

// TestEventsOfAStreamTombstonedInTheSameCommitKeepTheirStream commits an
// append and the stream's tombstone together: the global order still
// names the stream of the appended event, also after a reopen.
func TestEventsOfAStreamTombstonedInTheSameCommitKeepTheirStream(t *testing.T) {
	dir := t.TempDir()
	started := make(chan struct{}, 1)
	cfg := Config{Now: func() time.Time {
		select {
		case started <- struct{}{}: // a commit begins
		default:
		}
		return time.Now()
	}}
	s, err := Open(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	ctx := context.Background()
	// Hold the committer at the publication of a first commit, so that
	// the next two requests queue up and form one commit.
	s.mu.Lock()
	first := make(chan error, 1)
	go func() {
		_, err := s.Append(ctx, "first", eventstore.Any(), eventstore.EventData{ID: uuid.NewString(), Type: "T"})
		first <- err
	}()
	<-started
	appended := make(chan error, 1)
	go func() {
		_, err := s.Append(ctx, "doomed", eventstore.Any(), eventstore.EventData{ID: uuid.NewString(), Type: "T"})
		appended <- err
	}()
	waitQueued(t, s, 1)
	tombstoned := make(chan error, 1)
	go func() { tombstoned <- s.Tombstone(ctx, "doomed", eventstore.Any()) }()
	waitQueued(t, s, 2)
	s.mu.Unlock()
	if err := errors.Join(<-first, <-appended, <-tombstoned); err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		evs, err := s.ReadAll(ctx, 0, 10)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if len(evs) != 2 || evs[1].Stream != "doomed" {
			t.Fatalf("round %d: read all %v, want the second event in doomed", round, evs)
		}
		if _, err := s.ReadStream(ctx, "doomed", 0, 10); !errors.Is(err, eventstore.ErrStreamDeleted) {
			t.Fatalf("round %d: read of the tombstoned stream: %v", round, err)
		}
		s.Close()
		if s, err = Open(dir, cfg); err != nil {
			t.Fatal(err)
		}
	}
}

// waitQueued waits until n requests wait in s's queue.
func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); len(s.queue) < n; {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests queued, want %d", len(s.queue), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestStreamNumbersTooLargeAreNotKept checks the numbers streamOf keeps.
func TestStreamNumbersTooLargeAreNotKept(t *testing.T) {
	for _, tc := range []struct {
		id   int
		want uint32
	}{
		{0, 0},
		{noStreamNumber - 1, noStreamNumber - 1},
		{noStreamNumber, noStreamNumber},
		{1 << 40, noStreamNumber},
	} {
		if got := number32(tc.id); got != tc.want {
			t.Errorf("number32(%d) = %d, want %d", tc.id, got, tc.want)
		}
	}
}

// TestUUIDsReadAsTheyWereWritten checks the text form of ids against
// the uuid package's.
func TestUUIDsReadAsTheyWereWritten(t *testing.T) {
	for _, id := range []uuid.UUID{uuid.Nil, uuid.Max, uuid.MustParse("01234567-89ab-cdef-fedc-ba9876543210"), uuid.New()} {
		if got := string(appendUUID([]byte("x"), id)); got != "x"+id.String() {
			t.Errorf("appendUUID(%v) = %q", id, got)
		}
	}
}
