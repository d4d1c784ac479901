package api_test

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
	"net/http/httptest"
	"path/filepath"
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
	"github.com/aseptsoft/subledger/projections"
	"github.com/aseptsoft/subledger/stripe"
	"github.com/aseptsoft/subledger/stripe/stripemocktest"
)

const (
	adminKey      = "test-admin-key-0123456789"
	storeKey      = "test-store-key-0123456789"
	webhookSecret = "whsec_test_0123456789"
)

// env is a real stack in a temp dir: the embedded store, the slot-file key
// ring, the codec, the projector running, the domain service and the API
// on an httptest server bound to 127.0.0.1.
type env struct {
	t     testing.TB
	url   string
	svc   *domain.Service
	proj  *projections.Projector
	store *embedded.Store
	ring  keyring.Ring
	logs  *syncBuffer
	clock *clock
	srv   *api.Server
	// storeDir is the embedded store's directory inside the data dir.
	storeDir string
}

// clock is a settable clock; zero means the real time.
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

type envOption func(*api.Config)

func newEnv(t testing.TB, opts ...envOption) *env {
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
		// Cheap hashes keep the tests fast; the parameters are not what is tested.
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
	cfg := api.Config{
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
		APIKeys:        []api.APIKey{{Role: "admin", Key: adminKey}, {Role: "store", Key: storeKey}},
		Logger:         logger, Now: clk.now,
	}
	verifier, err := stripe.NewVerifier(webhookSecret)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Webhooks = &stripe.Webhooks{Verifier: verifier, Applier: &stripe.Applier{Service: svc, Translator: stripe.NewTranslator(catalog.Products())}}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := api.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
		cancel()
		<-done
		ring.Close()
		store.Close()
	})
	<-proj.Ready()
	return &env{t: t, url: hs.URL, svc: svc, proj: proj, store: store, ring: ring, logs: logs, clock: clk, srv: srv, storeDir: filepath.Join(dir, "events")}
}

// with returns the env reporting to t (a subtest).
func (e *env) with(t testing.TB) *env {
	c := *e
	c.t = t
	return &c
}

// withStripe points the server's Stripe calls at baseURL (stripe-mock, or
// a closed port).
func withStripe(t testing.TB, baseURL string) envOption {
	client, err := stripe.NewClient(stripe.ClientConfig{APIKey: stripemocktest.APIKey, BaseURL: baseURL, MaxNetworkRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	return func(c *api.Config) { c.Payments = stripe.Payments{Client: client} }
}

// generousLimits lifts the sign-in rate limits for tests of other things.
func generousLimits(c *api.Config) {
	c.SignInLimit = api.SignInLimit{PerClient: 1e6, ClientBurst: 1e6, PerEmail: 1e6, EmailBurst: 1e6}
}

// response is a decoded answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	return m
}

func (r response) code(t testing.TB) string {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("status %d with content type %q, want application/problem+json: %s", r.status, ct, r.body)
	}
	c, _ := r.json(t)["code"].(string)
	return c
}

// do sends a request; body is JSON-encoded unless it is a string or []byte.
func (e *env) do(method, path, token string, body any, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
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
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: raw}
}

// signUp registers an account through the API and returns its id.
func (e *env) signUp(name, email, password string) string {
	e.t.Helper()
	r := e.do("POST", "/v1/accounts", storeKey, map[string]any{"name": name, "email": email, "password": password})
	if r.status != http.StatusCreated {
		e.t.Fatalf("sign-up: %d %s", r.status, r.body)
	}
	return r.json(e.t)["id"].(string)
}

// signIn starts a session and returns its token.
func (e *env) signIn(email, password string) string {
	e.t.Helper()
	r := e.do("POST", "/v1/sessions", "", map[string]any{"email": email, "password": password})
	if r.status != http.StatusCreated {
		e.t.Fatalf("sign-in: %d %s", r.status, r.body)
	}
	return r.json(e.t)["token"].(string)
}
