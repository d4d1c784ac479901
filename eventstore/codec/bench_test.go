package codec_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/aseptsoft/subledger/eventstore"
	"github.com/aseptsoft/subledger/eventstore/codec"
	"github.com/aseptsoft/subledger/eventstore/keyring"
)

// benchEvent has a personal part of about 200 bytes of JSON.
func benchEvent() accountRegistered {
	return accountRegistered{
		AccountID: uuid.NewString(),
		Name:      strings.Repeat("N", 60),
		Email:     strings.Repeat("e", 50) + "@example.com",
		Company:   strings.Repeat("C", 40),
		Plan:      "pro",
		Consent:   true,
		At:        at,
	}
}

// BenchmarkEncodeDecode measures the whole codec, encode and decode, for
// an event with a 200-byte personal part.
func BenchmarkEncodeDecode(b *testing.B) {
	ctx := context.Background()
	e := newEnv(b, b.TempDir(), keyring.Config{})
	ev := benchEvent()
	meta := codec.Meta{Stream: "s", Actor: "store", CorrelationID: uuid.NewString(), CausationID: uuid.NewString()}
	b.ReportAllocs()
	for b.Loop() {
		d, err := e.codec.Encode(ctx, ev, meta)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := e.codec.Decode(ctx, stored(d)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkDecode measures replay: decoding (with decryption) of stored
// events of many subjects.
func BenchmarkDecode(b *testing.B) {
	ctx := context.Background()
	e := newEnv(b, b.TempDir(), keyring.Config{})
	cases := []struct {
		name  string
		event func() codec.Typer
	}{
		{"personal_200B", func() codec.Typer { return benchEvent() }},
		{"plain", func() codec.Typer {
			return licensePurchased{LicenseID: uuid.NewString(), AccountID: uuid.NewString(), ProductID: "desktop-pro", Quantity: 1, Amount: 9900, Currency: "eur", At: at}
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			const n = 1024
			evs := make([]eventstore.Event, n)
			for i := range evs {
				evs[i] = stored(e.encode(b, c.event(), codec.Meta{Actor: "store", CorrelationID: uuid.NewString()}))
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, _, err := e.codec.Decode(ctx, evs[i%n]); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
