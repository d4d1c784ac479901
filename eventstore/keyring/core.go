package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

const (
	keySize     = 32
	keyIDBytes  = 8
	nonceSize   = 12
	tagSize     = 16
	wrappedSize = nonceSize + keySize + tagSize
	bindingSize = 16
)

// core is what both backends share: the master key, the binding secret, the
// cache of unwrapped keys, the set of forgotten subjects and the injected
// clock and random source.
type core struct {
	now          func() time.Time
	random       io.Reader
	randMu       sync.Mutex
	cacheSize    int
	ledgerStream string
	fence        Fence

	master     MasterKey
	wrapper    cipher.AEAD
	binding    []byte
	macs       sync.Pool // *macState under binding (version 1)
	eventMacs  sync.Pool // *macState under the version 2 subkey
	minBinding int       // MinBindingVersion
	scratch    sync.Pool // *unwrapScratch

	mu         sync.RWMutex
	cache      *keyCache
	forgotten  map[string]struct{}
	ledgerNext int64 // the next ledger version not yet applied
	closed     bool
}

func newCore(master MasterKey, cfg Config) (*core, error) {
	w, err := master.aead()
	if err != nil {
		return nil, err
	}
	c := &core{
		now:          cfg.Now,
		random:       cfg.Rand,
		cacheSize:    cfg.CacheSize,
		ledgerStream: cfg.LedgerStream,
		fence:        cfg.Fence,
		master:       master,
		wrapper:      w,
		forgotten:    make(map[string]struct{}),
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.random == nil {
		c.random = rand.Reader
	}
	if c.cacheSize <= 0 {
		c.cacheSize = DefaultCacheSize
	}
	c.cache = newKeyCache(c.cacheSize)
	if c.ledgerStream == "" {
		c.ledgerStream = LedgerStream
	}
	return c, nil
}

// Binding versions a ring can require (Ring.MinBindingVersion).
const (
	bindingV1 = 1
	bindingV2 = 2
)

// bindingLabel is the additional data that wraps the binding secret of a
// ring requiring binding version min, so that the requirement, kept in the
// header beside the wrapped secret, cannot be lowered without the master
// key.
func bindingLabel(min int) []byte {
	if min >= bindingV2 {
		return []byte(labelWrapBindingV2)
	}
	return []byte(labelWrapBinding)
}

// setBinding installs the unwrapped binding secret and the binding version
// the ring requires.
func (c *core) setBinding(secret []byte, min int) {
	c.binding = secret
	c.minBinding = min
	c.macs.New = func() any { return &macState{h: hmac.New(sha256.New, c.binding)} }
	sub := hmac.New(sha256.New, secret)
	sub.Write([]byte(labelEventBinding))
	eventKey := sub.Sum(nil)
	c.eventMacs.New = func() any { return &macState{h: hmac.New(sha256.New, eventKey)} }
}

func (c *core) read(b []byte) error {
	c.randMu.Lock()
	defer c.randMu.Unlock()
	_, err := io.ReadFull(c.random, b)
	return err
}

func (c *core) newEventID() (string, error) {
	c.randMu.Lock()
	defer c.randMu.Unlock()
	id, err := uuid.NewRandomFromReader(c.random)
	if err != nil {
		return "", fmt.Errorf("keyring: generating an event id: %w", err)
	}
	return id.String(), nil
}

// newKey draws fresh key material and a key id.
func (c *core) newKey() (key []byte, keyID string, err error) {
	b := make([]byte, keySize+keyIDBytes)
	if err := c.read(b); err != nil {
		return nil, "", fmt.Errorf("keyring: generating a data key: %w", err)
	}
	return b[:keySize], hex.EncodeToString(b[keySize:]), nil
}

func wrapAAD(label, subject, keyID string) []byte {
	return appendWrapAAD(make([]byte, 0, len(label)+len(subject)+len(keyID)+1), label, subject, keyID)
}

// appendWrapAAD appends the additional data that binds a wrapped secret to
// its subject and key id.
func appendWrapAAD(aad []byte, label, subject, keyID string) []byte {
	aad = append(aad, label...)
	aad = append(aad, subject...)
	aad = append(aad, 0)
	return append(aad, keyID...)
}

// wrap seals secret under the master key; the result is nonce || ciphertext.
func (c *core) wrap(secret, aad []byte) ([]byte, error) {
	out := make([]byte, nonceSize, nonceSize+len(secret)+tagSize)
	if err := c.read(out); err != nil {
		return nil, fmt.Errorf("keyring: generating a nonce: %w", err)
	}
	return c.wrapper.Seal(out, out[:nonceSize], secret, aad), nil
}

func (c *core) unwrap(wrapped, aad []byte) ([]byte, error) {
	if len(wrapped) < nonceSize+tagSize {
		return nil, fmt.Errorf("%w: wrapped key too short", ErrCorrupt)
	}
	return c.wrapper.Open(nil, wrapped[:nonceSize], wrapped[nonceSize:], aad)
}

func (c *core) wrapKey(subject, keyID string, key []byte) ([]byte, error) {
	return c.wrap(key, wrapAAD(labelWrapKey, subject, keyID))
}

// unwrapKey turns a stored wrapped key into a DataKey.
func (c *core) unwrapKey(subject, keyID string, wrapped []byte) (*DataKey, error) {
	if len(wrapped) < nonceSize+tagSize {
		return nil, fmt.Errorf("%w: wrapped key too short", ErrCorrupt)
	}
	s, _ := c.scratch.Get().(*unwrapScratch)
	if s == nil {
		s = &unwrapScratch{key: make([]byte, 0, keySize)}
	}
	defer c.putScratch(s)
	// Grown once to the full size, so that no array left behind by append
	// keeps a part of the subject id or of the wrapped key.
	s.aad = appendWrapAAD(slices.Grow(s.aad[:0], len(labelWrapKey)+len(subject)+1+len(keyID)), labelWrapKey, subject, keyID)
	s.wrapped = append(slices.Grow(s.wrapped[:0], len(wrapped)), wrapped...)
	key, err := c.wrapper.Open(s.key[:0], s.wrapped[:nonceSize], s.wrapped[nonceSize:], s.aad)
	if err != nil {
		return nil, fmt.Errorf("%w: the data key %s of subject %s does not unwrap", ErrCorrupt, keyID, subject)
	}
	defer clear(key)
	s.key = key[:0]
	// The key outlives the caller's subject string, which may share its
	// memory with a larger one (the codec's metadata).
	return newDataKey(strings.Clone(subject), keyID, key)
}

func newDataKey(subject, keyID string, key []byte) (*DataKey, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		return nil, err
	}
	k := &DataKey{subject: subject, id: keyID, aead: g}
	copy(k.material[:], key)
	return k, nil
}

func fingerprint(key []byte) string {
	sum := fingerprintSum(key)
	return hex.EncodeToString(sum[:])
}

// fingerprintSum is the fingerprint's bytes: the first 16 of a labelled
// SHA-256 of the key.
func fingerprintSum(key []byte) [fpBytes]byte {
	h := sha256.New()
	h.Write([]byte(labelFingerprint))
	h.Write(key)
	var sum [sha256.Size]byte
	return [fpBytes]byte(h.Sum(sum[:0]))
}

// bind computes Ring.Bind.
func (c *core) bind(dst []byte, eventID [16]byte, subject, keyID string, sealed []byte) []byte {
	m := c.macs.Get().(*macState)
	b := append(slices.Grow(m.buf[:0], len(eventID)+3*binary.MaxVarintLen64+len(subject)+len(keyID)), eventID[:]...)
	for _, s := range [...]string{subject, keyID} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendUvarint(b, uint64(len(sealed)))
	m.h.Write(b)
	m.h.Write(sealed)
	sum := m.h.Sum(m.sum[:0])
	dst = append(dst, sum[:bindingSize]...)
	m.buf = b
	m.wipe()
	c.macs.Put(m)
	return dst
}

// bindEvent computes Ring.BindEvent: the MAC, under the version 2 subkey,
// of the event id, the schema version, the length-prefixed strings, the
// lengths of the plain JSON and the ciphertext, then those two.
func (c *core) bindEvent(dst []byte, e *EventBinding) []byte {
	m := c.eventMacs.Get().(*macState)
	strs := [...]string{e.Type, e.Stream, e.Subject, e.KeyID, e.Actor, e.RequestID, e.CorrelationID, e.CausationID}
	n := len(e.EventID) + (len(strs)+3)*binary.MaxVarintLen64
	for _, s := range strs {
		n += len(s)
	}
	b := append(slices.Grow(m.buf[:0], n), e.EventID[:]...)
	b = binary.AppendVarint(b, int64(e.SchemaVersion))
	for _, s := range strs {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendUvarint(b, uint64(len(e.Plain)))
	b = binary.AppendUvarint(b, uint64(len(e.Sealed)))
	m.h.Write(b)
	m.h.Write(e.Plain)
	m.h.Write(e.Sealed)
	sum := m.h.Sum(m.sum[:0])
	dst = append(dst, sum[:bindingSize]...)
	m.buf = b
	m.wipe()
	c.eventMacs.Put(m)
	return dst
}

// cached returns the cached key of subject, nil when it is not cached, and
// ErrForgotten when the subject is forgotten.
func (c *core) cached(subject string) (*DataKey, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return nil, ErrClosed
	}
	if _, ok := c.forgotten[subject]; ok {
		return nil, fmt.Errorf("%w: %s", ErrForgotten, subject)
	}
	return c.cache.get(subject), nil
}

// put caches k unless its subject was forgotten meanwhile. Callers hold no lock.
func (c *core) put(k *DataKey) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.forgotten[k.subject]; ok {
		return fmt.Errorf("%w: %s", ErrForgotten, k.subject)
	}
	c.cache.put(k)
	return nil
}

// markForgotten drops subject's key from the cache and remembers that it is
// forgotten. It reports whether the subject was new to the set.
func (c *core) markForgotten(subject string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cache.remove(subject)
	if _, ok := c.forgotten[subject]; ok {
		return false
	}
	c.forgotten[subject] = struct{}{}
	return true
}

func (c *core) isForgotten(subject string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	_, ok := c.forgotten[subject]
	return ok
}

// seenLedger records that ledger versions below next were applied.
func (c *core) seenLedger(next int64) {
	c.mu.Lock()
	if next > c.ledgerNext {
		c.ledgerNext = next
	}
	c.mu.Unlock()
}

func (c *core) ledgerFrom() int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.ledgerNext
}

// keyFor checks a cached or loaded key against the key id an event names.
func keyFor(k *DataKey, subject, keyID string) (*DataKey, error) {
	if k.id != keyID {
		return nil, fmt.Errorf("%w: subject %s has no key %q", ErrUnknownKey, subject, keyID)
	}
	return k, nil
}

func (c *core) checkOpen() error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return ErrClosed
	}
	return nil
}

func (c *core) close() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.closed = true
	c.cache.reset()
	return true
}
