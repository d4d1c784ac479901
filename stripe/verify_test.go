package stripe_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/aseptsoft/subledger/stripe"
)

func TestVerify(t *testing.T) {
	good := payload(t, "checkout.session.completed.payment")
	now := time.Now()
	tests := []struct {
		name    string
		secrets []string
		body    []byte
		header  string
		want    error // nil: verifies
	}{
		{name: "a good signature verifies", secrets: []string{secret}, body: good, header: sign(good, secret, now)},
		{name: "a signature 299 s old verifies", secrets: []string{secret}, body: good, header: sign(good, secret, now.Add(-299*time.Second))},
		{name: "no header is an invalid signature", secrets: []string{secret}, body: good, header: "", want: stripe.ErrInvalidSignature},
		{name: "an unreadable header is an invalid signature", secrets: []string{secret}, body: good, header: "t=now,v1", want: stripe.ErrInvalidSignature},
		{name: "a wrong secret is an invalid signature", secrets: []string{secret}, body: good, header: sign(good, "whsec_someone_else", now), want: stripe.ErrInvalidSignature},
		{name: "a changed body is an invalid signature", secrets: []string{secret}, body: append([]byte(" "), good...), header: sign(good, secret, now), want: stripe.ErrInvalidSignature},
		{name: "while rolling the new secret verifies", secrets: []string{newSecret, secret}, body: good, header: sign(good, newSecret, now)},
		{name: "while rolling the old secret still verifies", secrets: []string{newSecret, secret}, body: good, header: sign(good, secret, now)},
		{name: "a rolled-off secret is an invalid signature", secrets: []string{newSecret}, body: good, header: sign(good, secret, now), want: stripe.ErrInvalidSignature},
		{name: "Stripe's header with a signature of each secret verifies", secrets: []string{newSecret}, body: good,
			header: sign(good, secret, now) + ",v1=" + strings.SplitN(sign(good, newSecret, now), "v1=", 2)[1]},
		{name: "a timestamp older than 300 s is an invalid signature", secrets: []string{secret}, body: good, header: sign(good, secret, now.Add(-301*time.Second)), want: stripe.ErrInvalidSignature},
		{name: "a body that is not JSON is malformed", secrets: []string{secret}, body: []byte("name=Jana+Kowalczyk"), header: sign([]byte("name=Jana+Kowalczyk"), secret, now), want: stripe.ErrMalformedEvent},
		{name: "a JSON array is malformed", secrets: []string{secret}, body: []byte(`["Jana Kowalczyk"]`), header: sign([]byte(`["Jana Kowalczyk"]`), secret, now), want: stripe.ErrMalformedEvent},
		{name: "a JSON object that is not an event is malformed", secrets: []string{secret}, body: []byte(`{"name":"Jana Kowalczyk"}`), header: sign([]byte(`{"name":"Jana Kowalczyk"}`), secret, now), want: stripe.ErrMalformedEvent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := stripe.NewVerifier(tt.secrets...)
			if err != nil {
				t.Fatal(err)
			}
			ev, err := v.Verify(tt.body, tt.header)
			if got, lib := !errors.Is(err, stripe.ErrInvalidSignature), librarySignatureVerdict(tt.secrets, tt.body, tt.header); got != lib {
				t.Fatalf("signature verified: ours %v, stripe-go's ConstructEventWithOptions %v", got, lib)
			}
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if ev.ID != "evt_1PLq2ZrCheckoutPaid00001" || ev.Type != "checkout.session.completed" {
					t.Fatalf("Verify returned event %s of type %s", ev.ID, ev.Type)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify: got %v, want %v", err, tt.want)
			}
			other := stripe.ErrMalformedEvent
			if tt.want == stripe.ErrMalformedEvent {
				other = stripe.ErrInvalidSignature
			}
			if errors.Is(err, other) {
				t.Fatalf("Verify: %v is also %v", err, other)
			}
			if ev.ID != "" {
				t.Fatalf("Verify returned event %s with its error", ev.ID)
			}
			assertNoPersonalData(t, err)
			if strings.Contains(err.Error(), "Jana") {
				t.Fatalf("error %q echoes the body", err)
			}
		})
	}
}

func TestVerifyRefusesVerifiedBodiesThatAreNoEvent(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name  string
		edits []edit
		want  error
	}{
		{name: "another api_version is malformed", edits: []edit{set("api_version", "2024-06-20")}, want: stripe.ErrAPIVersion},
		{name: "no api_version is malformed", edits: []edit{set("api_version", remove)}, want: stripe.ErrAPIVersion},
		{name: "no data.object is malformed", edits: []edit{set("data", map[string]any{})}, want: stripe.ErrMalformedEvent},
		{name: "a null data.object is malformed", edits: []edit{set("data.object", nil)}, want: stripe.ErrMalformedEvent},
		{name: "no id is malformed", edits: []edit{set("id", remove)}, want: stripe.ErrMalformedEvent},
		{name: "no type is malformed", edits: []edit{set("type", "")}, want: stripe.ErrMalformedEvent},
		{name: "another object is malformed", edits: []edit{set("object", "checkout.session")}, want: stripe.ErrMalformedEvent},
		{name: "a created that is not a number is malformed", edits: []edit{set("created", "yesterday")}, want: stripe.ErrMalformedEvent},
	}
	v, err := stripe.NewVerifier(secret)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := payload(t, "checkout.session.completed.payment", tt.edits...)
			header := sign(body, secret, now)
			_, err := v.Verify(body, header)
			if !librarySignatureVerdict([]string{secret}, body, header) {
				t.Fatal("stripe-go's ConstructEventWithOptions refuses the signature")
			}
			if !errors.Is(err, tt.want) || !errors.Is(err, stripe.ErrMalformedEvent) || errors.Is(err, stripe.ErrInvalidSignature) {
				t.Fatalf("Verify: got %v, want %v", err, tt.want)
			}
			assertNoPersonalData(t, err)
		})
	}
}

func TestNewVerifierRefusesMissingSecrets(t *testing.T) {
	for name, secrets := range map[string][]string{"no secret": nil, "an empty secret": {secret, ""}} {
		t.Run(name, func(t *testing.T) {
			if _, err := stripe.NewVerifier(secrets...); err == nil {
				t.Fatal("NewVerifier accepted it")
			}
		})
	}
}

// Every testdata payload verifies: they are of the pinned API version.
func TestEveryTestdataPayloadVerifies(t *testing.T) {
	v, err := stripe.NewVerifier(secret)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range testdataNames(t) {
		body := payload(t, name)
		if _, err := v.Verify(body, sign(body, secret, time.Now())); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// librarySignatureVerdict reports whether stripe-go's
// webhook.ConstructEventWithOptions, given the secrets in turn, finds a
// signature that verifies (its other errors come after that check): the
// oracle for the Verifier's own signature verdict.
func librarySignatureVerdict(secrets []string, body []byte, header string) bool {
	opts := webhook.ConstructEventOptions{Tolerance: stripe.Tolerance, IgnoreAPIVersionMismatch: true}
	for _, s := range secrets {
		_, err := webhook.ConstructEventWithOptions(body, header, s, opts)
		if !errors.Is(err, webhook.ErrNotSigned) && !errors.Is(err, webhook.ErrInvalidHeader) &&
			!errors.Is(err, webhook.ErrNoValidSignature) && !errors.Is(err, webhook.ErrTooOld) {
			return true
		}
	}
	return false
}
