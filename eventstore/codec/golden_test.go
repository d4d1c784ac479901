package codec_test

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/aseptsoft/subledger/eventstore"
	"github.com/aseptsoft/subledger/eventstore/codec"
	"github.com/aseptsoft/subledger/eventstore/embedded"
	"github.com/aseptsoft/subledger/eventstore/keyring"
)

// -update writes the golden files once. They are never rewritten: events
// in stores are never rewritten either, so today's files must decode with
// every later build. To add cases, add a new directory.
var update = flag.Bool("update", false, "write the golden files in testdata/golden if they do not exist yet")

const goldenDir = "testdata/golden"

type golden struct {
	Name     string          `json:"name"`
	ID       string          `json:"id"`
	Type     string          `json:"type"`
	Data     string          `json:"data"`
	Metadata string          `json:"metadata"`
	Erased   bool            `json:"want_erased"`
	GoType   string          `json:"want_go_type"`
	Want     json.RawMessage `json:"want"`
}

func TestGoldenEventsDecodeForever(t *testing.T) {
	if *update {
		writeGolden(t)
	}
	raw, err := os.ReadFile(filepath.Join(goldenDir, "events.json"))
	if err != nil {
		t.Fatalf("%v (create the golden files once with -update)", err)
	}
	var cases []golden
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 6 {
		t.Fatalf("only %d golden events", len(cases))
	}
	// Open a copy of the golden key ring with an empty ledger: the
	// forgotten subject is forgotten by its tombstone slot alone.
	ctx := context.Background()
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join(goldenDir, "keyring", keyring.SlotFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "keyring"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "keyring", keyring.SlotFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	m, _, err := keyring.LoadOrCreateMasterKey(filepath.Join(goldenDir, "master.key"), false, nil)
	if err != nil {
		t.Fatal(err)
	}
	store, err := embedded.Open(filepath.Join(dir, "events"), embedded.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ring, err := keyring.OpenFileRing(ctx, filepath.Join(dir, "keyring"), m, store, keyring.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer ring.Close()
	c := codec.New(registry(t, currentTypes()), ring, codec.Config{})
	for _, g := range cases {
		t.Run(g.Name, func(t *testing.T) {
			ev := eventstore.Event{ID: g.ID, Type: g.Type, Stream: "golden", Data: []byte(g.Data), Metadata: []byte(g.Metadata)}
			got, meta, err := c.Decode(ctx, ev)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if meta.Erased != g.Erased {
				t.Fatalf("erased %v, want %v", meta.Erased, g.Erased)
			}
			if gt := reflect.TypeOf(got).String(); gt != g.GoType {
				t.Fatalf("decoded a %s, want %s", gt, g.GoType)
			}
			gotJSON, _ := json.Marshal(got)
			if !jsonEqual(t, gotJSON, g.Want) {
				t.Fatalf("decoded %s, want %s", gotJSON, g.Want)
			}
		})
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}

func writeGolden(t *testing.T) {
	if _, err := os.Stat(filepath.Join(goldenDir, "events.json")); err == nil {
		t.Log("golden files exist; -update leaves them alone")
		return
	}
	ctx := context.Background()
	if err := os.MkdirAll(goldenDir, 0o755); err != nil {
		t.Fatal(err)
	}
	// A test-only master key, checked in with the files it opens.
	m, created, err := keyring.LoadOrCreateMasterKey(filepath.Join(goldenDir, "master.key"), true, nil)
	if err != nil || !created {
		t.Fatalf("creating the golden master key: created %v, %v", created, err)
	}
	store, err := embedded.Open(t.TempDir(), embedded.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ring, err := keyring.OpenFileRing(ctx, filepath.Join(goldenDir, "keyring"), m, store, keyring.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cur := codec.New(registry(t, currentTypes()), ring, codec.Config{})
	old := codec.New(registry(t, oldTypes()), ring, codec.Config{})
	const (
		alice = "6f1d7c1e-3b8a-4f3e-9a51-2c7e0b9d4a10"
		bob   = "0b6c2f44-91d2-4a7b-8e0e-5d3f1a2b3c4d"
		carol = "9e8d7c6b-5a49-4838-a727-161504f3e2d1"
	)
	meta := codec.Meta{Actor: "store", CorrelationID: "req-golden", CausationID: "cmd-golden"}
	type gen struct {
		name   string
		c      *codec.Codec
		event  codec.Typer
		want   any
		erased bool
	}
	gens := []gen{
		{"account_registered_v2", cur,
			accountRegistered{AccountID: alice, Name: "Alice Goldfile", Email: "alice@golden.example", Company: "Golden Files Ltd", Plan: "pro", Consent: true, At: at},
			accountRegistered{AccountID: alice, Name: "Alice Goldfile", Email: "alice@golden.example", Company: "Golden Files Ltd", Plan: "pro", Consent: true, At: at}, false},
		{"account_registered_v1_upcast_renamed_field", old,
			accountRegisteredV1{AccountID: bob, Name: "Bob Oldschema", Mail: "bob@golden.example", Plan: "team", At: at},
			accountRegistered{AccountID: bob, Name: "Bob Oldschema", Email: "bob@golden.example", Plan: "team", At: at}, false},
		{"license_purchased_plain", cur,
			licensePurchased{LicenseID: "2f0c5a9e-8b7d-4c6e-a5f4-3e2d1c0b9a87", AccountID: alice, ProductID: "desktop-pro", Quantity: 2, Amount: 19800, Currency: "eur", At: at},
			licensePurchased{LicenseID: "2f0c5a9e-8b7d-4c6e-a5f4-3e2d1c0b9a87", AccountID: alice, ProductID: "desktop-pro", Quantity: 2, Amount: 19800, Currency: "eur", At: at}, false},
		{"stripe_link_pointer_embedded", cur,
			&stripeLink{envelope: envelope{AccountID: alice, Seq: 3}, CustomerID: "cus_GoldenAlice", IP: "203.0.113.7", Source: "checkout"},
			&stripeLink{envelope: envelope{AccountID: alice, Seq: 3}, CustomerID: "cus_GoldenAlice", IP: "203.0.113.7", Source: "checkout"}, false},
		{"account_registered_v2_no_personal_values", cur,
			accountRegistered{AccountID: alice, Plan: "free", At: at},
			accountRegistered{AccountID: alice, Plan: "free", At: at}, false},
		{"affiliate_signed_up_renamed_type", old,
			affiliateSignedUp{AffiliateID: bob, Name: "Bob Affiliates", RateBPS: 1250},
			affiliateRegistered{AffiliateID: bob, Name: "Bob Affiliates", RateBPS: 1250}, false},
		{"account_registered_v2_erased", cur,
			accountRegistered{AccountID: carol, Name: "Carol Forgotten", Email: "carol@golden.example", Plan: "pro", At: at},
			accountRegistered{AccountID: carol, Plan: "pro", At: at}, true},
		{"account_registered_v1_erased", old,
			accountRegisteredV1{AccountID: carol, Name: "Carol Forgotten", Mail: "carol@golden.example", Plan: "pro", At: at},
			accountRegistered{AccountID: carol, Plan: "pro", At: at}, true},
	}
	var out []golden
	for _, g := range gens {
		d, err := g.c.Encode(ctx, g.event, meta)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(g.want)
		out = append(out, golden{Name: g.name, ID: d.ID, Type: d.Type, Data: string(d.Data), Metadata: string(d.Metadata),
			Erased: g.erased, GoType: reflect.TypeOf(g.want).String(), Want: want})
	}
	if err := ring.Forget(ctx, carol); err != nil {
		t.Fatal(err)
	}
	if err := ring.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(goldenDir, "events.json"), append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}
