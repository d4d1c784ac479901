package domain

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// Config is what a Service needs. Store, Secret and LicenseSigningKey are
// required; the rest have defaults.
type Config struct {
	// Store is where aggregates are loaded from and appended to.
	Store Store
	// Secret keys every derived id and digest (Stripe ids, e-mail addresses).
	// It must stay the same for the life of the data: at least 32 bytes.
	Secret []byte
	// LicenseSigningKey signs license keys.
	LicenseSigningKey ed25519.PrivateKey
	// Now is the clock; default time.Now.
	Now func() time.Time
	// NewID returns a new random id; default a random UUID.
	NewID func() string
	// Random is the source of salts, affiliate codes and keys; default crypto/rand.
	Random io.Reader
	// Passwords are the argon2id parameters for new password hashes.
	Passwords Argon2id
	// ErasureGrace is the wait between the end of an account's last paid
	// subscription and its erasure; default 720h.
	ErasureGrace time.Duration
	// CommissionHold is the wait after a sale before its commission is
	// approved; default 720h when zero; a negative value means no wait
	// (like net.Dialer.KeepAlive).
	CommissionHold time.Duration
	// ReservationGrace is how long a reservation whose owner does not (yet)
	// use it is protected, covering a registration or change in flight;
	// default 5 minutes.
	ReservationGrace time.Duration
	// MaxAttempts bounds the decide-append attempts on version conflicts;
	// default 5.
	MaxAttempts int
	// Pseudonyms gives a person the pseudonymous data subject of their
	// reservations (see ReservationClaimed). Required.
	Pseudonyms Pseudonyms
	// MaxConcurrentHashes bounds the password hashes (argon2id, each
	// Passwords.MemoryKiB of memory) computed at once; others wait for a
	// slot. Default 2 x GOMAXPROCS.
	MaxConcurrentHashes int
}

// Pseudonyms derives, from a person's own data key, a stable id for them
// and a purpose that nobody can compute again once the key is shredded.
// The key ring provides it; PseudonymEmailReservation and
// PseudonymAffiliateCode are the purposes the domain uses.
type Pseudonyms interface {
	Pseudonym(ctx context.Context, subject, label string) (string, error)
}

// Purposes of pseudonyms. Erasing an account also forgets its
// PseudonymEmailReservation subject (see Account.DataSubjects).
const (
	PseudonymEmailReservation = "email-reservation"
	PseudonymAffiliateCode    = "affiliate-code-reservation"
)

// Service handles the domain's commands against a Store.
type Service struct {
	store       Store
	keys        keys
	signingKey  ed25519.PrivateKey
	now         func() time.Time
	newID       func() string
	random      io.Reader
	passwords   Argon2id
	grace       time.Duration
	hold        time.Duration
	resGrace    time.Duration
	maxAttempts int
	pseudonyms  Pseudonyms
	hashSlots   chan struct{}
	// hashing and maxHashing count hashes in flight (tests read them).
	hashing, maxHashing atomic.Int64
}

// NewService checks c, fills in defaults and returns a Service.
func NewService(c Config) (*Service, error) {
	if c.Store == nil {
		return nil, errors.New("domain: Config.Store is required")
	}
	if len(c.Secret) < 32 {
		return nil, errors.New("domain: Config.Secret must be at least 32 bytes")
	}
	if len(c.LicenseSigningKey) != ed25519.PrivateKeySize {
		return nil, errors.New("domain: Config.LicenseSigningKey must be an Ed25519 private key")
	}
	if c.Pseudonyms == nil {
		return nil, errors.New("domain: Config.Pseudonyms is required")
	}
	s := &Service{
		store:       c.Store,
		keys:        keys{secret: append([]byte(nil), c.Secret...)},
		signingKey:  c.LicenseSigningKey,
		now:         c.Now,
		newID:       c.NewID,
		random:      c.Random,
		pseudonyms:  c.Pseudonyms,
		passwords:   c.Passwords,
		grace:       c.ErasureGrace,
		hold:        c.CommissionHold,
		resGrace:    c.ReservationGrace,
		maxAttempts: c.MaxAttempts,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.newID == nil {
		s.newID = uuid.NewString
	}
	if s.random == nil {
		s.random = rand.Reader
	}
	s.passwords = s.passwords.withDefaults()
	if s.grace == 0 {
		s.grace = 720 * time.Hour
	}
	switch {
	case s.hold == 0:
		s.hold = 720 * time.Hour
	case s.hold < 0:
		s.hold = 0
	}
	if s.resGrace == 0 {
		s.resGrace = 5 * time.Minute
	}
	if s.maxAttempts <= 0 {
		s.maxAttempts = 5
	}
	n := c.MaxConcurrentHashes
	if n <= 0 {
		n = 2 * runtime.GOMAXPROCS(0)
	}
	s.hashSlots = make(chan struct{}, n)
	return s, nil
}

// withHashSlot runs f, which computes password hashes, once one of the
// MaxConcurrentHashes slots is free, so that a burst of sign-ins cannot
// exhaust memory; it gives up when ctx ends.
func (s *Service) withHashSlot(ctx context.Context, f func()) error {
	select {
	case s.hashSlots <- struct{}{}:
	case <-ctx.Done():
		return Errorf(KindRateLimited, CodeRateLimited, "too many password checks at once; try again")
	}
	n := s.hashing.Add(1)
	for {
		m := s.maxHashing.Load()
		if n <= m || s.maxHashing.CompareAndSwap(m, n) {
			break
		}
	}
	defer func() {
		s.hashing.Add(-1)
		<-s.hashSlots
	}()
	f()
	return nil
}

// hash hashes a new password in a hash slot.
func (s *Service) hash(ctx context.Context, password string) (string, error) {
	var h string
	var err error
	if serr := s.withHashSlot(ctx, func() { h, err = s.passwords.Hash(password, s.random) }); serr != nil {
		return "", serr
	}
	return h, err
}

// clock returns the current time in UTC.
func (s *Service) clock() time.Time { return s.now().UTC() }

// aggregate is what execute needs of an aggregate: its one apply and its
// uncommitted events.
type aggregate interface {
	apply(Event)
	uncommitted() *[]Event
}

// execute loads stream into a fresh aggregate, folds it, lets decide record
// events and appends them with the expected version. On a version conflict it
// reloads and decides again, at most s.maxAttempts times, then returns a
// Conflict error. A decide that records nothing appends nothing and returns
// position 0. The returned aggregate has no uncommitted events.
func execute[A aggregate](ctx context.Context, s *Service, stream string, fresh func() A, decide func(A) error) (A, uint64, error) {
	var zero A
	for range s.maxAttempts {
		a, version, err := load(ctx, s, stream, fresh)
		if err != nil {
			return zero, 0, err
		}
		if err := decide(a); err != nil {
			return zero, 0, err
		}
		changes := a.uncommitted()
		if len(*changes) == 0 {
			return a, 0, nil
		}
		pos, err := s.store.Append(ctx, stream, version, *changes, MetaFrom(ctx))
		if errors.Is(err, ErrVersionConflict) {
			continue
		}
		if err != nil {
			return zero, 0, fmt.Errorf("append to %s: %w", stream, err)
		}
		*changes = nil
		return a, pos, nil
	}
	return zero, 0, &Error{Kind: KindConflict, Code: CodeConflict, Message: "the resource kept changing; try again", Err: ErrVersionConflict}
}

// load folds stream into a fresh aggregate and returns it with the stream's
// version.
func load[A aggregate](ctx context.Context, s *Service, stream string, fresh func() A) (A, int64, error) {
	var zero A
	events, version, err := s.store.Load(ctx, stream)
	if err != nil {
		return zero, 0, fmt.Errorf("load %s: %w", stream, err)
	}
	a := fresh()
	r, replays := any(a).(replayer)
	if replays {
		r.beginReplay()
	}
	for _, e := range events {
		a.apply(e)
	}
	if replays {
		r.endReplay()
	}
	return a, version, nil
}

// replayer is an aggregate that derives its state once after its stream is
// loaded rather than after every event.
type replayer interface {
	beginReplay()
	endReplay()
}

// Result is where a command's last append landed; callers wait for the
// projections to reach Position (0: nothing was appended).
type Result struct {
	Position uint64
}

// maxPos returns the larger of two positions.
func maxPos(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}
