package domain

import (
	"context"
	"errors"
	"testing"
)

// refuseErasure is a store that fails every append holding AccountErased,
// as a full disk would.
type refuseErasure struct{ *memStore }

func (f refuseErasure) Append(ctx context.Context, stream string, exp int64, evs []Event, m Meta) (uint64, error) {
	for _, e := range evs {
		if _, ok := e.(AccountErased); ok {
			return 0, errors.New("disk full")
		}
	}
	return f.memStore.Append(ctx, stream, exp, evs, m)
}

func TestFailedErasureKeepsTheAddressReserved(t *testing.T) {
	f := newFixture(t)
	svc, err := NewService(Config{Store: refuseErasure{f.store}, Secret: testSecret, LicenseSigningKey: testSignKey, Now: f.clock, NewID: f.nextID, Random: &counterReader{}, Passwords: testArgon2, Pseudonyms: f.store})
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := svc.RegisterAccount(ctxb, RegisterAccount{Name: "A", Email: "same@example.org", Password: "long enough pw"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.RequestErasure(ctxb, RequestErasure{AccountID: a.ID}); err == nil {
		t.Fatal("erasure succeeded on a store that refuses it")
	}
	if acc, err := svc.Account(ctxb, a.ID); err != nil || acc.Status != AccountStatusActive {
		t.Fatalf("after the failed erasure the account is %v (err %v), want active", acc.Status, err)
	}
	if _, _, err := svc.RegisterAccount(ctxb, RegisterAccount{Name: "B", Email: "same@example.org", Password: "long enough pw"}); ErrorCode(err) != CodeEmailTaken {
		t.Fatalf("a second sign-up with the live account's address: %v, want email_taken", err)
	}
}
