package main

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY returns both ends of a new pseudo-terminal: what is written to
// the second (a terminal) is read from the first.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close() })
	return master, tty
}

// Backup progress is one line rewritten in place on a terminal, and
// nothing at all when stderr is not one (a log file, a pipe).
func TestBackupProgressOnlyOnATerminal(t *testing.T) {
	tests := []struct {
		name     string
		terminal bool
	}{
		{name: "a terminal shows the line", terminal: true},
		{name: "a file gets nothing", terminal: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.terminal {
				master, tty := openPTY(t)
				progress := newProgress(tty)
				progress("events log: %s copied", mib(3<<20))
				progress("")
				// A read of a terminal's master end ignores deadlines: it
				// runs aside, and the test gives up waiting after 5 s.
				got := make(chan string, 1)
				go func() {
					buf := make([]byte, 256)
					n, _ := master.Read(buf)
					got <- string(buf[:n])
				}()
				select {
				case s := <-got:
					if !strings.Contains(s, "\r\033[Kbackup: events log: 3.0 MiB copied") {
						t.Fatalf("the terminal shows %q", s)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("nothing reached the terminal in 5 s")
				}
				return
			}
			f, err := os.CreateTemp(t.TempDir(), "stderr")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			newProgress(f)("events log: %s copied", mib(3<<20))
			if b, _ := os.ReadFile(f.Name()); len(b) != 0 {
				t.Fatalf("a file got %q", b)
			}
		})
	}
}
