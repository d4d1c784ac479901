package stripe

import (
	"errors"
	"fmt"
	"time"

	stripeapi "github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"
)

// Tolerance is how old a webhook signature's timestamp may be.
const Tolerance = 300 * time.Second

// APIVersion is the only Stripe API version whose events are accepted: the
// library's own.
const APIVersion = stripeapi.APIVersion

// Webhook errors. Their texts hold no personal data: no payload, no id.
var (
	// ErrInvalidSignature is a webhook that no configured secret verifies:
	// no Stripe-Signature header, a wrong or unreadable one, a signature by
	// a secret that was rolled off, or a timestamp older than Tolerance
	// (API: 400 invalid_signature).
	ErrInvalidSignature = errors.New("stripe: invalid webhook signature")
	// ErrMalformedEvent is a verified body that is not a Stripe event
	// subledger can read: not JSON, not an event, another API version, an
	// object that does not have the shape of its type, or a fact the domain
	// refuses as invalid (API: 400 malformed_event).
	ErrMalformedEvent = errors.New("stripe: malformed webhook event")
	// ErrAPIVersion is an event of another API version than APIVersion. It
	// is an ErrMalformedEvent.
	ErrAPIVersion = fmt.Errorf("%w: unsupported api_version (want %s)", ErrMalformedEvent, APIVersion)
)

// Verifier verifies webhook payloads against one or more endpoint secrets,
// so that a secret can be rolled without a window of refused events: the
// new one is added, and the old one removed once Stripe signs with the new.
type Verifier struct {
	secrets []string
}

// NewVerifier returns a Verifier for the given endpoint secrets (the
// repeatable --stripe-webhook-secret). At least one is required, and none
// may be empty: an empty HMAC key would verify anybody's signature.
func NewVerifier(secrets ...string) (*Verifier, error) {
	if len(secrets) == 0 {
		return nil, errors.New("stripe: at least one webhook secret is required")
	}
	for i, s := range secrets {
		if s == "" {
			return nil, fmt.Errorf("stripe: webhook secret %d is empty", i+1)
		}
	}
	return &Verifier{secrets: append([]string(nil), secrets...)}, nil
}

// Verify checks payload (the raw request body) against the Stripe-Signature
// header with each secret in turn, with a tolerance of 300 s, and only then
// parses it. It returns an error wrapping ErrInvalidSignature when no
// secret verifies the payload, and one wrapping ErrMalformedEvent when a
// secret verifies it but it is not an event of APIVersion.
//
// The signature is checked by stripe-go's webhook.ValidatePayloadWithTolerance,
// the check that webhook.ConstructEventWithOptions makes before it
// unmarshals the body into a stripeapi.Event; subledger parses the verified
// body into its leaner Event instead (event.go), and checks the API version
// itself. TestVerifyAgreesWithConstructEvent holds the two to the same
// verdicts.
func (v *Verifier) Verify(payload []byte, header string) (Event, error) {
	var sigErr error
	for _, secret := range v.secrets {
		err := webhook.ValidatePayloadWithTolerance(payload, header, secret, Tolerance)
		if err == nil {
			ev, err := parseEvent(payload)
			if err != nil {
				// The library's message would quote the JSON decoder,
				// which may quote the payload.
				return Event{}, fmt.Errorf("%w: the body is not a JSON event", ErrMalformedEvent)
			}
			if err := checkEvent(ev); err != nil {
				return Event{}, err
			}
			return ev, nil
		}
		sigErr = err
	}
	return Event{}, fmt.Errorf("%w: %s", ErrInvalidSignature, signatureProblem(sigErr))
}

func signatureProblem(err error) string {
	switch {
	case errors.Is(err, webhook.ErrNotSigned):
		return "no Stripe-Signature header"
	case errors.Is(err, webhook.ErrInvalidHeader):
		return "unreadable Stripe-Signature header"
	case errors.Is(err, webhook.ErrTooOld):
		return "timestamp outside the tolerance"
	default:
		return "no signature matches a configured secret"
	}
}

// checkEvent refuses a verified JSON body that is not a Stripe event of
// APIVersion.
func checkEvent(ev Event) error {
	switch {
	case ev.Object != "event" || ev.ID == "" || ev.Type == "" || ev.Created <= 0:
		return fmt.Errorf("%w: not a Stripe event", ErrMalformedEvent)
	case ev.Data.Object == nil:
		return fmt.Errorf("%w: the event has no data.object", ErrMalformedEvent)
	case ev.APIVersion != APIVersion:
		return ErrAPIVersion
	}
	return nil
}
