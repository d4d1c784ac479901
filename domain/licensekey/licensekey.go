// Package licensekey signs and verifies subledger license keys.
//
// A license key is a compact string that the vendor's software verifies
// offline with the vendor's Ed25519 public key:
//
//	SL1.<base64url(payload || signature)>
//
// without padding. The payload is binary: a format byte (1), the license id
// (16 bytes, a UUID), the issue time (int64 Unix seconds, big-endian), the
// quantity (unsigned varint) and the product id (unsigned varint length,
// UTF-8 bytes). The 64-byte Ed25519 signature covers the context string
// "subledger-license-key-v1" and a zero byte followed by the payload. A key
// holds no personal data.
package licensekey

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

const (
	prefix      = "SL1."
	format      = 1
	context     = "subledger-license-key-v1\x00"
	maxProduct  = 200
	maxQuantity = 1_000_000
)

// ErrInvalid is returned (wrapped) for a key that is malformed or whose
// signature does not verify.
var ErrInvalid = errors.New("licensekey: invalid license key")

// Claims is what a license key says.
type Claims struct {
	LicenseID string
	ProductID string
	Quantity  int
	IssuedAt  time.Time
}

// Sign returns the license key for c, signed with key. The issue time is
// kept to the second; the same claims and key always give the same string.
func Sign(key ed25519.PrivateKey, c Claims) (string, error) {
	if len(key) != ed25519.PrivateKeySize {
		return "", errors.New("licensekey: bad signing key")
	}
	id, err := uuid.Parse(c.LicenseID)
	if err != nil {
		return "", fmt.Errorf("licensekey: license id: %w", err)
	}
	if c.ProductID == "" || len(c.ProductID) > maxProduct || !utf8.ValidString(c.ProductID) {
		return "", errors.New("licensekey: bad product id")
	}
	if c.Quantity < 1 || c.Quantity > maxQuantity {
		return "", errors.New("licensekey: quantity out of range")
	}
	payload := make([]byte, 0, 1+16+8+binary.MaxVarintLen64*2+len(c.ProductID))
	payload = append(payload, format)
	payload = append(payload, id[:]...)
	payload = binary.BigEndian.AppendUint64(payload, uint64(c.IssuedAt.Unix()))
	payload = binary.AppendUvarint(payload, uint64(c.Quantity))
	payload = binary.AppendUvarint(payload, uint64(len(c.ProductID)))
	payload = append(payload, c.ProductID...)
	sig := ed25519.Sign(key, signed(payload))
	return prefix + base64.RawURLEncoding.EncodeToString(append(payload, sig...)), nil
}

// Verify checks key's signature with pub and returns its claims.
func Verify(pub ed25519.PublicKey, key string) (Claims, error) {
	if len(pub) != ed25519.PublicKeySize {
		return Claims{}, errors.New("licensekey: bad public key")
	}
	body, ok := strings.CutPrefix(strings.TrimSpace(key), prefix)
	if !ok {
		return Claims{}, fmt.Errorf("%w: unknown format", ErrInvalid)
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(body)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: not base64url", ErrInvalid)
	}
	if len(raw) < ed25519.SignatureSize+1+16+8+2 {
		return Claims{}, fmt.Errorf("%w: too short", ErrInvalid)
	}
	payload, sig := raw[:len(raw)-ed25519.SignatureSize], raw[len(raw)-ed25519.SignatureSize:]
	if !ed25519.Verify(pub, signed(payload), sig) {
		return Claims{}, fmt.Errorf("%w: bad signature", ErrInvalid)
	}
	c, err := parse(payload)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return c, nil
}

func signed(payload []byte) []byte {
	return append([]byte(context), payload...)
}

func parse(p []byte) (Claims, error) {
	if p[0] != format {
		return Claims{}, errors.New("unknown payload format")
	}
	p = p[1:]
	id, err := uuid.FromBytes(p[:16])
	if err != nil {
		return Claims{}, err
	}
	p = p[16:]
	issued := int64(binary.BigEndian.Uint64(p[:8]))
	p = p[8:]
	qty, n := binary.Uvarint(p)
	if n <= 0 || qty < 1 || qty > maxQuantity {
		return Claims{}, errors.New("bad quantity")
	}
	p = p[n:]
	plen, n := binary.Uvarint(p)
	if n <= 0 || plen == 0 || plen > maxProduct || uint64(len(p)-n) != plen {
		return Claims{}, errors.New("bad product id")
	}
	product := string(p[n:])
	if !utf8.ValidString(product) {
		return Claims{}, errors.New("bad product id")
	}
	return Claims{LicenseID: id.String(), ProductID: product, Quantity: int(qty), IssuedAt: time.Unix(issued, 0).UTC()}, nil
}
