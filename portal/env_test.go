package portal_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aseptsoft/subledger/api"
	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/eventstore/codec"
	"github.com/aseptsoft/subledger/eventstore/embedded"
	"github.com/aseptsoft/subledger/eventstore/keyring"
	"github.com/aseptsoft/subledger/eventstore/repository"
	"github.com/aseptsoft/subledger/portal"
	"github.com/aseptsoft/subledger/projections"
)

const storeKey = "test-store-key-0123456789"

// env is a real stack in a temp dir (the embedded store, the key ring, the
// projector, the domain service, the API) with the portal in front, on an
// httptest server bound to 127.0.0.1.
type env struct {
	t     testing.TB
	url   string
	svc   *domain.Service
	proj  *projections.Projector
	clock *clock
	logs  *syncBuffer
	mail  *mailbox
	// handler is what the server serves (the portal in front of the API).
	handler http.Handler
}

type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// mailbox keeps the mails the API sends (the end-to-end tests use mailpit).
type mailbox struct {
	mu    sync.Mutex
	sent  []string
	ready chan struct{}
}

func (m *mailbox) Send(_ context.Context, to, subject, body string) error {
	m.mu.Lock()
	m.sent = append(m.sent, body)
	m.mu.Unlock()
	m.ready <- struct{}{}
	return nil
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvWith(t, api.SignInLimit{PerClient: 1e6, ClientBurst: 1e6, PerEmail: 1e6, EmailBurst: 1e6})
}

// newEnvWith is newEnv with the API's sign-in limits (zero: its defaults).
func newEnvWith(t testing.TB, limits api.SignInLimit) *env {
	t.Helper()
	dir := t.TempDir()
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	store, err := embedded.Open(filepath.Join(dir, "events"), embedded.Config{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	master, _, err := keyring.LoadOrCreateMasterKey(filepath.Join(dir, "master.key"), true, nil)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.OpenFileRing(context.Background(), filepath.Join(dir, "keyring"), master, store, keyring.Config{})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := repository.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	repo := repository.New(store, codec.New(reg, ring, codec.Config{}))
	_, signing, _ := ed25519.GenerateKey(rand.Reader)
	clk := &clock{}
	svc, err := domain.NewService(domain.Config{
		Store: repo, Secret: master.Derive("server-secret"), LicenseSigningKey: signing,
		Passwords: domain.Argon2id{Time: 1, MemoryKiB: 64, Threads: 1}, Now: clk.now,
		Pseudonyms: repository.Pseudonyms{Ring: ring},
	})
	if err != nil {
		t.Fatal(err)
	}
	proj, err := projections.New(projections.Config{Decoder: repo, Observe: ring.Observe, Now: clk.now, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := proj.Run(ctx, store); err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("projector: %v", err)
		}
	}()
	catalog, err := domain.NewCatalog(domain.ExampleCatalog())
	if err != nil {
		t.Fatal(err)
	}
	mb := &mailbox{ready: make(chan struct{}, 16)}
	srv, err := api.New(api.Config{
		Service: svc, Projections: proj, Catalog: catalog, LicensePublicKey: signing.Public().(ed25519.PublicKey),
		History: func(ctx context.Context, stream string, from int64, limit int) ([]api.RecordedEvent, error) {
			recs, err := repo.History(ctx, stream, from, limit)
			out := make([]api.RecordedEvent, len(recs))
			for i, r := range recs {
				out[i] = api.RecordedEvent{ID: r.ID, Type: r.Type, Stream: r.Stream, Version: r.Version, Position: r.Position, RecordedAt: r.RecordedAt, Erased: r.Erased, Event: r.Event}
			}
			return out, err
		},
		Shred:          func(ctx context.Context, id string) error { return repository.ShredAccount(ctx, ring, id) },
		ShredAffiliate: func(ctx context.Context, id string) error { return repository.ShredAffiliate(ctx, ring, id) },
		APIKeys:        []api.APIKey{{Role: "store", Key: storeKey}},
		Logger:         logger, Now: clk.now, Mailer: mb,
		SignInLimit: limits,
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := portal.New(portal.Config{API: srv, Logger: logger, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	handler := portal.Mount(srv, p)
	hs := httptest.NewServer(handler)
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
		cancel()
		<-done
		ring.Close()
		store.Close()
	})
	<-proj.Ready()
	return &env{t: t, url: hs.URL, svc: svc, proj: proj, clock: clk, logs: logs, mail: mb, handler: handler}
}

// apiDo calls the REST API as the store.
func (e *env) apiDo(method, path string, body any) (int, map[string]any) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, e.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+storeKey)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m
}

// signUp registers an account and returns its id.
func (e *env) signUp(name, email string) string {
	e.t.Helper()
	st, m := e.apiDo("POST", "/v1/accounts", map[string]any{"name": name, "email": email, "password": "the password!"})
	if st != 201 {
		e.t.Fatalf("sign-up: %d %v", st, m)
	}
	return m["id"].(string)
}

// portalLink makes a portal link as the store.
func (e *env) portalLink(accountID string) string {
	e.t.Helper()
	st, m := e.apiDo("POST", "/v1/portal-sessions", map[string]any{"account_id": accountID})
	if st != 201 {
		e.t.Fatalf("portal session: %d %v", st, m)
	}
	return m["url"].(string)
}

// browser is a client with a cookie jar that sends the portal's origin on
// its forms, as a browser does.
type browser struct {
	e    *env
	c    *http.Client
	last string // the body of the last page
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (b *browser) get(path string) page {
	b.e.t.Helper()
	u := path
	if !strings.HasPrefix(path, "http") {
		u = b.e.url + path
	}
	res, err := b.c.Get(u)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	b.last = string(raw)
	return page{res.StatusCode, res.Header, string(raw)}
}

// post sends a form; headers replace the browser's Origin (give "Origin",
// "" to send none).
func (b *browser) post(path string, form url.Values, headers ...string) page {
	b.e.t.Helper()
	req, _ := http.NewRequest("POST", b.e.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.e.url)
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return page{res.StatusCode, res.Header, string(raw)}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf returns the CSRF token of the last page.
func (b *browser) csrf() string {
	b.e.t.Helper()
	m := csrfField.FindStringSubmatch(b.last)
	if m == nil {
		b.e.t.Fatalf("no CSRF token on the page:\n%s", b.last)
	}
	return m[1]
}

// signedIn opens a fresh portal link for accountID and the account page.
func (b *browser) signedIn(accountID string) {
	b.e.t.Helper()
	if p := b.get(b.e.portalLink(accountID)); p.status != 200 {
		b.e.t.Fatalf("link: %d %s", p.status, p.body)
	}
	if p := b.get("/portal/account"); p.status != 200 {
		b.e.t.Fatalf("account page: %d %s", p.status, p.body)
	}
}
