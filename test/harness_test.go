// Package test holds subledger's end-to-end tests: the real binary, started
// as a child process on a temporary data directory, driven over HTTP with
// every exchange checked against api/openapi.json.
//
// The harness (this file): TestMain, building the binary once, starting,
// stopping (SIGTERM), killing (SIGKILL) and restarting servers, an HTTP
// client whose transport is the OpenAPI validator's, a registry of the
// secrets the suite uses (e-mails, names, passwords, tokens, keys) that
// every server log is checked against, and a scanner for data directories.
//
// Set SUBLEDGER_E2E_KEEP=1 to keep the data directories and logs.
package test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aseptsoft/subledger/api/openapitest"
	"github.com/aseptsoft/subledger/stripe/stripemocktest"
)

// Generous bounds for a loaded CI machine; none is a sleep that
// correctness depends on.
const (
	startTimeout   = 30 * time.Second
	stopTimeout    = 30 * time.Second
	requestTimeout = 60 * time.Second
)

var suite struct {
	dir string

	buildOnce sync.Once
	bin       string
	buildErr  error

	mu          sync.Mutex
	secrets     map[string]string // value -> what it is
	clientAddrs map[string]bool   // local ip:port of every connection the suite made
	runs        map[string]*run   // listen address -> the run serving it
	// OpenAPI coverage over every top-level test's Validator.
	validators int
	covered    map[string]bool
	uncovResp  map[string]int // response -> number of validators that did not see it
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "subledger-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	suite.dir = dir
	suite.secrets = map[string]string{}
	suite.clientAddrs = map[string]bool{}
	suite.runs = map[string]*run{}
	suite.covered = map[string]bool{}
	suite.uncovResp = map[string]int{}

	code := m.Run()
	if code == 0 {
		code = checkCoverage()
	}
	if os.Getenv("SUBLEDGER_E2E_KEEP") != "" {
		fmt.Fprintf(os.Stderr, "e2e: data directories and logs kept in %s\n", dir)
	} else {
		_ = os.RemoveAll(dir)
	}
	os.Exit(code)
}

// newValidator returns the OpenAPI validator of a top-level test; its
// coverage joins the suite's when the test ends.
func newValidator(t *testing.T) *openapitest.Validator {
	v := openapitest.New(t)
	t.Cleanup(func() {
		suite.mu.Lock()
		defer suite.mu.Unlock()
		suite.validators++
		for op, seen := range v.Covered() {
			suite.covered[op] = suite.covered[op] || seen
		}
		for _, r := range v.UncoveredResponses() {
			suite.uncovResp[r]++
		}
	})
	return v
}

// checkCoverage fails the run when a documented operation was exercised by
// no test. It is skipped when only some tests ran.
func checkCoverage() int {
	for _, name := range []string{"test.run", "test.skip"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			fmt.Printf("e2e: OpenAPI coverage not checked (-%s given)\n", strings.TrimPrefix(name, "test."))
			return 0
		}
	}
	suite.mu.Lock()
	defer suite.mu.Unlock()
	var uncovered, responses []string
	for op, seen := range suite.covered {
		if !seen {
			uncovered = append(uncovered, op)
		}
	}
	for r, n := range suite.uncovResp {
		if n == suite.validators {
			responses = append(responses, r)
		}
	}
	slices.Sort(uncovered)
	slices.Sort(responses)
	fmt.Printf("e2e: OpenAPI: %d documented operations, uncovered: %v\n", len(suite.covered), uncovered)
	if testing.Verbose() {
		fmt.Printf("e2e: OpenAPI: documented responses no test produced (informational):\n  %s\n", strings.Join(responses, "\n  "))
	}
	if len(uncovered) > 0 {
		fmt.Printf("--- FAIL: OpenAPI coverage: operations the suite never exercised: %s\nFAIL\n", strings.Join(uncovered, ", "))
		return 1
	}
	return 0
}

// ---------------------------------------------------------------------
// Secrets: every value the logs and data directories must not hold.

// secret records v as something no log line may contain, and returns it.
func secret(what, v string) string {
	suite.mu.Lock()
	defer suite.mu.Unlock()
	suite.secrets[v] = what
	return v
}

func secretsSnapshot() map[string]string {
	suite.mu.Lock()
	defer suite.mu.Unlock()
	return maps.Clone(suite.secrets)
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ---------------------------------------------------------------------
// Building and running the binary.

func binary(t testing.TB) string {
	t.Helper()
	suite.buildOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			suite.buildErr = err
			return
		}
		out := filepath.Join(suite.dir, "subledger")
		cmd := exec.Command("go", "build", "-o", out, "./cmd/subledger")
		cmd.Dir = root
		if b, err := cmd.CombinedOutput(); err != nil {
			suite.buildErr = fmt.Errorf("go build ./cmd/subledger: %v\n%s", err, b)
			return
		}
		suite.bin = out
	})
	if suite.buildErr != nil {
		t.Fatal(suite.buildErr)
	}
	return suite.bin
}

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
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// options configure a server.
// webhookSecret is every test server's Stripe endpoint secret.
const webhookSecret = "whsec_e2e_0123456789abcdef"

type options struct {
	smtpURL   string   // empty: no --smtp-url
	stripeURL string   // empty: no --stripe-api-key and --stripe-api-url
	args      []string // further flags of serve
}

// server is one deployment: a data directory and keys, run by one process
// at a time (start, stop, kill, start again).
type server struct {
	name     string
	dir      string
	dataDir  string
	adminKey string
	storeKey string
	opts     options
	v        *openapitest.Validator

	cur  *run
	runs []*run
}

// run is one process of a server.
type run struct {
	n        int
	addr     string
	logPath  string
	outPath  string
	cmd      *exec.Cmd
	done     chan struct{}
	err      error // from Wait, valid once done is closed
	graceful bool  // stopped by SIGTERM and exited 0
	killed   bool

	mu         sync.Mutex
	requestIDs []string // X-Request-Id of every response it sent
}

var serverSeq atomic.Int32

// startServer starts a server for the top-level test t; when t ends it is
// stopped (SIGTERM, exit 0 required) and its logs are checked.
func startServer(t *testing.T, v *openapitest.Validator, opts options) *server {
	t.Helper()
	name := regexp.MustCompile(`[^A-Za-z0-9_-]+`).ReplaceAllString(t.Name(), "_")
	s := &server{
		name:     name,
		dir:      filepath.Join(suite.dir, fmt.Sprintf("%s-%d", name, serverSeq.Add(1))),
		adminKey: secret("admin API key", "sk_admin_"+randHex(16)),
		storeKey: secret("store API key", "sk_store_"+randHex(16)),
		opts:     opts,
		v:        v,
	}
	s.dataDir = filepath.Join(s.dir, "data")
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s.running() {
			s.stop(t)
		}
		s.checkLogs(t)
	})
	s.start(t)
	return s
}

func (s *server) running() bool {
	if s.cur == nil {
		return false
	}
	select {
	case <-s.cur.done:
		return false
	default:
		return true
	}
}

// childEnv is our environment without SUBLEDGER_* settings, which would
// change the server's configuration.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SUBLEDGER_") {
			env = append(env, kv)
		}
	}
	return env
}

// start runs a new process on the server's data directory, listening on a
// port of the kernel's choosing (read from its start-up log line), and
// waits until /readyz answers 200.
func (s *server) start(t testing.TB) {
	t.Helper()
	if s.running() {
		t.Fatalf("%s: start: already running", s.name)
	}
	bin := binary(t)
	r := &run{n: len(s.runs) + 1, done: make(chan struct{})}
	r.logPath = filepath.Join(s.dir, fmt.Sprintf("run-%d.stderr.log", r.n))
	r.outPath = filepath.Join(s.dir, fmt.Sprintf("run-%d.stdout.log", r.n))
	logf, err := os.Create(r.logPath)
	if err != nil {
		t.Fatal(err)
	}
	outf, err := os.Create(r.outPath)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"serve",
		"--addr", "127.0.0.1:0",
		"--data-dir", s.dataDir,
		"--api-key", "admin=" + s.adminKey,
		"--api-key", "store=" + s.storeKey,
		"--erasure-grace", "1h",
		"--jobs-interval", "1s",
		"--stripe-webhook-secret", webhookSecret,
	}
	if s.opts.smtpURL != "" {
		args = append(args, "--smtp-url", s.opts.smtpURL)
	}
	if s.opts.stripeURL != "" {
		args = append(args, "--stripe-api-key", stripemocktest.APIKey, "--stripe-api-url", s.opts.stripeURL)
	}
	args = append(args, s.opts.args...)
	r.cmd = exec.Command(bin, args...)
	r.cmd.Env = childEnv()
	r.cmd.Stdout, r.cmd.Stderr = outf, logf // the child writes to the files itself
	setParentDeathSignal(r.cmd)
	err = r.cmd.Start()
	logf.Close()
	outf.Close()
	if err != nil {
		t.Fatalf("%s: start: %v", s.name, err)
	}
	go func() {
		r.err = r.cmd.Wait()
		close(r.done)
	}()
	s.cur = r
	s.runs = append(s.runs, r)

	deadline := time.Now().Add(startTimeout)
	for r.addr == "" {
		r.addr = listenAddr(r.logPath)
		if r.addr != "" {
			break
		}
		select {
		case <-r.done:
			t.Fatalf("%s: exited during start-up (%v); log:\n%s", s.name, r.err, readFile(r.logPath))
		default:
		}
		if time.Now().After(deadline) {
			s.kill(t)
			t.Fatalf("%s: no \"subledger serving\" log line after %s; log:\n%s", s.name, startTimeout, readFile(r.logPath))
		}
		time.Sleep(20 * time.Millisecond)
	}
	suite.mu.Lock()
	suite.runs[r.addr] = r
	suite.mu.Unlock()

	c := s.client(t)
	for {
		res, err := c.try(http.MethodGet, "/readyz", "", nil)
		if err == nil && res.Status == http.StatusOK {
			return
		}
		select {
		case <-r.done:
			t.Fatalf("%s: exited during start-up (%v); log:\n%s", s.name, r.err, readFile(r.logPath))
		default:
		}
		if time.Now().After(deadline) {
			s.kill(t)
			t.Fatalf("%s: /readyz not 200 after %s (last: %v %v); log:\n%s", s.name, startTimeout, res, err, readFile(r.logPath))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// listenAddr returns the address of the "subledger serving" log line.
func listenAddr(logPath string) string {
	f, err := os.Open(logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var line struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "subledger serving" && line.Addr != "" {
			return line.Addr
		}
	}
	return ""
}

// stop sends SIGTERM and requires a clean exit (status 0).
func (s *server) stop(t testing.TB) {
	t.Helper()
	r := s.cur
	if !s.running() {
		t.Fatalf("%s: stop: not running (exit: %v)", s.name, r.err)
	}
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("%s: SIGTERM: %v", s.name, err)
	}
	select {
	case <-r.done:
	case <-time.After(stopTimeout):
		_ = r.cmd.Process.Kill()
		<-r.done
		t.Fatalf("%s: still running %s after SIGTERM; killed. Log:\n%s", s.name, stopTimeout, tail(r.logPath, 30))
	}
	if r.err != nil {
		t.Errorf("%s: exit after SIGTERM: %v, want status 0; log:\n%s", s.name, r.err, tail(r.logPath, 30))
		return
	}
	r.graceful = true
}

// kill sends SIGKILL and waits for the process to be gone.
func (s *server) kill(t testing.TB) {
	t.Helper()
	r := s.cur
	r.killed = true
	_ = r.cmd.Process.Kill()
	select {
	case <-r.done:
	case <-time.After(stopTimeout):
		t.Fatalf("%s: still running %s after SIGKILL", s.name, stopTimeout)
	}
}

// restart stops the server cleanly and starts it again on the same data.
func (s *server) restart(t testing.TB) {
	t.Helper()
	s.stop(t)
	s.start(t)
}

func (s *server) baseURL() string { return "http://" + s.cur.addr }

// logFiles returns every log file of every run.
func (s *server) logFiles() []string {
	var out []string
	for _, r := range s.runs {
		out = append(out, r.logPath, r.outPath)
	}
	return out
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

func tail(p string, n int) string {
	lines := strings.Split(strings.TrimRight(readFile(p), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ---------------------------------------------------------------------
// Log checks.

var addrPattern = regexp.MustCompile(`\b127\.\d{1,3}\.\d{1,3}\.\d{1,3}(:\d+)?`)

// checkLogs checks every log line of every run: JSON; no secret of the
// suite (e-mail, name, password, token, key), in any letter case; no
// client address; a request_id on every request line and, for runs that
// stopped cleanly, a request line for every response the suite received.
func (s *server) checkLogs(t testing.TB) {
	t.Helper()
	secrets := secretsSnapshot()
	suite.mu.Lock()
	clients := make(map[string]bool, len(suite.clientAddrs))
	for a := range suite.clientAddrs {
		clients[a] = true
	}
	suite.mu.Unlock()
	lowered := make(map[string]string, len(secrets))
	for v, what := range secrets {
		lowered[strings.ToLower(v)] = what
	}
	for _, r := range s.runs {
		loggedIDs := map[string]bool{}
		for _, p := range []string{r.logPath, r.outPath} {
			data := readFile(p)
			for i, line := range strings.Split(data, "\n") {
				if line == "" {
					continue
				}
				where := fmt.Sprintf("%s line %d", filepath.Base(p), i+1)
				low := strings.ToLower(line)
				for v, what := range lowered {
					if strings.Contains(low, v) {
						t.Errorf("%s: log holds a %s of the suite: %s", where, what, line)
					}
				}
				for _, m := range addrPattern.FindAllString(line, -1) {
					if clients[m] || (m != "127.0.0.1" && !strings.HasPrefix(m, "127.0.0.1:")) {
						t.Errorf("%s: log holds a client address %s: %s", where, m, line)
					}
				}
				if p == r.outPath {
					continue
				}
				var rec map[string]any
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Errorf("%s: not a JSON log line: %s", where, line)
					continue
				}
				if rec["msg"] == "request" {
					id, _ := rec["request_id"].(string)
					if id == "" {
						t.Errorf("%s: request log line without a request_id: %s", where, line)
					}
					loggedIDs[id] = true
					if strings.Contains(line, "127.0.") {
						t.Errorf("%s: request log line holds an address: %s", where, line)
					}
				}
			}
		}
		if !r.graceful {
			continue // a killed process may not have logged its last requests
		}
		r.mu.Lock()
		missing := 0
		for _, id := range r.requestIDs {
			if !loggedIDs[id] {
				missing++
				if missing <= 5 {
					t.Errorf("%s run %d: no request log line for the response with X-Request-Id %s", s.name, r.n, id)
				}
			}
		}
		if len(r.requestIDs) == 0 {
			t.Errorf("%s run %d: no X-Request-Id on any response", s.name, r.n)
		}
		r.mu.Unlock()
		if missing > 5 {
			t.Errorf("%s run %d: %d responses in all have no request log line", s.name, r.n, missing)
		}
	}
}

// ---------------------------------------------------------------------
// HTTP.

// canAlias reports whether connections can come from 127.0.0.x other than
// 127.0.0.1 (Linux routes all of 127/8 to the loopback interface).
var canAlias = sync.OnceValue(func() bool {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return false
	}
	defer ln.Close()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
	c, err := d.Dial("tcp", ln.Addr().String())
	if err != nil {
		return false
	}
	c.Close()
	return true
})

var aliasSeq atomic.Uint32

// dialer records the local address of every connection (no log may hold
// it). With rotate, each connection comes from another loopback address:
// the server limits sign-ins and reset requests per client address (20 at
// once, then one a second), and the suite signs in far more often than one
// person would.
func dialer(rotate bool) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		d := net.Dialer{Timeout: 10 * time.Second}
		if rotate && canAlias() {
			n := aliasSeq.Add(1)
			d.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, byte(1+n/250%250), byte(2+n%250))}
		}
		c, err := d.DialContext(ctx, network, addr)
		if err == nil {
			suite.mu.Lock()
			suite.clientAddrs[c.LocalAddr().String()] = true
			suite.mu.Unlock()
		}
		return c, err
	}
}

// idRecorder notes the X-Request-Id of every response under the run that
// sent it.
type idRecorder struct{ base http.RoundTripper }

func (rt idRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := rt.base.RoundTrip(req)
	if err == nil {
		if id := res.Header.Get("X-Request-Id"); id != "" {
			suite.mu.Lock()
			r := suite.runs[req.URL.Host]
			suite.mu.Unlock()
			if r != nil {
				r.mu.Lock()
				r.requestIDs = append(r.requestIDs, id)
				r.mu.Unlock()
			}
		}
	}
	return res, err
}

var (
	plainTransport = idRecorder{&http.Transport{
		DialContext: dialer(false), MaxIdleConns: 100, MaxIdleConnsPerHost: 32, IdleConnTimeout: 30 * time.Second,
	}}
	rotatingTransport = idRecorder{&http.Transport{DialContext: dialer(true), DisableKeepAlives: true}}
)

// client is an HTTP client of a server for one (sub)test; every exchange
// goes through the OpenAPI validator, which reports to that test.
type client struct {
	t   testing.TB
	s   *server
	hc  *http.Client
	rot *http.Client
}

func (s *server) client(t testing.TB) *client {
	return s.clientFor(t, s.v.ReportTo(t))
}

func (s *server) clientFor(t testing.TB, v *openapitest.Validator) *client {
	return &client{t: t, s: s,
		hc:  &http.Client{Transport: v.Transport(plainTransport), Timeout: requestTimeout},
		rot: &http.Client{Transport: v.Transport(rotatingTransport), Timeout: requestTimeout},
	}
}

// response is a received response, body read.
type response struct {
	t      testing.TB
	what   string
	Status int
	Header http.Header
	Body   []byte
}

func (r *response) String() string {
	if r == nil {
		return "<no response>"
	}
	return fmt.Sprintf("%s -> %d %s", r.what, r.Status, r.Body)
}

// rawBody is a request body sent as is, with Content-Type application/json
// unless a header says otherwise.
type rawBody []byte

// try sends a request: body nil (none), rawBody, or a value encoded as
// JSON; headers are name, value pairs. A token adds "Authorization: Bearer".
func (c *client) try(method, path, token string, body any, headers ...string) (*response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case rawBody:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.s.baseURL()+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	hc := c.hc
	if method == http.MethodPost && (path == "/v1/sessions" || strings.HasPrefix(path, "/v1/password-resets")) {
		hc = c.rot
	}
	res, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	return &response{t: c.t, what: method + " " + path, Status: res.StatusCode, Header: res.Header, Body: data}, nil
}

// do is try that fails the test when no response arrives.
func (c *client) do(method, path, token string, body any, headers ...string) *response {
	c.t.Helper()
	res, err := c.try(method, path, token, body, headers...)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	return res
}

// want stops the test unless the status is want.
func (r *response) want(status int) *response {
	r.t.Helper()
	if r.Status != status {
		r.t.Fatalf("%s: status %d, want %d; body: %s", r.what, r.Status, status, r.Body)
	}
	return r
}

// json decodes the body into v, stopping the test when it does not decode.
func (r *response) json(v any) {
	r.t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		r.t.Fatalf("%s: decoding %s: %v", r.what, r.Body, err)
	}
}

type fieldError struct {
	Field string `json:"field"`
	Code  string `json:"code"`
}

type problem struct {
	Type      string       `json:"type"`
	Title     string       `json:"title"`
	Status    int          `json:"status"`
	Detail    string       `json:"detail"`
	Code      string       `json:"code"`
	RequestID string       `json:"request_id"`
	Errors    []fieldError `json:"errors"`
}

// problem checks (without stopping the test) that the response is an
// application/problem+json with the status and code, and returns it.
func (r *response) problem(status int, code string) problem {
	r.t.Helper()
	var p problem
	if r.Status != status {
		r.t.Errorf("%s: status %d, want %d %s; body: %s", r.what, r.Status, status, code, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		r.t.Errorf("%s: Content-Type %q, want application/problem+json", r.what, ct)
	}
	if err := json.Unmarshal(r.Body, &p); err != nil {
		r.t.Errorf("%s: not a problem: %v: %s", r.what, err, r.Body)
		return p
	}
	if p.Code != code {
		r.t.Errorf("%s: code %q, want %q; body: %s", r.what, p.Code, code, r.Body)
	}
	if p.Status != r.Status || p.Type == "" || p.Title == "" || p.Detail == "" {
		r.t.Errorf("%s: incomplete problem (type, title, status, detail): %s", r.what, r.Body)
	}
	return p
}

// fields returns the field names of a validation problem.
func (p problem) fields() []string {
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Field)
	}
	slices.Sort(out)
	return out
}

// ---------------------------------------------------------------------
// The people of the suite.

// person is a customer; every value is distinctive and recorded as a
// secret.
type person struct {
	Name, Company, Email, Password string
	ID, Token                      string
}

func newPerson(tag string) *person {
	r := randHex(5)
	return &person{
		Name:     secret("name", "Zebulon Quixotic-"+tag+"-"+r),
		Company:  secret("company", "Quixotic Zebra Works "+tag+" "+r),
		Email:    secret("e-mail address", "zq."+tag+"."+r+"@quixotic.example"),
		Password: secret("password", "pw-"+randHex(10)),
	}
}

func (p *person) signUpBody() map[string]any {
	return map[string]any{"name": p.Name, "company": p.Company, "email": p.Email, "password": p.Password}
}

type account struct {
	ID               string  `json:"id"`
	Status           string  `json:"status"`
	Name             *string `json:"name"`
	Company          *string `json:"company"`
	Email            *string `json:"email"`
	MarketingConsent bool    `json:"marketing_consent"`
	CreatedAt        string  `json:"created_at"`
	UpdatedAt        string  `json:"updated_at"`
	ErasedAt         *string `json:"erased_at"`
}

func str(p *string) string {
	if p == nil {
		return "<null>"
	}
	return *p
}

// signUp creates p's account with the store key.
func (c *client) signUp(p *person) account {
	c.t.Helper()
	var a account
	c.do(http.MethodPost, "/v1/accounts", c.s.storeKey, p.signUpBody()).want(http.StatusCreated).json(&a)
	if a.ID == "" {
		c.t.Fatalf("sign-up: no id")
	}
	p.ID = a.ID
	return a
}

type session struct {
	Token     string `json:"token"`
	AccountID string `json:"account_id"`
	ExpiresAt string `json:"expires_at"`
}

// signIn starts a session for p with its current password and keeps the
// token in p.Token.
func (c *client) signIn(p *person) string {
	c.t.Helper()
	var s session
	creds := map[string]any{"email": p.Email, "password": p.Password}
	res := c.do(http.MethodPost, "/v1/sessions", "", creds)
	// Without loopback aliases every sign-in comes from one address, which
	// the server limits to 20 at once and then one a second: wait as told.
	for i := 0; res.Status == http.StatusTooManyRequests && !canAlias() && i < 60; i++ {
		wait, _ := strconv.Atoi(res.Header.Get("Retry-After"))
		time.Sleep(time.Duration(max(wait, 1)) * time.Second)
		res = c.do(http.MethodPost, "/v1/sessions", "", creds)
	}
	res.want(http.StatusCreated).json(&s)
	if s.Token == "" || s.AccountID != p.ID {
		c.t.Fatalf("sign-in of %s: token %q, account_id %q, want %q", p.ID, s.Token, s.AccountID, p.ID)
	}
	p.Token = secret("session token", s.Token)
	return s.Token
}

// getAccount reads an account with the admin key.
func (c *client) getAccount(id string) (account, []byte) {
	c.t.Helper()
	var a account
	res := c.do(http.MethodGet, "/v1/accounts/"+id, c.s.adminKey, nil).want(http.StatusOK)
	res.json(&a)
	return a, res.Body
}

type stats struct {
	Position uint64           `json:"position"`
	Accounts map[string]int64 `json:"accounts"`
}

// stats reads /v1/stats with the admin key.
func (c *client) stats() stats {
	c.t.Helper()
	var s stats
	c.do(http.MethodGet, "/v1/stats", c.s.adminKey, nil).want(http.StatusOK).json(&s)
	return s
}

// unchanged checks that nothing was written since before: the position of
// the projections and the account counts are the same.
func (c *client) unchanged(before stats, after string) {
	c.t.Helper()
	now := c.stats()
	if now.Position != before.Position || !equalCounts(now.Accounts, before.Accounts) {
		c.t.Errorf("after %s: stats changed: position %d -> %d, accounts %v -> %v", after, before.Position, now.Position, before.Accounts, now.Accounts)
	}
}

func equalCounts(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// ---------------------------------------------------------------------
// Scanning files for values.

// needle is a byte string a scan looks for, and what it stands for.
type needle struct {
	what string
	b    []byte
}

// needlesFor returns v as it may be stored: plain, lower-case, hex, and
// standard and URL base64 at each of the three alignments it can have
// inside a longer encoded blob (the groups shared with neighbouring bytes
// dropped).
func needlesFor(what, v string) []needle {
	out := []needle{{what, []byte(v)}}
	if l := strings.ToLower(v); l != v {
		out = append(out, needle{what + " (lower-case)", []byte(l)})
	}
	out = append(out, needle{what + " (hex)", []byte(hex.EncodeToString([]byte(v)))})
	if len(v) >= 12 {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
			for pad := 0; pad < 3; pad++ {
				e := enc.EncodeToString(append(make([]byte, pad), v...))
				start := 0
				if pad > 0 {
					start = 4
				}
				e = e[start : len(e)-4]
				out = append(out, needle{fmt.Sprintf("%s (base64, offset %d)", what, pad), []byte(e)})
			}
		}
	}
	return out
}

// finding is a needle found in a file.
type finding struct {
	path   string
	offset int
	what   string
}

// scan returns every place under roots (directories or files) where a
// needle occurs.
func scan(t testing.TB, roots []string, needles []needle) []finding {
	t.Helper()
	var out []finding
	look := func(path string) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("scan: %v", err)
			return
		}
		for _, n := range needles {
			if i := bytes.Index(data, n.b); i >= 0 {
				out = append(out, finding{path, i, n.what})
			}
		}
	}
	for _, root := range roots {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() {
				look(path)
			}
			return nil
		})
		if err != nil {
			t.Errorf("scan %s: %v", root, err)
		}
	}
	return out
}

// ---------------------------------------------------------------------
// A testing.TB that keeps some errors back.

// lenient collects the errors of a stretch of test (the OpenAPI
// validator's during a kill -9, where a response cut short is expected)
// to hand on the ones that matter afterwards.
type lenient struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (l *lenient) Errorf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, fmt.Sprintf(format, args...))
}

func (l *lenient) Helper() {}
