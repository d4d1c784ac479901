package codec

import (
	"context"
	"encoding/base64"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/aseptsoft/subledger/eventstore"
	"github.com/aseptsoft/subledger/eventstore/embedded"
	"github.com/aseptsoft/subledger/eventstore/keyring"
)

// BenchmarkPersonalPart200 measures the cryptographic path of one event
// with a 200-byte personal part, encode and decode: key lookup (cached),
// nonce, AES-256-GCM seal, binding MAC (version 2, over the event's parts,
// its plain JSON and the ciphertext), base64 out and in, binding check,
// AES-256-GCM open. The JSON encoding and decoding of the fields is left
// out (see BenchmarkEncodeDecode for the whole codec).
func BenchmarkPersonalPart200(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	store, err := embedded.Open(filepath.Join(dir, "events"), embedded.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	m, err := keyring.NewMasterKey(nil, "bench")
	if err != nil {
		b.Fatal(err)
	}
	ring, err := keyring.OpenFileRing(ctx, filepath.Join(dir, "keyring"), m, store, keyring.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer ring.Close()
	c := New(NewRegistry(), ring, Config{})
	subject := uuid.NewString()
	if _, err := ring.DataKey(ctx, subject); err != nil {
		b.Fatal(err)
	}
	plaintext := []byte(`{"name":"` + strings.Repeat("n", 60) + `","email":"` + strings.Repeat("e", 60) + `@x.example","company":"` + strings.Repeat("c", 40) + `"}`)
	plaintext = plaintext[:200]
	id := uuid.New()
	ev := eventstore.Event{ID: id.String(), Type: "AccountRegistered", Stream: "account-" + subject}
	// The plain fields of benchEvent, as the codec writes them.
	plain := []byte(`{"account_id":"` + subject + `","plan":"pro","marketing_consent":true,"registered_at":"2030-01-02T03:04:05Z"}`)
	data := make([]byte, 0, 768)
	s := &scratch{}
	var mf0 metaFields
	b.SetBytes(int64(len(plaintext)))
	b.ReportAllocs()
	for b.Loop() {
		// Encode side.
		key, err := ring.DataKey(ctx, subject)
		if err != nil {
			b.Fatal(err)
		}
		sealed, err := c.seal(s, key, id, plaintext)
		if err != nil {
			b.Fatal(err)
		}
		s.bind = keyring.EventBinding{EventID: id, Type: ev.Type, SchemaVersion: 2, Stream: ev.Stream, Subject: subject, KeyID: key.ID(),
			Actor: "store", Plain: plain, Sealed: sealed}
		binding := ring.BindEvent(nil, &s.bind)
		data = append(data[:0], personalPrefix...)
		data = base64.StdEncoding.AppendEncode(data, sealed)
		data = append(data, `",`...)
		data = append(data, plain[1:]...)
		// Decode side.
		ev.Data = data
		mf := metaFields{actor: "store", version: 2, subject: subject, keyID: key.ID(), bindingVersion: bindingVersion, bindingLen: copy(mf0.binding[:], binding)}
		mf.binding = mf0.binding
		_, pt, erased, err := c.open(ctx, s, ev, &mf)
		if err != nil || erased || len(pt) != len(plaintext) {
			b.Fatalf("open: %v", err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkParseMeta measures the metadata scanner on the two shapes a
// replay mostly sees: a plain event's and a personal one's.
func BenchmarkParseMeta(b *testing.B) {
	cases := []struct{ name, in string }{
		{"plain", `{"schema_version":1,"binding_version":2,"binding":"TR7VC5KdDBWf+SGnXP61TA=="}`},
		{"personal", `{"schema_version":1,"subject_id":"332c0247-fb47-4516-9c98-c4ed5656cd06","key_id":"22ce7eb074aa4165","binding_version":2,"binding":"hX8ZVjgNSI2kk6bQ5BxOEg=="}`},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			in := []byte(c.in)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := parseMeta(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
