// Package stripemocktest runs stripe-mock (the module's `go tool
// stripe-mock`) for tests, on loopback ports only.
package stripemocktest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// APIKey is a secret key stripe-mock accepts.
const APIKey = "sk_test_stripemocktest"

// startTimeout bounds the wait for stripe-mock to listen and answer (it
// loads Stripe's whole OpenAPI document first).
const startTimeout = 60 * time.Second

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// Binary returns the path of the built stripe-mock tool, building it when
// needed (`go tool -n stripe-mock` in the module root).
func Binary() (string, error) {
	binOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			binErr = err
			return
		}
		cmd := exec.Command("go", "tool", "-n", "stripe-mock")
		cmd.Dir = root
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			binErr = fmt.Errorf("go tool -n stripe-mock: %v: %s", err, strings.TrimSpace(stderr.String()))
			return
		}
		binPath = strings.TrimSpace(string(out))
		if binPath == "" {
			binErr = errors.New("go tool -n stripe-mock printed no path")
		}
	})
	return binPath, binErr
}

// moduleRoot walks up from the working directory to the directory that
// holds go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("stripemocktest: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Start runs a stripe-mock of its own for t, listening for HTTP and HTTPS
// on ports of 127.0.0.1 that the system chooses (it never listens beyond
// loopback), waits until it answers, and returns its HTTP base URL
// ("http://127.0.0.1:PORT"). The process is killed when t ends.
func Start(t testing.TB) string {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatalf("stripemocktest: %v", err)
	}
	// Both addresses are given: with -http-addr alone, stripe-mock also
	// serves HTTPS on its default port on every interface.
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:0", "-https-addr", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("stripemocktest: %v", err)
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("stripemocktest: start %s: %v", bin, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})

	addrs := make(chan [2]string, 2) // protocol, address
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			for _, proto := range []string{"HTTP", "HTTPS"} {
				if rest, ok := strings.CutPrefix(line, "Listening for "+proto+" at address: "); ok {
					addrs <- [2]string{proto, strings.TrimSpace(rest)}
				}
			}
		}
		close(addrs)
		_, _ = io.Copy(io.Discard, stdout)
	}()

	deadline := time.Now().Add(startTimeout)
	var httpAddr string
	seen := map[string]bool{}
	for len(seen) < 2 {
		select {
		case a, ok := <-addrs:
			if !ok {
				t.Fatalf("stripemocktest: stripe-mock exited before it listened: %s", stderr.String())
			}
			host, _, err := net.SplitHostPort(a[1])
			if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
				t.Fatalf("stripemocktest: stripe-mock listens for %s at %q, not on loopback", a[0], a[1])
			}
			seen[a[0]] = true
			if a[0] == "HTTP" {
				httpAddr = a[1]
			}
		case <-time.After(time.Until(deadline)):
			t.Fatalf("stripemocktest: stripe-mock did not listen within %s: %s", startTimeout, stderr.String())
		}
	}
	base := "http://" + httpAddr
	if err := waitAnswer(base, deadline); err != nil {
		t.Fatalf("stripemocktest: %v: %s", err, stderr.String())
	}
	return base
}

// waitAnswer polls base until stripe-mock answers an API request.
func waitAnswer(base string, deadline time.Time) error {
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		req, err := http.NewRequest(http.MethodGet, base+"/v1/customers?limit=1", nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+APIKey)
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("stripe-mock did not answer: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// lockedBuffer is a bytes.Buffer safe for the process's writes and the
// test's reads, capped at 64 KiB.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := 64<<10 - b.buf.Len(); room > 0 {
		if len(p) > room {
			b.buf.Write(p[:room])
		} else {
			b.buf.Write(p)
		}
	}
	return len(p), nil
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
