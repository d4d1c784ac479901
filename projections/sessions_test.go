package projections

import (
	"testing"
	"time"

	"github.com/aseptsoft/subledger/domain"
)

func TestSessions(t *testing.T) {
	t0 := day(2024, 3, 1)
	reg := domain.AccountRegistered{AccountID: "a1", Name: "A", Email: "a@example.com", PasswordHash: "h", RegisteredAt: t0}
	start := func(id string, credentialsAt time.Time) domain.SessionStarted {
		return domain.SessionStarted{SessionID: id, AccountID: "a1", TokenHash: "hash-" + id, StartedAt: t0.Add(time.Minute),
			ExpiresAt: t0.Add(24 * time.Hour), IdleTimeoutSeconds: 3600, CredentialsAt: credentialsAt}
	}
	tests := []struct {
		name   string
		events [][]domain.Event // batches
		live   map[string]bool  // session id: found by its token hash
	}{
		{
			name:   "started session is found by its token hash",
			events: [][]domain.Event{{reg}, {start("s1", t0)}},
			live:   map[string]bool{"s1": true},
		},
		{
			name:   "signed-out session is gone",
			events: [][]domain.Event{{reg}, {start("s1", t0)}, {domain.SessionEnded{SessionID: "s1", AccountID: "a1"}}},
			live:   map[string]bool{"s1": false},
		},
		{
			name: "password change ends the sessions on the old password only",
			events: [][]domain.Event{{reg}, {start("s1", t0)},
				{domain.AccountPasswordSet{AccountID: "a1", PasswordHash: "h2", SetAt: t0.Add(time.Hour)}},
				{start("s2", t0.Add(time.Hour))}},
			live: map[string]bool{"s1": false, "s2": true},
		},
		{
			name: "password change in the same batch as the sign-in ends it",
			events: [][]domain.Event{{reg, start("s1", t0),
				domain.AccountPasswordSet{AccountID: "a1", PasswordHash: "h2", SetAt: t0.Add(time.Hour)}}},
			live: map[string]bool{"s1": false},
		},
		{
			name: "a sign-in on a password replaced before it was recorded never works",
			events: [][]domain.Event{{reg}, {domain.AccountPasswordSet{AccountID: "a1", PasswordHash: "h2", SetAt: t0.Add(time.Hour)}},
				{start("s1", t0)}},
			live: map[string]bool{"s1": false},
		},
		{
			name: "erasure ends every session",
			events: [][]domain.Event{{reg}, {start("s1", t0), start("s2", t0)},
				{domain.AccountErased{AccountID: "a1", ErasedAt: t0.Add(time.Hour)}}},
			live: map[string]bool{"s1": false, "s2": false},
		},
		{
			name: "closing ends every session",
			events: [][]domain.Event{{reg}, {start("s1", t0)},
				{domain.AccountClosed{AccountID: "a1", ClosedAt: t0.Add(time.Hour)}}},
			live: map[string]bool{"s1": false},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newProjector(t, Config{Now: func() time.Time { return t0 }})
			pos := uint64(0)
			for _, b := range tc.events {
				pos++
				applyEvents(t, p, pos, b...)
			}
			v := p.View()
			for id, want := range tc.live {
				if _, ok := v.SessionByTokenHash("hash-" + id); ok != want {
					t.Errorf("session %s found = %v, want %v", id, ok, want)
				}
			}
		})
	}
}

func TestSessionActiveAt(t *testing.T) {
	t0 := day(2024, 3, 1)
	s := Session{StartedAt: t0, LastSeenAt: t0.Add(time.Hour), ExpiresAt: t0.Add(24 * time.Hour), IdleTimeout: 2 * time.Hour}
	tests := []struct {
		name string
		at   time.Time
		want bool
	}{
		{"used within the idle timeout is active", t0.Add(2 * time.Hour), true},
		{"idle too long is over", t0.Add(3 * time.Hour), false},
		{"past the absolute expiry is over", t0.Add(24 * time.Hour), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := s.ActiveAt(tc.at); got != tc.want {
				t.Fatalf("ActiveAt = %v, want %v", got, tc.want)
			}
		})
	}
}
