package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aseptsoft/subledger/domain/licensekey"
)

func TestLicenseVerify(t *testing.T) {
	dir := t.TempDir()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	priv, err := loadOrCreateSigningKey(filepath.Join(dir, "license-signing.key"), true, logger)
	if err != nil {
		t.Fatal(err)
	}
	again, err := loadOrCreateSigningKey(filepath.Join(dir, "license-signing.key"), true, logger)
	if err != nil || !again.Equal(priv) {
		t.Fatalf("second load gave another key (err %v)", err)
	}
	if st, _ := os.Stat(filepath.Join(dir, "license-signing.key")); st.Mode().Perm() != 0o600 {
		t.Fatalf("signing key file mode %v, want 0600", st.Mode().Perm())
	}
	key, err := licensekey.Sign(priv, licensekey.Claims{LicenseID: "0b5e8f0c-8a4e-4a38-9d6e-0f1c2b3a4d5e", ProductID: "desktop-pro", Quantity: 3, IssuedAt: time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	other, _, _ := ed25519.GenerateKey(nil)
	tampered := []byte(key)
	tampered[len(tampered)-5] ^= 1
	cases := []struct {
		name  string
		args  []string
		valid bool
	}{
		{"genuine_key_verifies_with_the_data_dir", []string{"--data-dir", dir, key}, true},
		{"genuine_key_verifies_with_the_public_key", []string{"--public-key", base64.StdEncoding.EncodeToString(priv.Public().(ed25519.PublicKey)), key}, true},
		{"tampered_key_is_refused", []string{"--data-dir", dir, string(tampered)}, false},
		{"key_of_another_vendor_is_refused", []string{"--public-key", base64.StdEncoding.EncodeToString(other), key}, false},
		{"missing_signing_key_is_an_error", []string{"--data-dir", t.TempDir(), key}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), append([]string{"license", "verify"}, c.args...), &out, &errOut)
			if !c.valid {
				if err == nil {
					t.Fatalf("verify succeeded: %s", out.String())
				}
				return
			}
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			var got map[string]any
			if err := json.Unmarshal(out.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if got["product_id"] != "desktop-pro" || got["quantity"] != float64(3) || got["issued_at"] != "2026-11-29T10:00:00Z" {
				t.Fatalf("verify printed %v", got)
			}
		})
	}
}
