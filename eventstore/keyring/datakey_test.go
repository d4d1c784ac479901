package keyring

import (
	"sync"
	"testing"
)

// TestDataKeyDerivationsAreStable pins what a data key's material gives: its
// fingerprint and its pseudonyms are stored (erasure records, the subjects
// of e-mail reservations), so they must never change, also when the caller
// wipes the key material it passed (as unwrapKey does) and when goroutines
// ask at once.
func TestDataKeyDerivationsAreStable(t *testing.T) {
	var material [keySize]byte
	for i := range material {
		material[i] = byte(i)
	}
	key := material
	k, err := newDataKey("acct-1", "0123456789abcdef", key[:])
	if err != nil {
		t.Fatal(err)
	}
	clear(key[:])
	cases := []struct {
		name, got, want string
	}{
		{"fingerprint", k.Fingerprint(), "bf2d3f41145da0a5091c685c53db4c71"},
		{"pseudonym_email_reservation", k.Pseudonym("email-reservation"), "9dc830b2-986e-8597-ba0d-92bf65fe3010"},
		{"pseudonym_affiliate_code", k.Pseudonym("affiliate-code"), "7ce905ee-2fb2-8c78-8c98-57622b368f4d"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.got != c.want {
				t.Fatalf("got %s, want %s", c.got, c.want)
			}
		})
	}
	t.Run("concurrent_first_pseudonyms_agree", func(t *testing.T) {
		k, err := newDataKey("acct-1", "0123456789abcdef", material[:])
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		got := make([]string, 8)
		for i := range got {
			wg.Go(func() { got[i] = k.Pseudonym("email-reservation") })
		}
		wg.Wait()
		for i, p := range got {
			if p != cases[1].want {
				t.Fatalf("goroutine %d got %s, want %s", i, p, cases[1].want)
			}
		}
	})
}
