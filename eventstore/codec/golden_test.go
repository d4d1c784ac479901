package codec_test

import (
	"context"
	"encoding/json"
	"errors"
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
var update = flag.Bool("update", false, "write the golden files of the current binding version if they do not exist yet")

// goldenSet is one directory of golden events with the key ring and the
// master key they were written with.
type goldenSet struct {
	dir string
	// binding is the binding version of its events, and the one its key
	// ring requires (MinBindingVersion).
	binding int
}

var goldenSets = []goldenSet{
	// Written by the build before binding version 2 (no binding on events
	// without a personal part, a version 1 binding on the others), with a
	// version 1 key ring. This build cannot write it again.
	{"testdata/golden", 1},
	// Binding version 2 on every event, with a version 2 key ring.
	{"testdata/golden-v2", 2},
}

// currentGoldenBinding is the binding version Encode writes today.
const currentGoldenBinding = 2

type golden struct {
	Name     string          `json:"name"`
	ID       string          `json:"id"`
	Type     string          `json:"type"`
	Stream   string          `json:"stream,omitempty"` // "golden" when empty
	Data     string          `json:"data"`
	Metadata string          `json:"metadata"`
	Erased   bool            `json:"want_erased"`
	GoType   string          `json:"want_go_type"`
	Want     json.RawMessage `json:"want"`
}

func (g golden) event() eventstore.Event {
	stream := g.Stream
	if stream == "" {
		stream = "golden"
	}
	return eventstore.Event{ID: g.ID, Type: g.Type, Stream: stream, Data: []byte(g.Data), Metadata: []byte(g.Metadata)}
}

func readGolden(t *testing.T, dir string) []golden {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "events.json"))
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
	return cases
}

// openGoldenRing opens a copy of the golden key ring of dir with an empty
// ledger: the forgotten subject is forgotten by its tombstone slot alone.
func openGoldenRing(t *testing.T, dir string) *keyring.FileRing {
	t.Helper()
	ctx := context.Background()
	tmp := t.TempDir()
	b, err := os.ReadFile(filepath.Join(dir, "keyring", keyring.SlotFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(tmp, "keyring"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "keyring", keyring.SlotFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	m, _, err := keyring.LoadOrCreateMasterKey(filepath.Join(dir, "master.key"), false, nil)
	if err != nil {
		t.Fatal(err)
	}
	store, err := embedded.Open(filepath.Join(tmp, "events"), embedded.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	ring, err := keyring.OpenFileRing(ctx, filepath.Join(tmp, "keyring"), m, store, keyring.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ring.Close() })
	return ring
}

func TestGoldenEventsDecodeForever(t *testing.T) {
	if *update {
		writeGolden(t)
	}
	ctx := context.Background()
	for _, set := range goldenSets {
		t.Run(filepath.Base(set.dir), func(t *testing.T) {
			cases := readGolden(t, set.dir)
			ring := openGoldenRing(t, set.dir)
			if v := ring.MinBindingVersion(); v != set.binding {
				t.Fatalf("the golden key ring requires binding version %d, want %d", v, set.binding)
			}
			c := codec.New(registry(t, currentTypes()), ring, codec.Config{})
			for _, g := range cases {
				t.Run(g.Name, func(t *testing.T) {
					got, meta, err := c.Decode(ctx, g.event())
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
					if set.binding < 2 {
						return
					}
					// The binding is checked: the same event read from another
					// stream is refused.
					moved := g.event()
					moved.Stream += "-moved"
					if _, _, err := c.Decode(ctx, moved); !errors.Is(err, codec.ErrIntegrity) {
						t.Fatalf("moved to another stream: %v, want ErrIntegrity", err)
					}
				})
			}
		})
	}
}

// TestOldEventsAreRefusedByANewKeyRing: an event without a version 2
// binding cannot come from a store whose key ring was created with version
// 2, so there it is an integrity error, whether it has a personal part or
// not (else stripping a binding would pass any event off as an old one).
func TestOldEventsAreRefusedByANewKeyRing(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, t.TempDir(), keyring.Config{})
	if v := e.ring.MinBindingVersion(); v != 2 {
		t.Fatalf("a new ring requires binding version %d, want 2", v)
	}
	for _, g := range readGolden(t, "testdata/golden") {
		t.Run(g.Name, func(t *testing.T) {
			got, meta, err := e.codec.Decode(ctx, g.event())
			if !errors.Is(err, codec.ErrIntegrity) {
				t.Fatalf("decoded %#v (erased %v), %v; want ErrIntegrity", got, meta.Erased, err)
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

// writeGolden writes the golden set of the current binding version, once.
func writeGolden(t *testing.T) {
	var goldenDir string
	for _, set := range goldenSets {
		if set.binding == currentGoldenBinding {
			goldenDir = set.dir
		}
	}
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
		stream string
	}
	gens := []gen{
		{"account_registered_v2", cur,
			accountRegistered{AccountID: alice, Name: "Alice Goldfile", Email: "alice@golden.example", Company: "Golden Files Ltd", Plan: "pro", Consent: true, At: at},
			accountRegistered{AccountID: alice, Name: "Alice Goldfile", Email: "alice@golden.example", Company: "Golden Files Ltd", Plan: "pro", Consent: true, At: at}, false, "account-" + alice},
		{"account_registered_v1_upcast_renamed_field", old,
			accountRegisteredV1{AccountID: bob, Name: "Bob Oldschema", Mail: "bob@golden.example", Plan: "team", At: at},
			accountRegistered{AccountID: bob, Name: "Bob Oldschema", Email: "bob@golden.example", Plan: "team", At: at}, false, "account-" + bob},
		{"license_purchased_plain", cur,
			licensePurchased{LicenseID: "2f0c5a9e-8b7d-4c6e-a5f4-3e2d1c0b9a87", AccountID: alice, ProductID: "desktop-pro", Quantity: 2, Amount: 19800, Currency: "eur", At: at},
			licensePurchased{LicenseID: "2f0c5a9e-8b7d-4c6e-a5f4-3e2d1c0b9a87", AccountID: alice, ProductID: "desktop-pro", Quantity: 2, Amount: 19800, Currency: "eur", At: at}, false, "license-2f0c5a9e-8b7d-4c6e-a5f4-3e2d1c0b9a87"},
		{"stripe_link_pointer_embedded", cur,
			&stripeLink{envelope: envelope{AccountID: alice, Seq: 3}, CustomerID: "cus_GoldenAlice", IP: "203.0.113.7", Source: "checkout"},
			&stripeLink{envelope: envelope{AccountID: alice, Seq: 3}, CustomerID: "cus_GoldenAlice", IP: "203.0.113.7", Source: "checkout"}, false, "account-" + alice},
		{"account_registered_v2_no_personal_values", cur,
			accountRegistered{AccountID: alice, Plan: "free", At: at},
			accountRegistered{AccountID: alice, Plan: "free", At: at}, false, "account-" + alice},
		{"affiliate_signed_up_renamed_type", old,
			affiliateSignedUp{AffiliateID: bob, Name: "Bob Affiliates", RateBPS: 1250},
			affiliateRegistered{AffiliateID: bob, Name: "Bob Affiliates", RateBPS: 1250}, false, "affiliate-" + bob},
		{"account_registered_v2_erased", cur,
			accountRegistered{AccountID: carol, Name: "Carol Forgotten", Email: "carol@golden.example", Plan: "pro", At: at},
			accountRegistered{AccountID: carol, Plan: "pro", At: at}, true, "account-" + carol},
		{"account_registered_v1_erased", old,
			accountRegisteredV1{AccountID: carol, Name: "Carol Forgotten", Mail: "carol@golden.example", Plan: "pro", At: at},
			accountRegistered{AccountID: carol, Plan: "pro", At: at}, true, "account-" + carol},
	}
	var out []golden
	for _, g := range gens {
		stream := g.stream
		if stream == "" {
			stream = "golden-" + g.name
		}
		m := meta
		m.Stream = stream
		d, err := g.c.Encode(ctx, g.event, m)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(g.want)
		out = append(out, golden{Name: g.name, ID: d.ID, Type: d.Type, Stream: stream, Data: string(d.Data), Metadata: string(d.Metadata),
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
