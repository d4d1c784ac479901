// Package mailpittest runs a real Mailpit server (the module's `go tool
// mailpit`) for tests, and reads what it received through its HTTP API.
package mailpittest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// startTimeout bounds how long Start waits for both ports to answer.
const startTimeout = 20 * time.Second

// Server is a running Mailpit instance, stopped when the test that started
// it ends.
type Server struct {
	smtpAddr string // 127.0.0.1:port
	httpBase string // http://127.0.0.1:port
	client   *http.Client
}

// Message is a message Mailpit received.
type Message struct {
	ID       string   // Mailpit's database id
	From     string   // the From address
	To       []string // the To addresses
	Subject  string   // decoded
	Text     string   // the decoded text body
	Username string   // the SMTP AUTH user name, if the client authenticated
}

// Start runs Mailpit on two free loopback ports, with its database in a
// temporary directory, waits until it accepts connections, and stops it when
// the test ends. Any args are passed to Mailpit after the defaults (see
// `go tool mailpit --help`), e.g. "--smtp-auth-accept-any".
func Start(t testing.TB, args ...string) *Server {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatalf("mailpittest: %v", err)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		s, err := start(t, bin, args)
		if err == nil {
			return s
		}
		// Most likely a port picked was taken before Mailpit bound it.
		lastErr = err
	}
	t.Fatalf("mailpittest: %v", lastErr)
	return nil
}

func start(t testing.TB, bin []string, args []string) (*Server, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	smtpAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	httpAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))
	dir := t.TempDir() // removed after the process is stopped (cleanups run last-in first-out)

	argv := append([]string{}, bin[1:]...)
	argv = append(argv,
		"--smtp", smtpAddr,
		"--listen", httpAddr,
		"--database", filepath.Join(dir, "mailpit.db"),
		"--disable-version-check",
		"--smtp-disable-rdns",
	)
	argv = append(argv, args...)
	cmd := exec.Command(bin[0], argv...)
	cmd.Env = environ(dir)
	cmd.Dir = dir
	var logs lockedBuffer
	cmd.Stdout = &logs
	cmd.Stderr = &logs
	setParentDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start mailpit: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}

	s := &Server{
		smtpAddr: smtpAddr,
		httpBase: "http://" + httpAddr,
		client:   &http.Client{Timeout: 5 * time.Second},
	}
	if err := s.waitReady(exited); err != nil {
		stop()
		return nil, fmt.Errorf("%w; mailpit output:\n%s", err, logs.String())
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("mailpit output:\n%s", logs.String())
		}
	})
	return s, nil
}

// waitReady polls until the SMTP port accepts a connection and the HTTP
// server answers /readyz with 200.
func (s *Server) waitReady(exited <-chan struct{}) error {
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-exited:
			return errors.New("mailpit exited during start-up")
		default:
		}
		if s.ready() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("mailpit not ready after %s", startTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *Server) ready() bool {
	conn, err := net.DialTimeout("tcp", s.smtpAddr, time.Second)
	if err != nil {
		return false
	}
	_ = conn.Close()
	resp, err := s.client.Get(s.httpBase + "/readyz")
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// SMTPURL returns the URL of the SMTP server, smtp://127.0.0.1:port.
func (s *Server) SMTPURL() string { return "smtp://" + s.smtpAddr }

// SMTPAddr returns the host:port of the SMTP server.
func (s *Server) SMTPAddr() string { return s.smtpAddr }

// HTTPURL returns the base URL of the web UI and API, http://127.0.0.1:port.
func (s *Server) HTTPURL() string { return s.httpBase }

// Messages returns every message received so far, newest first.
func (s *Server) Messages(ctx context.Context) ([]Message, error) {
	// GET /api/v1/messages (limit=0: all) -> apiv1.MessagesSummary.
	var list struct {
		Messages []struct {
			ID string `json:"ID"`
		} `json:"messages"`
	}
	if err := s.getJSON(ctx, "/api/v1/messages?limit=0", &list); err != nil {
		return nil, err
	}
	out := make([]Message, 0, len(list.Messages))
	for _, sum := range list.Messages {
		m, err := s.message(ctx, sum.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// address is net/mail.Address as Mailpit encodes it.
type address struct {
	Name    string `json:"Name"`
	Address string `json:"Address"`
}

func (s *Server) message(ctx context.Context, id string) (Message, error) {
	// GET /api/v1/message/{ID} -> storage.Message.
	var m struct {
		ID       string    `json:"ID"`
		From     *address  `json:"From"`
		To       []address `json:"To"`
		Subject  string    `json:"Subject"`
		Text     string    `json:"Text"`
		Username string    `json:"Username"`
	}
	if err := s.getJSON(ctx, "/api/v1/message/"+url.PathEscape(id), &m); err != nil {
		return Message{}, err
	}
	msg := Message{ID: m.ID, Subject: m.Subject, Text: m.Text, Username: m.Username}
	if m.From != nil {
		msg.From = m.From.Address
	}
	for _, a := range m.To {
		msg.To = append(msg.To, a.Address)
	}
	return msg, nil
}

// Raw returns the message with the given ID exactly as it was received
// (headers and encoded body).
func (s *Server) Raw(ctx context.Context, id string) ([]byte, error) {
	return s.get(ctx, "/api/v1/message/"+url.PathEscape(id)+"/raw")
}

// WaitFor polls Mailpit until a message matches, and returns it; it fails
// the test if none does within timeout.
func (s *Server) WaitFor(t testing.TB, match func(Message) bool, timeout time.Duration) Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var (
		seen    int
		lastErr error
	)
	for {
		msgs, err := s.Messages(ctx)
		if ctx.Err() == nil {
			lastErr = err // not the error of a request cut short by the timeout
		}
		if err == nil {
			seen = len(msgs)
			for _, m := range msgs {
				if match(m) {
					return m
				}
			}
		}
		select {
		case <-ctx.Done():
			if lastErr != nil {
				t.Fatalf("mailpittest: no matching message within %s (%d messages received; last error: %v)", timeout, seen, lastErr)
			}
			t.Fatalf("mailpittest: no matching message within %s (%d messages received)", timeout, seen)
			return Message{}
		case <-time.After(25 * time.Millisecond):
		}
	}
}

func (s *Server) getJSON(ctx context.Context, path string, v any) error {
	body, err := s.get(ctx, path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("mailpittest: GET %s: %w", path, err)
	}
	return nil
}

func (s *Server) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.httpBase+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("mailpittest: GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("mailpittest: GET %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("mailpittest: GET %s: %s: %s", path, resp.Status, bytes.TrimSpace(body))
	}
	return body, nil
}
