package keyring

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// MasterKeySize is the size of a master key in bytes.
const MasterKeySize = 32

// MasterKey is the key that wraps every data key. It comes from
// configuration (a file or an environment variable), never from the event
// store. Formatting it with fmt prints only its source.
type MasterKey struct {
	key    [MasterKeySize]byte
	source string
	valid  bool
}

// Source returns where the key came from (a file path), for messages.
func (m MasterKey) Source() string { return m.source }

// String names the key's source, never its bytes.
func (m MasterKey) String() string { return "master key from " + m.source }

// GoString names the key's source, never its bytes.
func (m MasterKey) GoString() string { return m.String() }

// ParseMasterKey decodes a master key from its text form: 32 bytes in
// standard base64, surrounding white space ignored. source names where the
// text came from (a file path or an environment variable) for messages.
func ParseMasterKey(text []byte, source string) (MasterKey, error) {
	t := bytes.TrimSpace(text)
	var raw [MasterKeySize + 3]byte
	n, err := base64.StdEncoding.Decode(raw[:], t)
	if err != nil || n != MasterKeySize || base64.StdEncoding.EncodedLen(MasterKeySize) != len(t) {
		return MasterKey{}, fmt.Errorf("%w: %s does not hold %d bytes in base64", ErrMasterKey, source, MasterKeySize)
	}
	m := MasterKey{source: source, valid: true}
	copy(m.key[:], raw[:MasterKeySize])
	clear(raw[:])
	return m, nil
}

// NewMasterKey returns a fresh master key read from random (crypto/rand
// when nil), with source naming where it will be kept.
func NewMasterKey(random io.Reader, source string) (MasterKey, error) {
	if random == nil {
		random = rand.Reader
	}
	m := MasterKey{source: source, valid: true}
	if _, err := io.ReadFull(random, m.key[:]); err != nil {
		return MasterKey{}, fmt.Errorf("%w: generating a key for %s: %v", ErrMasterKey, source, err)
	}
	return m, nil
}

// MarshalText returns the key's text form (base64), for writing it to its
// file.
func (m MasterKey) MarshalText() ([]byte, error) {
	if !m.valid {
		return nil, fmt.Errorf("%w: zero master key", ErrMasterKey)
	}
	return []byte(base64.StdEncoding.EncodeToString(m.key[:])), nil
}

// LoadOrCreateMasterKey reads the master key from the file at path. When the
// file does not exist and mayCreate is true, it creates the file (mode 0600,
// fsynced, with its directory) holding a fresh key from random (crypto/rand
// when nil) and reports created; the caller should warn that a new master
// key was made. mayCreate must be true only when no key ring data exists yet
// (FileRingExists, StoreRingExists): over existing data a missing file is an
// error, never a reason for a new key. Every error names the file and wraps
// ErrMasterKey.
func LoadOrCreateMasterKey(path string, mayCreate bool, random io.Reader) (key MasterKey, created bool, err error) {
	text, err := os.ReadFile(path)
	switch {
	case err == nil:
		k, err := ParseMasterKey(text, path)
		clear(text)
		return k, false, err
	case errors.Is(err, fs.ErrNotExist) && mayCreate:
		k, err := createMasterKeyFile(path, random)
		return k, err == nil, err
	case errors.Is(err, fs.ErrNotExist):
		return MasterKey{}, false, fmt.Errorf("%w: master key file %s does not exist, and the key ring already holds data; refusing to create a new master key over it", ErrMasterKey, path)
	default:
		return MasterKey{}, false, fmt.Errorf("%w: reading master key file %s: %v", ErrMasterKey, path, err)
	}
}

func createMasterKeyFile(path string, random io.Reader) (MasterKey, error) {
	k, err := NewMasterKey(random, path)
	if err != nil {
		return MasterKey{}, err
	}
	text, _ := k.MarshalText()
	defer clear(text)
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return MasterKey{}, fmt.Errorf("%w: creating master key file %s: %v", ErrMasterKey, path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return MasterKey{}, fmt.Errorf("%w: creating master key file %s: %v", ErrMasterKey, path, err)
	}
	_, werr := f.Write(append(text, '\n'))
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = syncDir(dir)
	}
	if werr != nil {
		os.Remove(path)
		return MasterKey{}, fmt.Errorf("%w: writing master key file %s: %v", ErrMasterKey, path, werr)
	}
	return k, nil
}

// syncDir fsyncs a directory so that a file created in it survives a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Labels keep every use of a key apart (domain separation).
const (
	labelKCV         = "subledger/keyring/kcv/v1"
	labelWrapKey     = "subledger/keyring/wrap/v1\x00"
	labelWrapBinding = "subledger/keyring/binding/v1"
	// labelWrapBindingV2 wraps the binding secret of a ring whose events
	// all carry version 2 bindings (MinBindingVersion 2): a header edited
	// back to version 1 no longer unwraps.
	labelWrapBindingV2 = "subledger/keyring/binding/v2"
	labelEventBinding  = "subledger/keyring/event-binding/v2"
	labelFingerprint   = "subledger/keyring/fingerprint/v1\x00"
	labelPseudonym     = "subledger/keyring/pseudonym/v1\x00"
)

// kcv is the key-check value of a master key, stored in a ring's header.
func (m MasterKey) kcv() []byte {
	h := hmac.New(sha256.New, m.key[:])
	h.Write([]byte(labelKCV))
	return h.Sum(nil)[:16]
}

func (m MasterKey) aead() (cipher.AEAD, error) {
	if !m.valid {
		return nil, fmt.Errorf("%w: zero master key", ErrMasterKey)
	}
	b, err := aes.NewCipher(m.key[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// Derive returns a 32-byte secret for one purpose, derived from the master
// key (HMAC-SHA256 under the master key of a fixed prefix and label), so
// that a deployment has one secret to keep safe. Different labels give
// unrelated secrets, and a derived secret does not reveal the master key.
func (m MasterKey) Derive(label string) []byte {
	mac := hmac.New(sha256.New, m.key[:])
	mac.Write([]byte("subledger derived secret\x00" + label))
	return mac.Sum(nil)
}
