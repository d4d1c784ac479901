package projections

import (
	"testing"
	"time"

	"github.com/aseptsoft/subledger/domain"
)

func TestMarketingRecipients(t *testing.T) {
	t0 := day(2024, 3, 1)
	reg := func(id string, consent bool) domain.AccountRegistered {
		return domain.AccountRegistered{AccountID: id, Name: "N" + id, Email: id + "@example.com", MarketingConsent: consent, RegisteredAt: t0}
	}
	p := newProjector(t, Config{Now: func() time.Time { return t0 }})
	applyEvents(t, p, 1, reg("a1", true), reg("a2", false), reg("a3", true), reg("a4", true), reg("a5", true))
	applyEvents(t, p, 2,
		domain.MarketingConsentGiven{AccountID: "a2", GivenAt: t0.Add(time.Hour)},
		domain.MarketingConsentWithdrawn{AccountID: "a3", WithdrawnAt: t0.Add(time.Hour)},
		domain.AccountErased{AccountID: "a4", ErasedAt: t0.Add(time.Hour)},
		domain.AccountClosed{AccountID: "a5", ClosedAt: t0.Add(time.Hour)})
	v := p.View()
	var got []string
	cursor := ""
	for {
		page, err := v.MarketingRecipients(1, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Items {
			got = append(got, r.AccountID+"@"+r.ConsentAt.Format(time.RFC3339))
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	want := []string{"a1@2024-03-01T00:00:00Z", "a2@2024-03-01T01:00:00Z"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("recipients = %v, want %v", got, want)
	}
	if _, err := v.MarketingRecipients(10, "!!"); err != ErrBadCursor {
		t.Fatalf("bad cursor: %v", err)
	}
}
