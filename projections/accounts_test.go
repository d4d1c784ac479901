package projections

import (
	"testing"
	"time"

	"github.com/aseptsoft/subledger/domain"
)

func TestAccounts(t *testing.T) {
	t0 := day(2024, 3, 1)
	reg := func(id, email string) domain.AccountRegistered {
		return domain.AccountRegistered{AccountID: id, Name: "Name " + id, Company: "Co", Email: email,
			PasswordHash: "hash", MarketingConsent: true, RegisteredAt: t0}
	}
	tests := []struct {
		name   string
		events []domain.Event
		check  func(t *testing.T, v *View)
	}{
		{
			name:   "registered account is found by id and by e-mail in any case",
			events: []domain.Event{reg("a1", "Alice@Example.com")},
			check: func(t *testing.T, v *View) {
				a, ok := v.Account("a1")
				if !ok || a.Status != domain.AccountStatusActive || a.Email != "Alice@Example.com" || !a.MarketingConsent || !a.CreatedAt.Equal(t0) {
					t.Fatalf("Account = %+v, %v", a, ok)
				}
				if b, ok := v.AccountByEmail("  alice@EXAMPLE.com "); !ok || b.ID != "a1" {
					t.Fatalf("AccountByEmail = %+v, %v", b, ok)
				}
			},
		},
		{
			name: "changed e-mail frees the old address",
			events: []domain.Event{reg("a1", "old@example.com"),
				domain.AccountDetailsChanged{AccountID: "a1", Name: "New", Email: "new@example.com", ChangedAt: t0.Add(time.Hour)}},
			check: func(t *testing.T, v *View) {
				if _, ok := v.AccountByEmail("old@example.com"); ok {
					t.Fatal("old address still found")
				}
				a, ok := v.AccountByEmail("new@example.com")
				if !ok || a.Name != "New" || a.Company != "" || !a.UpdatedAt.Equal(t0.Add(time.Hour)) {
					t.Fatalf("AccountByEmail(new) = %+v, %v", a, ok)
				}
			},
		},
		{
			name: "consent withdrawn and password set move updated_at",
			events: []domain.Event{reg("a1", "a@example.com"),
				domain.MarketingConsentWithdrawn{AccountID: "a1", WithdrawnAt: t0.Add(time.Minute)},
				domain.AccountPasswordSet{AccountID: "a1", PasswordHash: "h2", SetAt: t0.Add(2 * time.Minute)}},
			check: func(t *testing.T, v *View) {
				a, _ := v.Account("a1")
				if a.MarketingConsent || !a.UpdatedAt.Equal(t0.Add(2*time.Minute)) {
					t.Fatalf("Account = %+v", a)
				}
			},
		},
		{
			name: "closed account keeps its data with status closed",
			events: []domain.Event{reg("a1", "a@example.com"),
				domain.AccountClosed{AccountID: "a1", ClosedAt: t0.Add(time.Hour)}},
			check: func(t *testing.T, v *View) {
				a, _ := v.Account("a1")
				if a.Status != domain.AccountStatusClosed || a.Email == "" || !a.ClosedAt.Equal(t0.Add(time.Hour)) {
					t.Fatalf("Account = %+v", a)
				}
			},
		},
		{
			name: "erased account keeps id, status and times, loses personal fields and its e-mail entry",
			events: []domain.Event{reg("a1", "a@example.com"),
				domain.AccountErasureRequested{AccountID: "a1", Reason: "request", RequestedAt: t0.Add(time.Hour)},
				domain.AccountErased{AccountID: "a1", ErasedAt: t0.Add(time.Hour)}},
			check: func(t *testing.T, v *View) {
				a, ok := v.Account("a1")
				want := Account{ID: "a1", Status: domain.AccountStatusErased, CreatedAt: t0, PasswordSetAt: t0,
					UpdatedAt: t0.Add(time.Hour), ErasedAt: t0.Add(time.Hour)}
				if !ok || a != want {
					t.Fatalf("Account = %+v, want %+v", a, want)
				}
				if _, ok := v.AccountByEmail("a@example.com"); ok {
					t.Fatal("erased address still found")
				}
			},
		},
		{
			name: "address of an erased account is free for a new account",
			events: []domain.Event{reg("a1", "a@example.com"),
				domain.AccountErased{AccountID: "a1", ErasedAt: t0.Add(time.Hour)},
				reg("a2", "A@example.com")},
			check: func(t *testing.T, v *View) {
				if a, ok := v.AccountByEmail("a@example.com"); !ok || a.ID != "a2" {
					t.Fatalf("AccountByEmail = %+v, %v", a, ok)
				}
			},
		},
		{
			name: "active holder of an address wins over a closed one",
			events: []domain.Event{reg("a1", "a@example.com"),
				domain.AccountClosed{AccountID: "a1", ClosedAt: t0},
				reg("a2", "a@example.com")},
			check: func(t *testing.T, v *View) {
				if a, ok := v.AccountByEmail("a@example.com"); !ok || a.ID != "a2" {
					t.Fatalf("AccountByEmail = %+v, %v", a, ok)
				}
			},
		},
		{
			name: "scheduled erasure is due only once its time has come",
			events: []domain.Event{reg("a1", "a@example.com"), reg("a2", "b@example.com"), reg("a3", "c@example.com"),
				domain.AccountErasureScheduled{AccountID: "a1", DueAt: t0.Add(-time.Hour)},
				domain.AccountErasureScheduled{AccountID: "a2", DueAt: t0.Add(time.Hour)},
				domain.AccountErasureScheduled{AccountID: "a3", DueAt: t0.Add(-2 * time.Hour)},
				domain.AccountErasureUnscheduled{AccountID: "a3"}},
			check: func(t *testing.T, v *View) {
				if got := collect(v.ErasuresDue()); len(got) != 1 || got[0] != "a1" {
					t.Fatalf("ErasuresDue = %v", got)
				}
			},
		},
		{
			name:   "unknown account is not found",
			events: []domain.Event{domain.AccountClosed{AccountID: "ghost", ClosedAt: t0}},
			check: func(t *testing.T, v *View) {
				if _, ok := v.Account("ghost"); ok {
					t.Fatal("ghost found")
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newProjector(t, Config{Now: func() time.Time { return t0 }})
			for i, e := range tc.events {
				applyEvents(t, p, uint64(i+1), e)
			}
			tc.check(t, p.View())
		})
	}
}

func TestAccountRowsAreNeverMutated(t *testing.T) {
	p := newProjector(t, Config{})
	applyEvents(t, p, 1, domain.AccountRegistered{AccountID: "a1", Name: "A", Email: "a@example.com"})
	before := p.View()
	applyEvents(t, p, 2, domain.AccountDetailsChanged{AccountID: "a1", Name: "B", Email: "b@example.com"})
	if a, _ := before.Account("a1"); a.Name != "A" || a.Email != "a@example.com" {
		t.Fatalf("old view changed: %+v", a)
	}
	if a, _ := p.View().Account("a1"); a.Name != "B" {
		t.Fatalf("new view: %+v", a)
	}
}
