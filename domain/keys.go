package domain

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"

	"github.com/google/uuid"
)

// deriveNamespace returns the UUID namespace that separates subledger's
// derived ids from other UUIDs.
func deriveNamespace() uuid.UUID {
	return uuid.UUID{0x6f, 0x1c, 0x2a, 0x57, 0x3a, 0x1e, 0x4c, 0x0b, 0x9a, 0x51, 0x8e, 0x0f, 0x5d, 0x7c, 0x2b, 0x10}
}

// keys derives ids and digests from external identifiers (Stripe ids,
// e-mail addresses) with HMAC-SHA256 under the server secret: the same input
// always gives the same id, and the id reveals nothing of the input to
// anyone without the secret.
type keys struct {
	secret []byte
}

// id returns a UUID (version 8) derived from a namespace and a value.
func (k keys) id(namespace, value string) string {
	return uuid.NewHash(hmac.New(sha256.New, k.secret), deriveNamespace(), []byte(namespace+"\x00"+value), 8).String()
}

// digest returns a 32-hex-digit keyed digest of a namespace and a value.
func (k keys) digest(namespace, value string) string {
	m := hmac.New(sha256.New, k.secret)
	m.Write([]byte(namespace + "\x00" + value))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// rowID derives the id of a row inside an aggregate (a reversal of a sale)
// from the aggregate's id and a fact key that is already a keyed digest.
func rowID(parent, factKey string) string {
	space, err := uuid.Parse(parent)
	if err != nil {
		space = deriveNamespace()
	}
	return uuid.NewHash(sha256.New(), space, []byte(factKey), 8).String()
}
