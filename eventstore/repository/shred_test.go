package repository_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/eventstore/codec"
	"github.com/aseptsoft/subledger/eventstore/keyring"
	"github.com/aseptsoft/subledger/eventstore/repository"
)

// reservationOf is what an e-mail reservation's stream holds: its stream
// name, and the pseudonym and data key id its encrypted events name in their
// metadata.
type reservationOf struct {
	stream, subject, keyID string
}

// emailReservation finds the reservation stream of an address and checks
// that every v2 event of it is encrypted under one pseudonym and key.
func emailReservation(t *testing.T, e *env, email string) reservationOf {
	t.Helper()
	ctx := context.Background()
	r, err := e.svc.EmailReservation(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	if r.Namespace == "" || r.Key == "" {
		t.Fatalf("no reservation of %s was ever made", email)
	}
	reg, err := repository.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	c := codec.New(reg, e.ring, codec.Config{})
	out := reservationOf{stream: domain.ReservationStream(r.Namespace, r.Key)}
	events, err := e.store.ReadStream(ctx, out.stream, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range events {
		_, m, err := c.Decode(ctx, ev)
		if err != nil {
			t.Fatalf("decode %s of %s: %v", ev.Type, out.stream, err)
		}
		switch {
		case m.SubjectID == "" || m.KeyID == "":
			t.Fatalf("%s of %s names no data subject or key: its owner is in plain", ev.Type, out.stream)
		case out.subject == "":
			out.subject, out.keyID = m.SubjectID, m.KeyID
		case out.subject != m.SubjectID || out.keyID != m.KeyID:
			t.Fatalf("the events of %s are encrypted under %s/%s and %s/%s, want one pseudonym", out.stream, out.subject, out.keyID, m.SubjectID, m.KeyID)
		}
	}
	if out.subject == "" {
		t.Fatalf("the reservation stream %s holds no encrypted event", out.stream)
	}
	return out
}

// reservationEvents returns the claims and releases of a reservation stream
// with their erased flag, failing on any other event.
func reservationEvents(t *testing.T, e *env, stream string) []repository.Recorded {
	t.Helper()
	hist, err := e.repo.History(context.Background(), stream, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hist {
		switch h.Event.(type) {
		case domain.ReservationClaimed, domain.ReservationReleased:
		default:
			t.Fatalf("%s holds a %s (%T), want claims and releases of the current version", stream, h.Type, h.Event)
		}
	}
	if len(hist) == 0 {
		t.Fatalf("%s holds no event", stream)
	}
	return hist
}

func ownerOf(ev domain.Event) string {
	switch ev := ev.(type) {
	case domain.ReservationClaimed:
		return ev.Owner
	case domain.ReservationReleased:
		return ev.Owner
	}
	return ""
}

// TestShredAccountForgetsTheReservationPseudonym checks what
// repository.ShredAccount promises: after it, the pseudonym that encrypts
// the account's e-mail reservation is forgotten in the ring (not only the
// account's key, from which nobody can derive it any more, but the
// pseudonym's own key, which would otherwise still decrypt the owner), so
// the reservation's events read as erased and nothing ties the address to
// the account; another account's reservation stays readable.
func TestShredAccountForgetsTheReservationPseudonym(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	const goneMail, keptMail = "wilhelmina.shredded@example.org", "konstantin.kept@example.org"
	gone, _, err := e.svc.RegisterAccount(ctx, domain.RegisterAccount{Name: "Wilhelmina Shredded", Email: goneMail, Password: "long enough password"})
	if err != nil {
		t.Fatal(err)
	}
	kept, _, err := e.svc.RegisterAccount(ctx, domain.RegisterAccount{Name: "Konstantin Kept", Email: keptMail, Password: "another long password"})
	if err != nil {
		t.Fatal(err)
	}

	// Before: the reservation is encrypted under the account's pseudonym,
	// whose key the ring holds, and names the account.
	pseudonym, err := keyring.Pseudonym(ctx, e.ring, gone.ID, domain.PseudonymEmailReservation)
	if err != nil {
		t.Fatal(err)
	}
	res := emailReservation(t, e, goneMail)
	if res.subject != pseudonym || pseudonym == gone.ID {
		t.Fatalf("the reservation is encrypted under %s, want the account's e-mail-reservation pseudonym %s (not the account %s)", res.subject, pseudonym, gone.ID)
	}
	if _, err := e.ring.Key(ctx, pseudonym, res.keyID); err != nil {
		t.Fatalf("before shredding, the pseudonym's key: %v", err)
	}
	for _, h := range reservationEvents(t, e, res.stream) {
		if h.Erased || ownerOf(h.Event) != gone.ID {
			t.Fatalf("before shredding, %s reads erased=%v owner %q, want %s: the test proves nothing", h.Type, h.Erased, ownerOf(h.Event), gone.ID)
		}
	}
	keptRes := emailReservation(t, e, keptMail)

	if _, _, err := e.svc.RequestErasure(ctx, domain.RequestErasure{AccountID: gone.ID}); err != nil {
		t.Fatal(err)
	}
	if err := repository.ShredAccount(ctx, e.ring, gone.ID); err != nil {
		t.Fatal(err)
	}

	if _, err := keyring.Pseudonym(ctx, e.ring, gone.ID, domain.PseudonymEmailReservation); !errors.Is(err, keyring.ErrForgotten) {
		t.Errorf("after ShredAccount, the account's pseudonym can still be derived (err %v), want keyring.ErrForgotten", err)
	}
	if _, err := e.ring.Key(ctx, pseudonym, res.keyID); !errors.Is(err, keyring.ErrForgotten) {
		t.Errorf("after ShredAccount, the pseudonym's key %s: err %v, want keyring.ErrForgotten: the reservation's owner is still readable", res.keyID, err)
	}
	if _, err := e.ring.DataKey(ctx, pseudonym); !errors.Is(err, keyring.ErrForgotten) {
		t.Errorf("after ShredAccount, DataKey of the pseudonym: err %v, want keyring.ErrForgotten", err)
	}
	hist := reservationEvents(t, e, res.stream)
	for _, h := range hist {
		if !h.Erased || ownerOf(h.Event) != "" {
			t.Errorf("after ShredAccount, %s (version %d) of the reservation reads erased=%v owner %q, want erased with no owner",
				h.Type, h.Version, h.Erased, ownerOf(h.Event))
		}
	}
	if _, ok := hist[len(hist)-1].Event.(domain.ReservationReleased); !ok {
		t.Errorf("the erasure did not release the address: the reservation ends with %s", hist[len(hist)-1].Type)
	}

	// The control: the other account keeps its keys and its reservation.
	if _, err := e.ring.Key(ctx, keptRes.subject, keptRes.keyID); err != nil {
		t.Errorf("the kept account's reservation key: %v", err)
	}
	for _, h := range reservationEvents(t, e, keptRes.stream) {
		if h.Erased || ownerOf(h.Event) != kept.ID {
			t.Errorf("the kept account's reservation %s reads erased=%v owner %q, want %s", h.Type, h.Erased, ownerOf(h.Event), kept.ID)
		}
	}

	// A repeat does nothing and fails in nothing.
	if err := repository.ShredAccount(ctx, e.ring, gone.ID); err != nil {
		t.Fatalf("a repeated ShredAccount: %v", err)
	}
}

// TestShredAccountFinishesAnInterruptedShred: a crash after the pseudonym
// was forgotten but before the account's key leaves the account's key; a
// repeat forgets it.
func TestShredAccountFinishesAnInterruptedShred(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	acc, _, err := e.svc.RegisterAccount(ctx, domain.RegisterAccount{Name: "Ottokar Interrupted", Email: "ottokar@example.org", Password: "long enough password"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.RequestErasure(ctx, domain.RequestErasure{AccountID: acc.ID}); err != nil {
		t.Fatal(err)
	}
	pseudonym, err := keyring.Pseudonym(ctx, e.ring, acc.ID, domain.PseudonymEmailReservation)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.ring.Forget(ctx, pseudonym); err != nil { // the first half of ShredAccount
		t.Fatal(err)
	}
	if _, err := e.ring.DataKey(ctx, acc.ID); err != nil {
		t.Fatalf("the account's key after only the pseudonym was forgotten: %v", err)
	}
	if err := repository.ShredAccount(ctx, e.ring, acc.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ring.DataKey(ctx, acc.ID); !errors.Is(err, keyring.ErrForgotten) {
		t.Fatalf("after the repeat, the account's key: err %v, want keyring.ErrForgotten", err)
	}
	events, _, err := e.repo.Load(ctx, domain.AccountStream(acc.ID))
	if err != nil {
		t.Fatal(err)
	}
	if reg, ok := events[0].(domain.AccountRegistered); !ok || reg.Name != "" || reg.Email != "" || reg.PasswordHash != "" {
		t.Fatalf("after the repeat, the registration reads %#v, want its personal fields erased", events[0])
	}
}
