package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aseptsoft/subledger/api"
	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/eventstore/repository"
	"github.com/aseptsoft/subledger/mail"
)

// apiConfig is the configuration of the REST API (API.md's "Running"
// table); the Stripe settings are accepted and kept for the Stripe work.
type apiConfig struct {
	Catalog             string
	APIKeys             keyList
	StripeWebhookSecret multiString
	StripeAPIKey        string
	StripeAPIURL        string
	SMTPURL             string
	MailFrom            string
	ResetURL            string
	SessionIdle         time.Duration
	SessionMaxAge       time.Duration
}

func (c *apiConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.Catalog, "catalog", "", "JSON file {\"products\": [...]} (default: a built-in example catalogue)")
	fs.Var(&c.APIKeys, "api-key", "ROLE=KEY service key, role admin or store; repeatable (or SUBLEDGER_API_KEYS=\"admin=K1,store=K2\")")
	fs.Var(&c.StripeWebhookSecret, "stripe-webhook-secret", "Stripe webhook endpoint secret; repeatable, to roll a secret")
	fs.StringVar(&c.StripeAPIKey, "stripe-api-key", "", "Stripe secret API key")
	fs.StringVar(&c.StripeAPIURL, "stripe-api-url", "https://api.stripe.com", "Stripe API base URL (stripe-mock in tests)")
	fs.StringVar(&c.SMTPURL, "smtp-url", "", "smtp://user:pass@host:port for password-reset mail (none: resets answer 503 mail_unavailable)")
	fs.StringVar(&c.MailFrom, "mail-from", "subledger@localhost", "sender address of password-reset mail")
	fs.StringVar(&c.ResetURL, "reset-url", "", "link put in reset mail, the token appended (default: the token alone)")
	fs.DurationVar(&c.SessionIdle, "session-idle", 2*time.Hour, "a session ends after this long without use")
	fs.DurationVar(&c.SessionMaxAge, "session-max-age", 7*24*time.Hour, "a session ends this long after sign-in")
}

// keyList is the repeatable --api-key ROLE=KEY; a value may also list
// several, comma-separated (SUBLEDGER_API_KEYS).
type keyList []api.APIKey

func (k *keyList) String() string { return fmt.Sprintf("%d keys", len(*k)) }

func (k *keyList) Set(v string) error {
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		role, key, ok := strings.Cut(part, "=")
		if !ok || (role != "admin" && role != "store") {
			return errors.New("want ROLE=KEY with role admin or store")
		}
		if len(key) < 16 {
			return errors.New("a service key must be at least 16 characters")
		}
		*k = append(*k, api.APIKey{Role: role, Key: key})
	}
	return nil
}

// multiString is a repeatable string flag.
type multiString []string

func (m *multiString) String() string { return fmt.Sprintf("%d values", len(*m)) }
func (m *multiString) Set(v string) error {
	*m = append(*m, v)
	return nil
}

// loadCatalog reads --catalog, or returns the built-in example.
func loadCatalog(path string) (*domain.Catalog, error) {
	if path == "" {
		return domain.NewCatalog(domain.ExampleCatalog())
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--catalog: %w", err)
	}
	var file struct {
		Products []domain.Product `json:"products"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		return nil, fmt.Errorf("--catalog %s: %w", path, err)
	}
	c, err := domain.NewCatalog(file.Products)
	if err != nil {
		return nil, fmt.Errorf("--catalog %s: %w", path, err)
	}
	return c, nil
}

// randomKey returns a new random service key.
func randomKey(prefix string) string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// mailer adapts the SMTP sender to the API.
type mailer struct{ s *mail.Sender }

func (m mailer) Send(ctx context.Context, to, subject, body string) error {
	return m.s.Send(ctx, mail.Message{To: to, Subject: subject, Body: body})
}

// history adapts the repository's stream history to the API.
func history(repo *repository.Repository) func(ctx context.Context, stream string, from int64, limit int) ([]api.RecordedEvent, error) {
	return func(ctx context.Context, stream string, from int64, limit int) ([]api.RecordedEvent, error) {
		recs, err := repo.History(ctx, stream, from, limit)
		if err != nil {
			return nil, err
		}
		out := make([]api.RecordedEvent, len(recs))
		for i, r := range recs {
			out[i] = api.RecordedEvent{ID: r.ID, Type: r.Type, Stream: r.Stream, Version: r.Version, Position: r.Position,
				RecordedAt: r.RecordedAt, Erased: r.Erased, Event: r.Event}
		}
		return out, nil
	}
}

// timedStore measures the domain's appends (durable writes) for /metrics.
type timedStore struct {
	domain.Store
	appends prometheus.Histogram
}

func (t timedStore) Append(ctx context.Context, stream string, expected int64, events []domain.Event, meta domain.Meta) (uint64, error) {
	start := time.Now()
	pos, err := t.Store.Append(ctx, stream, expected, events, meta)
	t.appends.Observe(time.Since(start).Seconds())
	return pos, err
}
