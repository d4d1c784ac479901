// The cases of data keys: creation, reopening, unknown and invalid
// subjects, concurrency, the master key, randomness, closing, pseudonyms.

package keyringtest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/aseptsoft/subledger/eventstore/keyring"
)

func testCreateOnce(t *testing.T, b Backend) {
	env := b.New(t)
	r := open(t, env, master(t), cfg())
	s := subject()
	k1 := dataKey(t, r, s)
	k2 := dataKey(t, r, s)
	if k1.ID() != k2.ID() || k1.Fingerprint() != k2.Fingerprint() {
		t.Fatalf("second DataKey gave key %s, first %s", k2.ID(), k1.ID())
	}
	if k1.Subject() != s || len(k1.ID()) != 16 || len(k1.Fingerprint()) != 32 {
		t.Fatalf("key %q of %q, fingerprint %q: want subject %q, 16-digit id, 32-digit fingerprint", k1.ID(), k1.Subject(), k1.Fingerprint(), s)
	}
	k3, err := r.Key(ctxFor(t), s, k1.ID())
	if err != nil {
		t.Fatalf("Key: %v", err)
	}
	if !opens(k3, seal(t, k1, "hello"), "hello") {
		t.Fatal("the key from Key does not open what DataKey's key sealed")
	}
	if str := fmt.Sprintf("%v %+v %#v", k1, k1, k1); !strings.Contains(str, k1.ID()) {
		t.Fatalf("formatting a key gives %q", str)
	}
}

func testDistinct(t *testing.T, b Backend) {
	env := b.New(t)
	r := open(t, env, master(t), cfg())
	a, c := dataKey(t, r, subject()), dataKey(t, r, subject())
	if a.ID() == c.ID() || a.Fingerprint() == c.Fingerprint() {
		t.Fatalf("two subjects share key id %s or fingerprint %s", a.ID(), a.Fingerprint())
	}
	sealed := seal(t, a, "secret")
	if _, err := c.AEAD().Open(nil, sealed[:12], sealed[12:], []byte(a.Subject())); err == nil {
		t.Fatal("one subject's key opens another subject's ciphertext")
	}
}

func testReopen(t *testing.T, b Backend) {
	env := b.New(t)
	m := master(t)
	r := open(t, env, m, cfg())
	s := subject()
	k := dataKey(t, r, s)
	sealed := seal(t, k, "kept across restarts")
	r.Close()
	r2 := open(t, env, m, cfg())
	k2, err := r2.Key(ctxFor(t), s, k.ID())
	if err != nil {
		t.Fatalf("Key after reopen: %v", err)
	}
	if !opens(k2, sealed, "kept across restarts") {
		t.Fatal("the reopened key does not open the old ciphertext")
	}
	if k3 := dataKey(t, r2, s); k3.ID() != k.ID() {
		t.Fatalf("DataKey after reopen minted key %s, want %s", k3.ID(), k.ID())
	}
}

func testUnknown(t *testing.T, b Backend) {
	env := b.New(t)
	r := open(t, env, master(t), cfg())
	s := subject()
	k := dataKey(t, r, s)
	for _, c := range []struct{ name, subject, keyID string }{
		{"other_key_id_of_known_subject", s, "0000000000000000"},
		{"empty_key_id", s, ""},
		{"subject_without_key", subject(), k.ID()},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := r.Key(ctxFor(t), c.subject, c.keyID); !errors.Is(err, keyring.ErrUnknownKey) {
				t.Fatalf("Key: %v, want ErrUnknownKey", err)
			}
		})
	}
}

func testInvalidSubject(t *testing.T, b Backend) {
	env := b.New(t)
	r := open(t, env, master(t), cfg())
	for _, c := range []struct{ name, subject string }{
		{"empty", ""},
		{"too_long", strings.Repeat("a", keyring.MaxSubjectLen+1)},
		{"control_character", "abc\ndef"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := ctxFor(t)
			if _, err := r.DataKey(ctx, c.subject); !errors.Is(err, keyring.ErrInvalidSubject) {
				t.Errorf("DataKey: %v, want ErrInvalidSubject", err)
			}
			if _, err := r.Key(ctx, c.subject, "0000000000000000"); !errors.Is(err, keyring.ErrInvalidSubject) {
				t.Errorf("Key: %v, want ErrInvalidSubject", err)
			}
			if err := r.Forget(ctx, c.subject); !errors.Is(err, keyring.ErrInvalidSubject) {
				t.Errorf("Forget: %v, want ErrInvalidSubject", err)
			}
		})
	}
	if _, err := r.DataKey(ctxFor(t), strings.Repeat("a", keyring.MaxSubjectLen)); err != nil {
		t.Fatalf("DataKey of a subject id of the longest length: %v", err)
	}
}

func testConcurrentCreate(t *testing.T, b Backend) {
	env := b.New(t)
	r := open(t, env, master(t), cfg())
	s := subject()
	ids := make([]string, 16)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			k, err := r.DataKey(context.Background(), s)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = k.ID()
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent DataKey gave keys %v", ids)
		}
	}
}

func testWrongMaster(t *testing.T, b Backend) {
	env := b.New(t)
	r := open(t, env, master(t), cfg())
	dataKey(t, r, subject())
	r.Close()
	other, err := keyring.NewMasterKey(nil, "/elsewhere/wrong-master.key")
	if err != nil {
		t.Fatal(err)
	}
	r2, err := env.Open(t, other, cfg())
	if err == nil {
		r2.Close()
		t.Fatal("a ring opened with the wrong master key")
	}
	if !errors.Is(err, keyring.ErrWrongMasterKey) || !strings.Contains(err.Error(), "/elsewhere/wrong-master.key") {
		t.Fatalf("open with the wrong master key: %v, want ErrWrongMasterKey naming the file", err)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("entropy exhausted") }

func testBadRandom(t *testing.T, b Backend) {
	env := b.New(t)
	m := master(t)
	r := open(t, env, m, cfg())
	r.Close()
	c := cfg()
	c.Rand = failingReader{}
	r2 := open(t, env, m, c)
	s := subject()
	if _, err := r2.DataKey(ctxFor(t), s); err == nil || !strings.Contains(err.Error(), "entropy exhausted") {
		t.Fatalf("DataKey with a failing random source: %v", err)
	}
	r2.Close()
	r3 := open(t, env, m, cfg())
	if _, err := r3.Key(ctxFor(t), s, "0000000000000000"); !errors.Is(err, keyring.ErrUnknownKey) {
		t.Fatalf("after a failed creation: %v, want ErrUnknownKey", err)
	}
	dataKey(t, r3, s)
}

func testClosed(t *testing.T, b Backend) {
	env := b.New(t)
	r := open(t, env, master(t), cfg())
	s := subject()
	k := dataKey(t, r, s)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ctx := ctxFor(t)
	if _, err := r.DataKey(ctx, s); !errors.Is(err, keyring.ErrClosed) {
		t.Errorf("DataKey: %v, want ErrClosed", err)
	}
	if _, err := r.Key(ctx, s, k.ID()); !errors.Is(err, keyring.ErrClosed) {
		t.Errorf("Key: %v, want ErrClosed", err)
	}
	if err := r.Forget(ctx, s); !errors.Is(err, keyring.ErrClosed) {
		t.Errorf("Forget: %v, want ErrClosed", err)
	}
}

func testPseudonym(t *testing.T, b Backend) {
	env := b.New(t)
	m := master(t)
	ctx := ctxFor(t)
	r := open(t, env, m, cfg())
	a, b2 := "7d4c9a51-0b1e-4c6a-9f3e-2a8b7c6d5e41", "0f9e8d7c-6b5a-4938-8271-6a5b4c3d2e1f"
	pa, err := keyring.Pseudonym(ctx, r, a, "email-reservation")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := uuid.Parse(pa); err != nil || strings.Contains(pa, a) {
		t.Fatalf("pseudonym %q is not an unrelated UUID", pa)
	}
	again, _ := keyring.Pseudonym(ctx, r, a, "email-reservation")
	other, _ := keyring.Pseudonym(ctx, r, a, "another-purpose")
	ofB, _ := keyring.Pseudonym(ctx, r, b2, "email-reservation")
	if again != pa || other == pa || ofB == pa {
		t.Fatalf("pseudonyms %s, %s (other label), %s (other subject): want the first two equal and the rest distinct", again, other, ofB)
	}
	r.Close()
	r = open(t, env, m, cfg())
	if afterReopen, err := keyring.Pseudonym(ctx, r, a, "email-reservation"); err != nil || afterReopen != pa {
		t.Fatalf("after reopening the pseudonym is %s (err %v), want %s", afterReopen, err, pa)
	}
	if err := r.Forget(ctx, a); err != nil {
		t.Fatal(err)
	}
	if p, err := keyring.Pseudonym(ctx, r, a, "email-reservation"); !errors.Is(err, keyring.ErrForgotten) {
		t.Fatalf("pseudonym of a forgotten subject: %q, %v; want ErrForgotten", p, err)
	}
}
