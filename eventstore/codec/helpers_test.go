package codec_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/aseptsoft/subledger/eventstore"
	"github.com/aseptsoft/subledger/eventstore/codec"
	"github.com/aseptsoft/subledger/eventstore/embedded"
	"github.com/aseptsoft/subledger/eventstore/keyring"
)

// The test event types stand in for the domain's. They must not change:
// the golden files were encoded from them.

// accountRegistered is version 2: "mail" was renamed "email" and "company"
// was added.
type accountRegistered struct {
	AccountID string    `json:"account_id"`
	Name      string    `json:"name" personal:"true"`
	Email     string    `json:"email" personal:"true"`
	Company   string    `json:"company,omitempty" personal:"true"`
	Plan      string    `json:"plan"`
	Consent   bool      `json:"marketing_consent"`
	At        time.Time `json:"registered_at"`
}

func (accountRegistered) EventType() string     { return "AccountRegistered" }
func (e accountRegistered) DataSubject() string { return e.AccountID }

// accountRegisteredV1 is how accountRegistered looked in version 1.
type accountRegisteredV1 struct {
	AccountID string    `json:"account_id"`
	Name      string    `json:"name" personal:"true"`
	Mail      string    `json:"mail" personal:"true"`
	Plan      string    `json:"plan"`
	Consent   bool      `json:"marketing_consent"`
	At        time.Time `json:"registered_at"`
}

func (accountRegisteredV1) EventType() string     { return "AccountRegistered" }
func (e accountRegisteredV1) DataSubject() string { return e.AccountID }

// licensePurchased has no personal data.
type licensePurchased struct {
	LicenseID string    `json:"license_id"`
	AccountID string    `json:"account_id"`
	ProductID string    `json:"product_id"`
	Quantity  int       `json:"quantity"`
	Amount    int64     `json:"amount"`
	Currency  string    `json:"currency"`
	At        time.Time `json:"purchased_at"`
}

func (licensePurchased) EventType() string { return "LicensePurchased" }

// stripeLink is decoded as a pointer, has its methods on the pointer and
// embeds a struct.
type stripeLink struct {
	envelope
	CustomerID string `json:"stripe_customer_id" personal:"true"`
	IP         string `json:"ip,omitempty" personal:"true"`
	Source     string `json:"source"`
}

type envelope struct {
	AccountID string `json:"account_id"`
	Seq       int    `json:"seq"`
}

func (*stripeLink) EventType() string     { return "StripeCustomerLinked" }
func (e *stripeLink) DataSubject() string { return e.AccountID }

// accountRegisteredIntPlan is a wrong declaration of accountRegistered:
// its plan is a number.
type accountRegisteredIntPlan struct {
	AccountID string `json:"account_id"`
	Name      string `json:"name" personal:"true"`
	Plan      int    `json:"plan"`
}

func (accountRegisteredIntPlan) EventType() string     { return "AccountRegistered" }
func (e accountRegisteredIntPlan) DataSubject() string { return e.AccountID }

// affiliateRegistered was once called "AffiliateSignedUp".
type affiliateRegistered struct {
	AffiliateID string `json:"affiliate_id"`
	Name        string `json:"name" personal:"true"`
	RateBPS     int    `json:"commission_rate_bps"`
}

func (affiliateRegistered) EventType() string     { return "AffiliateRegistered" }
func (e affiliateRegistered) DataSubject() string { return e.AffiliateID }

type affiliateSignedUp struct {
	AffiliateID string `json:"affiliate_id"`
	Name        string `json:"name" personal:"true"`
	RateBPS     int    `json:"commission_rate_bps"`
}

func (affiliateSignedUp) EventType() string     { return "AffiliateSignedUp" }
func (e affiliateSignedUp) DataSubject() string { return e.AffiliateID }

// currentTypes is the registry of today's build.
func currentTypes() []codec.Type {
	return []codec.Type{
		{Prototype: accountRegistered{}, Version: 2, Upcasters: []codec.Upcaster{codec.RenameField("mail", "email")}},
		{Prototype: licensePurchased{}},
		{Prototype: &stripeLink{}},
		{Prototype: affiliateRegistered{}, Aliases: []string{"AffiliateSignedUp"}},
	}
}

// oldTypes is the registry of an older build: version 1 of
// AccountRegistered, and AffiliateSignedUp under its old name.
func oldTypes() []codec.Type {
	return []codec.Type{
		{Prototype: accountRegisteredV1{}},
		{Prototype: affiliateSignedUp{}},
	}
}

func registry(t testing.TB, types []codec.Type) *codec.Registry {
	t.Helper()
	r := codec.NewRegistry()
	if err := r.Register(types...); err != nil {
		t.Fatal(err)
	}
	return r
}

// env is a real data directory: an embedded event store, a file key ring
// and a codec.
type env struct {
	dir    string
	store  *embedded.Store
	ring   *keyring.FileRing
	codec  *codec.Codec
	master keyring.MasterKey
}

func newEnv(t testing.TB, dir string, ringCfg keyring.Config) *env {
	t.Helper()
	ctx := context.Background()
	store, err := embedded.Open(filepath.Join(dir, "events"), embedded.Config{})
	if err != nil {
		t.Fatal(err)
	}
	exists, err := keyring.FileRingExists(filepath.Join(dir, "keyring"))
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := keyring.LoadOrCreateMasterKey(filepath.Join(dir, "master.key"), !exists, nil)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.OpenFileRing(ctx, filepath.Join(dir, "keyring"), m, store, ringCfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{dir: dir, store: store, ring: ring, master: m, codec: codec.New(registry(t, currentTypes()), ring, codec.Config{})}
	t.Cleanup(e.close)
	return e
}

func (e *env) close() {
	e.ring.Close()
	e.store.Close()
}

// encode encodes ev for meta.Stream, or for stream "s" (where stored puts
// it) when meta names none.
func (e *env) encode(t testing.TB, ev codec.Typer, meta codec.Meta) eventstore.EventData {
	t.Helper()
	if meta.Stream == "" {
		meta.Stream = "s"
	}
	d, err := e.codec.Encode(context.Background(), ev, meta)
	if err != nil {
		t.Fatalf("Encode %s: %v", ev.EventType(), err)
	}
	return d
}

// stored turns EventData into the Event a store would return, in stream "s".
func stored(d eventstore.EventData) eventstore.Event {
	return eventstore.Event{ID: d.ID, Type: d.Type, Stream: "s", Data: d.Data, Metadata: d.Metadata}
}
