package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aseptsoft/subledger/domain/licensekey"
)

// loadOrCreateSigningKey reads the vendor's Ed25519 license-signing key (its
// 32-byte seed, base64) from path. When the file does not exist and create
// is true, it makes one (0600) and warns: keys signed with a lost key can
// no longer be verified by the vendor's software, so back it up.
func loadOrCreateSigningKey(path string, create bool, logger *slog.Logger) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		seed := make([]byte, ed25519.SeedSize)
		if _, err := rand.Read(seed); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("license signing key %s: %w", path, err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("license signing key %s: %w", path, err)
		}
		_, werr := f.WriteString(base64.StdEncoding.EncodeToString(seed) + "\n")
		if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
			return nil, fmt.Errorf("license signing key %s: %w", path, err)
		}
		logger.Warn("created a new license-signing key; back it up, license keys cannot be verified without it", "file", path)
		return ed25519.NewKeyFromSeed(seed), nil
	}
	if err != nil {
		return nil, fmt.Errorf("license signing key %s: %w", path, err)
	}
	seed, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("license signing key %s: not %d base64-encoded bytes", path, ed25519.SeedSize)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// licenseVerify checks one license key offline, as the vendor's software
// does, and prints what it says.
func licenseVerify(args []string, stdout, stderr io.Writer) error {
	fset := newFlagSet("license verify", stderr)
	dataDir := fset.String("data-dir", "./data", "data directory holding license-signing.key")
	keyFile := fset.String("license-key-file", "", "the license-signing key (default <data-dir>/license-signing.key)")
	pubKey := fset.String("public-key", "", "verify with this base64 Ed25519 public key instead of the signing key file")
	if err := parseWithEnv(fset, args, os.Getenv); err != nil {
		return err
	}
	if fset.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: subledger license verify [flags] KEY")
		return errors.New("license verify: want exactly one license key")
	}
	var pub ed25519.PublicKey
	if *pubKey != "" {
		b, err := base64.StdEncoding.DecodeString(*pubKey)
		if err != nil || len(b) != ed25519.PublicKeySize {
			return fmt.Errorf("--public-key: not %d base64-encoded bytes", ed25519.PublicKeySize)
		}
		pub = b
	} else {
		path := *keyFile
		if path == "" {
			path = filepath.Join(*dataDir, "license-signing.key")
		}
		priv, err := loadOrCreateSigningKey(path, false, nil)
		if err != nil {
			return err
		}
		pub = priv.Public().(ed25519.PublicKey)
	}
	c, err := licensekey.Verify(pub, fset.Arg(0))
	if err != nil {
		return fmt.Errorf("license key does not verify: %w", err)
	}
	return json.NewEncoder(stdout).Encode(map[string]any{
		"valid":      true,
		"license_id": c.LicenseID,
		"product_id": c.ProductID,
		"quantity":   c.Quantity,
		"issued_at":  c.IssuedAt.UTC().Format(time.RFC3339),
	})
}
