package licensekey

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

func testKey(seed byte) ed25519.PrivateKey {
	s := make([]byte, ed25519.SeedSize)
	for i := range s {
		s[i] = seed
	}
	return ed25519.NewKeyFromSeed(s)
}

var claims = Claims{LicenseID: "4e2989e9-0597-889f-a925-26710213e2e0", ProductID: "prod_app", Quantity: 5,
	IssuedAt: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)}

func TestSignedKeyVerifiesAndCarriesItsClaims(t *testing.T) {
	priv := testKey(1)
	key, err := Sign(priv, claims)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(key, "SL1.") || len(key) > 160 {
		t.Fatalf("key %q (%d chars)", key, len(key))
	}
	got, err := Verify(priv.Public().(ed25519.PublicKey), key)
	if err != nil {
		t.Fatal(err)
	}
	if got != claims {
		t.Fatalf("claims %+v, want %+v", got, claims)
	}
	again, _ := Sign(priv, claims)
	if again != key {
		t.Fatal("signing the same claims twice gave different keys")
	}
}

func TestTamperedKeyFailsVerification(t *testing.T) {
	priv := testKey(1)
	pub := priv.Public().(ed25519.PublicKey)
	key, _ := Sign(priv, claims)
	raw, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(key, "SL1."))
	for i := range raw {
		for _, bit := range []byte{0x01, 0x80} {
			b := append([]byte(nil), raw...)
			b[i] ^= bit
			tampered := "SL1." + base64.RawURLEncoding.EncodeToString(b)
			if _, err := Verify(pub, tampered); !errors.Is(err, ErrInvalid) {
				t.Fatalf("byte %d bit %#x flipped: err = %v", i, bit, err)
			}
		}
	}
	for i := len("SL1."); i < len(key); i++ {
		c := byte('A')
		if key[i] == 'A' {
			c = 'B'
		}
		tampered := key[:i] + string(c) + key[i+1:]
		if _, err := Verify(pub, tampered); !errors.Is(err, ErrInvalid) {
			t.Fatalf("character %d changed: err = %v", i, err)
		}
	}
	for name, bad := range map[string]string{
		"truncated":       key[:len(key)-4],
		"extended":        key + "AA",
		"other_format":    "SL2." + key[4:],
		"no_prefix":       key[4:],
		"empty":           "",
		"not_base64":      "SL1.!!!!",
		"payload_swapped": swapPayload(t, priv, key),
	} {
		if _, err := Verify(pub, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

// swapPayload keeps key's signature but changes the quantity.
func swapPayload(t *testing.T, priv ed25519.PrivateKey, key string) string {
	other := claims
	other.Quantity = 500
	k2, err := Sign(priv, other)
	if err != nil {
		t.Fatal(err)
	}
	r1, _ := base64.RawURLEncoding.DecodeString(key[4:])
	r2, _ := base64.RawURLEncoding.DecodeString(k2[4:])
	mixed := append(append([]byte(nil), r2[:len(r2)-ed25519.SignatureSize]...), r1[len(r1)-ed25519.SignatureSize:]...)
	return "SL1." + base64.RawURLEncoding.EncodeToString(mixed)
}

func TestKeyOfAnotherSignerFailsVerification(t *testing.T) {
	key, _ := Sign(testKey(2), claims)
	if _, err := Verify(testKey(1).Public().(ed25519.PublicKey), key); !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v", err)
	}
}

func TestBadClaimsAreNotSigned(t *testing.T) {
	for name, c := range map[string]Claims{
		"no_license_id":  {ProductID: "p", Quantity: 1},
		"no_product":     {LicenseID: claims.LicenseID, Quantity: 1},
		"zero_quantity":  {LicenseID: claims.LicenseID, ProductID: "p"},
		"long_product":   {LicenseID: claims.LicenseID, ProductID: strings.Repeat("p", 201), Quantity: 1},
		"huge_quantity":  {LicenseID: claims.LicenseID, ProductID: "p", Quantity: 1_000_001},
		"invalid_utf8_p": {LicenseID: claims.LicenseID, ProductID: "\xff", Quantity: 1},
	} {
		if _, err := Sign(testKey(1), c); err == nil {
			t.Errorf("%s: signed", name)
		}
	}
}
