package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aseptsoft/subledger/eventstore"
)

// copyTo runs CopyLog from src into a new store directory and returns it.
func copyTo(t *testing.T, src string) (string, LogCopy, error) {
	t.Helper()
	dst := t.TempDir()
	var b bytes.Buffer
	info, err := CopyLog(context.Background(), src, &b, CopyConfig{})
	if err == nil {
		if werr := os.WriteFile(filepath.Join(dst, LogFile), b.Bytes(), 0o600); werr != nil {
			t.Fatal(werr)
		}
	}
	return dst, info, err
}

// TestCopyLogWhileAppending copies the log while 4 writers append, and
// requires the copy to open with every event acknowledged before the copy
// started, byte for byte as in the source, and nothing after its last
// position.
func TestCopyLogWhileAppending(t *testing.T) {
	src := t.TempDir()
	s, err := Open(src, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fill(t, s, 50)
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var n atomic.Int64
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				evs := make([]eventstore.EventData, 1+i%3)
				for j := range evs {
					evs[j] = eventstore.EventData{ID: uuid.NewString(), Type: "T", Data: []byte(fmt.Sprintf(`{"w":%d,"i":%d,"pad":"%0200d"}`, w, i, j))}
				}
				if _, err := s.Append(context.Background(), fmt.Sprintf("w-%d", w), eventstore.Any(), evs...); err != nil {
					t.Error(err)
					return
				}
				n.Add(1)
			}
		}()
	}
	for n.Load() < 200 && !t.Failed() {
		time.Sleep(time.Millisecond)
	}
	acked := s.Position()
	dst, info, err := copyTo(t, src)
	for n.Load() < 400 && !t.Failed() {
		time.Sleep(time.Millisecond)
	}
	stop()
	wg.Wait()
	if err != nil {
		t.Fatalf("CopyLog while appending: %v", err)
	}
	if info.LastPosition < acked {
		t.Fatalf("the copy ends at position %d, before %d that was acknowledged when it started", info.LastPosition, acked)
	}
	c, err := Open(dst, Config{NoPrealloc: true})
	if err != nil {
		t.Fatalf("opening the copy: %v", err)
	}
	defer c.Close()
	if c.Position() != info.LastPosition {
		t.Fatalf("the copy opens at position %d, CopyLog said %d", c.Position(), info.LastPosition)
	}
	want, _ := s.ReadAll(context.Background(), 0, int(info.LastPosition))
	got, _ := c.ReadAll(context.Background(), 0, int(info.LastPosition)+10)
	if len(got) != len(want) || int64(len(got)) != info.Events {
		t.Fatalf("the copy holds %d events, the source %d up to its last position, CopyLog counted %d", len(got), len(want), info.Events)
	}
	for i := range got {
		if got[i].ID != want[i].ID || !bytes.Equal(got[i].Data, want[i].Data) || got[i].Stream != want[i].Stream || got[i].Version != want[i].Version {
			t.Fatalf("event %d differs in the copy", i+1)
		}
	}
}

// TestCopyLogOfADamagedLog: a torn tail ends the copy at the last whole
// commit; damage followed by valid commits is refused, never cut.
func TestCopyLogOfADamagedLog(t *testing.T) {
	cases := []struct {
		name   string
		damage func(b []byte, commits []int64) []byte
		events int64 // -1: CopyLog must fail
	}{
		{"garbage_after_the_last_commit_copies_every_event", func(b []byte, _ []int64) []byte {
			return append(b, []byte("\x07\x00garbage that is no commit")...)
		}, 10},
		{"half_written_last_commit_is_left_out", func(b []byte, c []int64) []byte { return b[:c[9]+(int64(len(b))-c[9])/2] }, 9},
		{"flipped_byte_in_an_early_commit_is_refused", func(b []byte, c []int64) []byte { b[c[3]+headerSize+5] ^= 0xff; return b }, -1},
		{"zeroed_early_commit_is_refused", func(b []byte, c []int64) []byte {
			for i := c[2]; i < c[3]; i++ {
				b[i] = 0
			}
			return b
		}, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := Open(dir, Config{NoPrealloc: true})
			if err != nil {
				t.Fatal(err)
			}
			fill(t, s, 10)
			s.Close()
			path := filepath.Join(dir, LogFile)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var commits []int64
			for off := int64(0); off < int64(len(b)); {
				h, _, _ := parseHeader(b[off:])
				commits = append(commits, off)
				off += headerSize + int64(h.payloadLen)
			}
			if err := os.WriteFile(path, c.damage(b, commits), 0o600); err != nil {
				t.Fatal(err)
			}
			_, info, err := copyTo(t, dir)
			var ce *corruptError
			switch {
			case c.events < 0 && !errors.As(err, &ce):
				t.Fatalf("CopyLog = %v, want a corrupt-log error", err)
			case c.events >= 0 && (err != nil || info.Events != c.events):
				t.Fatalf("CopyLog = %+v, %v; want %d events", info, err, c.events)
			}
		})
	}
}
