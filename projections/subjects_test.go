package projections

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/aseptsoft/subledger/domain"
)

// Every stream with events of a person is found by the per-subject index,
// whatever order its events arrive in (a sale's before the license or
// subscription it pays, say), and no stream of anybody else.
func TestSubjectStreams(t *testing.T) {
	s := openStore(t)
	p := startProjector(t, s, Config{})
	const a, b = "acc-a", "acc-b"
	// A sale recorded before its license and its subscription are known.
	appendEvents(t, s, domain.SaleStream("sale-a1"), domain.SaleRecorded{SaleID: "sale-a1", Kind: domain.SaleKindSale, LicenseID: "lic-a",
		Amount: 4900, Currency: "eur", OccurredAt: genStart})
	appendEvents(t, s, domain.SaleStream("sale-a2"), domain.SaleRecorded{SaleID: "sale-a2", Kind: domain.SaleKindSale, SubscriptionID: "sub-a",
		Amount: 900, Currency: "eur", OccurredAt: genStart})
	appendEvents(t, s, domain.AccountStream(a), domain.AccountRegistered{AccountID: a, Email: "a@example.com", RegisteredAt: genStart})
	appendEvents(t, s, domain.AccountStream(b), domain.AccountRegistered{AccountID: b, Email: "b@example.com", RegisteredAt: genStart})
	appendEvents(t, s, domain.LicenseStream("lic-a"), domain.LicensePurchased{LicenseID: "lic-a", SaleID: "sale-a1", AccountID: a,
		ProductID: "pro", Quantity: 1, Amount: 4900, Currency: "eur", PurchasedAt: genStart})
	appendEvents(t, s, domain.SubscriptionStream("sub-a"), domain.SubscriptionCheckoutCompleted{SubscriptionID: "sub-a", AccountID: a,
		ProductID: "pro-monthly", Amount: 900, Currency: "eur", OccurredAt: genStart})
	appendEvents(t, s, domain.SessionStream("sess-a"), domain.SessionStarted{SessionID: "sess-a", AccountID: a, TokenHash: "h1",
		StartedAt: genStart, ExpiresAt: genStart.Add(time.Hour)})
	appendEvents(t, s, domain.PasswordResetStream("reset-a"), domain.PasswordResetRequested{ResetID: "r1", AccountID: a, RequestedAt: genStart})
	appendEvents(t, s, domain.ReservationStream("email", "digest-a"), domain.ReservationClaimed{Namespace: "email", Key: "digest-a",
		Subject: "pseudonym-a", Owner: a, ClaimedAt: genStart})
	appendEvents(t, s, domain.IdempotencyStream("key-a"), domain.IdempotencyRecordedFor{Subject: a, Status: 201, RecordedAt: genStart})
	appendEvents(t, s, domain.StripeIntentStream("call-a"), domain.StripeIntentRecorded{CallID: "call-a", AccountID: a, RecordedAt: genStart})
	// b's license and its sale, which a must not see.
	appendEvents(t, s, domain.LicenseStream("lic-b"), domain.LicensePurchased{LicenseID: "lic-b", SaleID: "sale-b1", AccountID: b,
		ProductID: "pro", Quantity: 1, Amount: 4900, Currency: "eur", PurchasedAt: genStart})
	pos := appendEvents(t, s, domain.SaleStream("sale-b1"), domain.SaleRecorded{SaleID: "sale-b1", Kind: domain.SaleKindSale, LicenseID: "lic-b",
		Amount: 4900, Currency: "eur", OccurredAt: genStart})
	waitFor(t, p.Projector, pos)

	tests := []struct {
		name    string
		subject string
		want    []string
	}{
		{name: "an account finds all its streams and its sales'", subject: a, want: []string{
			domain.AccountStream(a), domain.IdempotencyStream("key-a"), domain.LicenseStream("lic-a"), domain.PasswordResetStream("reset-a"),
			domain.ReservationStream("email", "digest-a"), domain.SaleStream("sale-a1"), domain.SaleStream("sale-a2"),
			domain.SessionStream("sess-a"), domain.StripeIntentStream("call-a"), domain.SubscriptionStream("sub-a")}},
		{name: "another account finds only its own", subject: b, want: []string{
			domain.AccountStream(b), domain.LicenseStream("lic-b"), domain.SaleStream("sale-b1")}},
		{name: "an unknown subject finds nothing", subject: "acc-c", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := p.View().SubjectStreams(tt.subject)
			want := append([]string(nil), tt.want...)
			slices.Sort(want)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("SubjectStreams(%s):\n got %q\nwant %q", tt.subject, got, want)
			}
		})
	}
}
