package embedded_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aseptsoft/subledger/eventstore"
	"github.com/aseptsoft/subledger/eventstore/embedded"
)

// TestCrashChild is the child process of TestCrashKill9: it appends from
// several goroutines and prints every acknowledged append until killed.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv("SUBLEDGER_CRASH_CHILD_DIR")
	if dir == "" {
		t.Skip("only runs as the child of TestCrashKill9")
	}
	s, err := embedded.Open(dir, embedded.Config{})
	if err != nil {
		fmt.Println("OPEN-ERROR", err)
		os.Exit(2)
	}
	var out sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stream := fmt.Sprintf("crash-%s-%d", filepath.Base(dir), g)
			// Continue a stream that an earlier round of the child wrote.
			version := int64(eventstore.NoStreamVersion)
			if old, err := s.ReadStream(context.Background(), stream, 0, 1<<30); err == nil {
				version = int64(len(old)) - 1
			}
			for {
				id := uuid.NewString()
				r, err := s.Append(context.Background(), stream, eventstore.Exact(version),
					eventstore.EventData{ID: id, Type: "Crash", Data: []byte(`{"n":1}`)})
				if err != nil {
					fmt.Println("APPEND-ERROR", err)
					os.Exit(3)
				}
				version = r.Version
				out.Lock()
				fmt.Fprintf(w, "ACK %s %d %d %s\n", stream, r.Version, r.Position, id)
				w.Flush()
				out.Unlock()
			}
		}()
	}
	wg.Wait()
}

type ack struct {
	stream   string
	version  int64
	position uint64
	id       string
}

// TestCrashKill9 kills a writing child with SIGKILL at a random moment, 20
// times, and checks after each that every acknowledged event is there, in
// order, with gap-free positions, also when garbage follows the last commit.
func TestCrashKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test is not short")
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	var acked []ack
	for round := 0; round < 20; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "SUBLEDGER_CRASH_CHILD_DIR="+dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1<<20)
		firstAck := make(chan struct{})
		go func() {
			sc := bufio.NewScanner(stdout)
			seen := false
			for sc.Scan() {
				lines <- sc.Text()
				if !seen && strings.HasPrefix(sc.Text(), "ACK ") {
					seen = true
					close(firstAck)
				}
			}
			close(lines)
		}()
		// The random moment counts from the first acknowledgement, so that a
		// slow start does not make a round that proves nothing.
		select {
		case <-firstAck:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("round %d: the child acknowledged nothing in 30 s", round)
		}
		time.Sleep(time.Duration(1+rng.IntN(150)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		roundAcks := 0
		for line := range lines {
			f := strings.Fields(line)
			if len(f) == 0 || f[0] != "ACK" {
				if strings.HasPrefix(line, "OPEN-ERROR") || strings.HasPrefix(line, "APPEND-ERROR") {
					t.Fatalf("round %d: child: %s", round, line)
				}
				continue
			}
			if len(f) != 5 {
				continue // a line cut by the kill was never fully acknowledged to us
			}
			var a ack
			a.stream, a.id = f[1], f[4]
			fmt.Sscan(f[2], &a.version)
			fmt.Sscan(f[3], &a.position)
			acked = append(acked, a)
			roundAcks++
		}
		cmd.Wait()
		if roundAcks == 0 {
			t.Fatalf("round %d: no acknowledged append was read", round)
		}
		checkAcked(t, dir, acked, round)
		if round%2 == 1 {
			appendGarbage(t, dir, rng)
			checkAcked(t, dir, acked, round)
		}
	}
	t.Logf("%d acknowledged appends survived 20 kills", len(acked))
}

func checkAcked(t *testing.T, dir string, acked []ack, round int) {
	t.Helper()
	s, err := embedded.Open(dir, embedded.Config{})
	if err != nil {
		t.Fatalf("round %d: reopen after kill: %v", round, err)
	}
	defer s.Close()
	ctx := context.Background()
	var all []eventstore.Event
	for after := uint64(0); ; {
		batch, err := s.ReadAll(ctx, after, 10000)
		if err != nil {
			t.Fatalf("round %d: read all: %v", round, err)
		}
		if len(batch) == 0 {
			break
		}
		all = append(all, batch...)
		after = batch[len(batch)-1].Position
	}
	for i, e := range all {
		if e.Position != uint64(i+1) {
			t.Fatalf("round %d: event %d at position %d: the global order has a gap", round, i, e.Position)
		}
	}
	for _, a := range acked {
		if a.position == 0 || a.position > uint64(len(all)) {
			t.Fatalf("round %d: acknowledged event at position %d lost (store ends at %d)", round, a.position, len(all))
		}
		e := all[a.position-1]
		if e.ID != a.id || e.Stream != a.stream || e.Version != a.version {
			t.Fatalf("round %d: position %d holds %s %s@%d, acknowledged was %s %s@%d", round, a.position, e.ID, e.Stream, e.Version, a.id, a.stream, a.version)
		}
	}
}

// appendGarbage writes bytes after the last commit, as a torn write would.
func appendGarbage(t *testing.T, dir string, rng *rand.Rand) {
	t.Helper()
	path := filepath.Join(dir, embedded.LogFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Walk the commits (32-byte headers with the payload length at bytes
	// 4-8) to the end of the last one; trailing zeros may belong to it.
	end := 0
	for end+32 <= len(b) && binary.LittleEndian.Uint32(b[end:]) != 0 {
		end += 32 + int(binary.LittleEndian.Uint32(b[end+4:]))
	}
	var junk []byte
	switch rng.IntN(3) {
	case 0: // random bytes
		junk = make([]byte, 1+rng.IntN(4096))
		for i := range junk {
			junk[i] = byte(rng.Uint32())
		}
	case 1: // the start of a commit header claiming more than was written
		junk = []byte{0x31, 0x42, 0x4c, 0x53, 0xff, 0x00, 0x10, 0x00, 1, 2, 3}
	default: // a copy of a real commit, cut short
		n := min(end, 200)
		junk = append([]byte(nil), b[end-n:end-n/2]...)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(junk, int64(end)); err != nil {
		t.Fatal(err)
	}
}
