// What running Mailpit needs: its command line (the build that `go tool
// mailpit` caches), its environment, free ports, and a buffer for its
// output.

package mailpittest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

var (
	binOnce sync.Once
	binArgv []string
	binErr  error
)

// binary returns the command line that runs Mailpit: the executable that
// `go tool mailpit` builds and caches in the Go build cache, so the first
// call in a process may build it and later ones are instant. Running it
// directly (not through `go tool`) lets Kill reach Mailpit itself.
func binary() ([]string, error) {
	binOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			binErr = err
			return
		}
		cmd := exec.Command("go", "tool", "-n", "mailpit")
		cmd.Dir = root
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			binErr = fmt.Errorf("go tool -n mailpit: %v: %s", err, bytes.TrimSpace(stderr.Bytes()))
			return
		}
		path := strings.TrimSpace(string(out))
		if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
			binArgv = []string{path}
			return
		}
		// An exec wrapper (go_$GOOS_$GOARCH_exec) or an older go: let
		// `go tool` run it.
		gobin, err := exec.LookPath("go")
		if err != nil {
			binErr = err
			return
		}
		binArgv = []string{gobin, "-C", root, "tool", "mailpit"}
	})
	return binArgv, binErr
}

// moduleRoot walks up from the working directory to the directory holding
// go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if fi, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil && !fi.IsDir() {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("mailpittest: no go.mod above the working directory")
		}
		dir = parent
	}
}

// environ returns the environment for Mailpit: ours without MP_* (Mailpit's
// own settings, which would change its behaviour), with the temporary
// directory pointing into dir.
func environ(dir string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "MP_") || strings.HasPrefix(kv, "TMPDIR=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "TMPDIR="+dir)
}

// freePorts returns n distinct free TCP ports on 127.0.0.1.
func freePorts(n int) ([]int, error) {
	var ports []int
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
