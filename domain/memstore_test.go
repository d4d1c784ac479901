package domain

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"
)

// memStore is the domain's Store port in memory, for tests. Like the real
// codec it stores events as JSON (so every event must round-trip), decodes
// the personal fields of a forgotten subject as zero values, and refuses to
// append personal data for a forgotten subject.
type memStore struct {
	mu        sync.Mutex
	types     map[string]reflect.Type
	streams   map[string][]storedEvent
	position  uint64
	forgotten map[string]bool
	// beforeAppend, when set, runs before each append with the lock released
	// (a test injects a concurrent writer with it).
	beforeAppend func(stream string)
	appendLog    []appendRecord
}

// storedEvent keeps the event as decoded from its JSON, so that every load
// sees what a real codec would give back.
type storedEvent struct {
	event   Event
	subject string
}

type appendRecord struct {
	stream string
	events []Event
}

func newMemStore() *memStore {
	m := &memStore{types: map[string]reflect.Type{}, streams: map[string][]storedEvent{}, forgotten: map[string]bool{}}
	for _, e := range EventTypes() {
		m.types[e.EventType()] = reflect.TypeOf(e)
	}
	return m
}

var errForgotten = errors.New("memstore: subject is forgotten")

func (m *memStore) Load(_ context.Context, stream string) ([]Event, int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	stored := m.streams[stream]
	out := make([]Event, 0, len(stored))
	for _, s := range stored {
		e, err := m.decode(s)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, e)
	}
	return out, int64(len(stored)) - 1, nil
}

func (m *memStore) decode(s storedEvent) (Event, error) {
	if s.subject == "" || !m.forgotten[s.subject] {
		return s.event, nil
	}
	t := reflect.TypeOf(s.event)
	v := reflect.New(t).Elem()
	v.Set(reflect.ValueOf(s.event))
	for i := 0; i < t.NumField(); i++ {
		if t.Field(i).Tag.Get("personal") == "true" {
			v.Field(i).SetZero()
		}
	}
	return v.Interface().(Event), nil
}

// roundTrip returns e as a codec would give it back: through JSON.
func (m *memStore) roundTrip(e Event) (Event, error) {
	t, ok := m.types[e.EventType()]
	if !ok {
		return nil, fmt.Errorf("memstore: event type %q is not in EventTypes", e.EventType())
	}
	if reflect.TypeOf(e) != t {
		return nil, fmt.Errorf("memstore: event %T is not the registered %s", e, t)
	}
	data, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	p := reflect.New(t)
	if err := json.Unmarshal(data, p.Interface()); err != nil {
		return nil, err
	}
	return p.Elem().Interface().(Event), nil
}

func (m *memStore) Append(_ context.Context, stream string, expected int64, events []Event, _ Meta) (uint64, error) {
	if m.beforeAppend != nil {
		m.beforeAppend(stream)
	}
	return m.append(stream, expected, events)
}

func (m *memStore) append(stream string, expected int64, events []Event) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur := int64(len(m.streams[stream])) - 1; cur != expected {
		return 0, fmt.Errorf("%w: %s at %d, expected %d", ErrVersionConflict, stream, cur, expected)
	}
	if len(events) == 0 {
		return 0, errors.New("memstore: no events")
	}
	batch := make([]storedEvent, 0, len(events))
	for _, e := range events {
		decoded, err := m.roundTrip(e)
		if err != nil {
			return 0, err
		}
		s := storedEvent{event: decoded}
		if pe, ok := e.(PersonalEvent); ok {
			s.subject = pe.DataSubject()
			// Like the codec: an event for a forgotten subject can still be
			// written when every personal field is empty (nothing to encrypt).
			if m.forgotten[s.subject] && hasPersonalValue(e) {
				return 0, fmt.Errorf("%w: %s", errForgotten, s.subject)
			}
		}
		batch = append(batch, s)
	}
	m.streams[stream] = append(m.streams[stream], batch...)
	m.position += uint64(len(batch))
	m.appendLog = append(m.appendLog, appendRecord{stream: stream, events: events})
	return m.position, nil
}

// given appends events to a stream as if earlier commands had.
func (m *memStore) given(t tb, stream string, events ...Event) {
	t.Helper()
	m.mu.Lock()
	cur := int64(len(m.streams[stream])) - 1
	m.mu.Unlock()
	if _, err := m.append(stream, cur, events); err != nil {
		t.Fatalf("given %s: %v", stream, err)
	}
}

// forget shreds a subject's key.
func (m *memStore) forget(subject string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.forgotten[subject] = true
}

// mark returns the current end of the append log.
func (m *memStore) mark() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.appendLog)
}

// since returns the events appended after mark, as decoded from the store,
// grouped by stream in append order.
func (m *memStore) since(mark int) map[string][]Event {
	m.mu.Lock()
	log := append([]appendRecord(nil), m.appendLog[mark:]...)
	m.mu.Unlock()
	out := map[string][]Event{}
	for _, r := range log {
		for _, e := range r.events {
			d, _ := m.roundTrip(e)
			out[r.stream] = append(out[r.stream], d)
		}
	}
	return out
}

// streamNames returns every stream with the given prefix, sorted.
func (m *memStore) streamNames(prefix string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var names []string
	for name := range m.streams {
		if strings.HasPrefix(name, prefix) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// counterReader is a deterministic "random" source.
type counterReader struct{ n byte }

func (c *counterReader) Read(p []byte) (int, error) {
	for i := range p {
		c.n++
		p[i] = c.n
	}
	return len(p), nil
}

// fixture is a Service over a memStore with a settable clock and
// deterministic ids.
type fixture struct {
	store *memStore
	svc   *Service
	now   time.Time
	ids   int
	pub   ed25519.PublicKey
	// mark is where the current case's command began in the append log.
	mark int
	// tick, when set, advances the clock on every reading, so that a
	// decision that wrongly depends on the clock shows.
	tick    time.Duration
	clockMu sync.Mutex
}

func (f *fixture) clock() time.Time {
	f.clockMu.Lock()
	defer f.clockMu.Unlock()
	now := f.now
	f.now = f.now.Add(f.tick)
	return now
}

var (
	testSecret  = []byte("0123456789abcdef0123456789abcdef")
	testSeed    = []byte("subledger-test-license-seed-0001")
	testStart   = time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	testHold    = 720 * time.Hour
	testGrace   = 720 * time.Hour
	testArgon2  = Argon2id{Time: 1, MemoryKiB: 64, Threads: 1, KeyLen: 32, SaltLen: 16}
	testSignKey = ed25519.NewKeyFromSeed(testSeed)
)

// tb is what fixtures need of a *testing.T or a *rapid.T.
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

func newFixture(t tb) *fixture {
	t.Helper()
	f := &fixture{store: newMemStore(), now: testStart, pub: testSignKey.Public().(ed25519.PublicKey)}
	svc, err := NewService(Config{
		Store:             f.store,
		Secret:            testSecret,
		LicenseSigningKey: testSignKey,
		Now:               f.clock,
		NewID:             f.nextID,
		Random:            &counterReader{},
		Passwords:         testArgon2,
		ErasureGrace:      testGrace,
		CommissionHold:    testHold,
		Pseudonyms:        f.store,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	return f
}

func (f *fixture) nextID() string {
	f.ids++
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", f.ids)
}

// idN returns the n-th id the fixture hands out.
func idN(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

// hasPersonalValue reports whether any field of e tagged personal is not zero.
func hasPersonalValue(e Event) bool {
	v := reflect.ValueOf(e)
	for i := 0; i < v.NumField(); i++ {
		if v.Type().Field(i).Tag.Get("personal") == "true" && !v.Field(i).IsZero() {
			return true
		}
	}
	return false
}

// pseudonymOf is the pseudonym the memStore gives subject for label: a
// stand-in for the key ring's, derived from nothing secret.
func pseudonymOf(subject, label string) string { return "pseudonym(" + label + "," + subject + ")" }

// Pseudonym implements Pseudonyms like the key ring: stable, and refused
// once the subject is forgotten.
func (m *memStore) Pseudonym(_ context.Context, subject, label string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.forgotten[subject] {
		return "", fmt.Errorf("%w: %s", errForgotten, subject)
	}
	return pseudonymOf(subject, label), nil
}
