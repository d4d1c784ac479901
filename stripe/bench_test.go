package stripe_test

import (
	"encoding/json"
	"testing"
	"time"

	stripeapi "github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/aseptsoft/subledger/stripe"
)

// BenchmarkVerifyTranslate measures what the webhook endpoint does with a
// delivery before the domain sees it: the signature check, the parse and
// the translation of a signed invoice.paid renewal.
func BenchmarkVerifyTranslate(b *testing.B) {
	const secret = "whsec_bench"
	v, err := stripe.NewVerifier(secret)
	if err != nil {
		b.Fatal(err)
	}
	body := payload(b, "invoice.paid.cycle")
	header := sign(body, secret, time.Now())
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		ev, err := v.Verify(body, header)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := (*stripe.Translator)(nil).Translate(ev); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkConstructEventBaseline is the same work done the stock way, as
// subledger did it before: stripe-go's ConstructEventWithOptions, then the
// data.object decoded into a stripeapi.Invoice. It is the baseline that
// BenchmarkVerifyTranslate is quoted against (docs/BENCHMARKS.md).
func BenchmarkConstructEventBaseline(b *testing.B) {
	const secret = "whsec_bench"
	body := payload(b, "invoice.paid.cycle")
	header := sign(body, secret, time.Now())
	opts := webhook.ConstructEventOptions{Tolerance: stripe.Tolerance, IgnoreAPIVersionMismatch: true}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		ev, err := webhook.ConstructEventWithOptions(body, header, secret, opts)
		if err != nil {
			b.Fatal(err)
		}
		var in stripeapi.Invoice
		if err := json.Unmarshal(ev.Data.Raw, &in); err != nil || in.Subscription == nil {
			b.Fatal(err)
		}
	}
}
