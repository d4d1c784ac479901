package stripe_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aseptsoft/subledger/stripe"
	"github.com/stripe/stripe-go/v76/webhook"
)

// Values of the payloads in testdata.
const (
	accountID   = "8c3e5a52-7d0b-4c39-9a57-2f1d6f0b4e11"
	affiliateID = "a1f7c9d2-3b4e-4f60-8a1b-9c2d3e4f5a60"

	licenseSession = "cs_test_a1LqW8Zr3kT0vPx9Yb2NcDe4FgHi5JkLmNoPqRsTuVwXyZ"
	licensePI      = "pi_3PLq2ZrLicense0aB1cD2eF3"
	licenseCharge  = "ch_3PLq2ZrLicense0aB1cD2eF3"
	subSession     = "cs_test_b1SubW8Zr3kT0vPx9Yb2NcDe4FgHi5JkLmNoPqRsTuVwXy"
	stripeSub      = "sub_1PLq2ZrPro0aB1cD2eF3gH4"
	firstInvoice   = "in_1PLq2ZrFirst0aB1cD2eF3g"
	firstPI        = "pi_3PLq2ZrFirst0aB1cD2eF3"
	cycleInvoice   = "in_1PLq2ZrCycle0aB1cD2eF3g"
	cyclePI        = "pi_3PLq2ZrCycle0aB1cD2eF3"
	thirdInvoice   = "in_1PLq2ZrThird0aB1cD2eF3g"
	disputeID      = "dp_1PLq2ZrDispute0aB1cD2eF"

	// personal data of the payloads, which no error may echo.
	customerName  = "Jana Kowalczyk"
	customerEmail = "jana.kowalczyk@example.org"
	customerID    = "cus_PLq2Zr4TnV1xYw"

	secret    = "whsec_test_primary_0123456789abcdef"
	newSecret = "whsec_test_rolled_fedcba9876543210"
)

// Times of the payloads.
var (
	jan5  = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	jan20 = time.Date(2026, 1, 20, 8, 30, 0, 0, time.UTC)
	feb5  = time.Date(2026, 2, 5, 10, 0, 0, 0, time.UTC)
	feb10 = time.Date(2026, 2, 10, 12, 0, 0, 0, time.UTC)
	feb14 = time.Date(2026, 2, 14, 16, 20, 0, 0, time.UTC)
	feb20 = time.Date(2026, 2, 20, 9, 0, 0, 0, time.UTC)
	mar5  = time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC)
)

// payload returns a testdata event, with edits applied.
func payload(t testing.TB, name string, edits ...edit) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(edits) == 0 {
		return b
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, e := range edits {
		e.apply(t, m)
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// edit sets the value at a dotted path ("data.object.metadata.quantity";
// a number is a list index); value remove deletes the key.
type edit struct {
	path  string
	value any
}

type removeValue struct{}

var remove = removeValue{}

func set(path string, value any) edit { return edit{path: path, value: value} }

func (e edit) apply(t testing.TB, root map[string]any) {
	t.Helper()
	keys := strings.Split(e.path, ".")
	var node any = root
	for i, k := range keys {
		last := i == len(keys)-1
		switch n := node.(type) {
		case map[string]any:
			if last {
				if e.value == remove {
					delete(n, k)
				} else {
					n[k] = e.value
				}
				return
			}
			node = n[k]
		case []any:
			idx, err := strconv.Atoi(k)
			if err != nil || idx >= len(n) {
				t.Fatalf("edit %s: no index %s", e.path, k)
			}
			if last {
				n[idx] = e.value
				return
			}
			node = n[idx]
		default:
			t.Fatalf("edit %s: nothing at %s", e.path, k)
		}
	}
}

// sign returns the Stripe-Signature header of payload by secret at ts.
func sign(payload []byte, secret string, ts time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: ts}).Header
}

// event returns a payload as the Verifier reads it.
func event(t testing.TB, b []byte) stripe.Event {
	t.Helper()
	ev, err := verified(t, b)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// verified signs a payload and returns what the Verifier makes of it.
func verified(t testing.TB, b []byte) (stripe.Event, error) {
	t.Helper()
	v, err := stripe.NewVerifier(secret)
	if err != nil {
		t.Fatal(err)
	}
	return v.Verify(b, sign(b, secret, time.Now()))
}

// assertNoPersonalData fails when an error text holds personal data or a
// Stripe id of the payloads.
func assertNoPersonalData(t testing.TB, err error) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	for _, s := range []string{customerName, customerEmail, customerID, accountID, affiliateID, "cus_P", "pi_3P", "ch_3P", "in_1P", "sub_1P", "dp_1P", "cs_test", "evt_1P", "evt_3P", "Kastanienallee"} {
		if strings.Contains(msg, s) {
			t.Errorf("error %q holds %q", msg, s)
		}
	}
}

// testdataNames returns the names of the testdata payloads.
func testdataNames(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = strings.TrimSuffix(filepath.Base(f), ".json")
	}
	return names
}
