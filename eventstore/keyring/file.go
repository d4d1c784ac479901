package keyring

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/aseptsoft/subledger/eventstore"
)

// FileRing is the embedded deployment's key ring: one slot file in a
// directory of the data directory, with its erasure ledger in the embedded
// event store. Only one process opens a directory at a time (an exclusive
// lock on the file).
type FileRing struct {
	c     *core
	path  string
	f     *os.File
	store eventstore.Store

	wmu   sync.Mutex // serializes writes to the file
	imu   sync.RWMutex
	slots *slotIndex
	free  []int // indexes of empty slots
	n     int   // number of slots in the file
	// slotMask is the mask of the slot index's hashes (slotIndex.mask):
	// all ones, except in tests that narrow it to make subjects collide.
	slotMask uint64
}

// FileRingExists reports whether dir holds a FileRing's data, so that a
// caller decides whether a missing master key file may be created.
func FileRingExists(dir string) (bool, error) {
	st, err := os.Stat(filepath.Join(dir, SlotFile))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("keyring: %w", err)
	}
	return st.Size() > 0, nil
}

// OpenFileRing opens the FileRing in dir (creating dir and an empty ring when
// there is none), checks master against the ring's key-check value, and
// re-applies the erasure ledger kept in store: every subject the ledger
// names is forgotten, and a live slot for it (from a restored backup, or a
// Forget interrupted by a crash) is wiped before OpenFileRing returns. The
// ring does not close store.
func OpenFileRing(ctx context.Context, dir string, master MasterKey, store eventstore.Store, cfg Config) (*FileRing, error) {
	return openFileRing(ctx, dir, master, store, cfg, ^uint64(0))
}

// openFileRing is OpenFileRing with the mask of the slot index's hashes,
// which only tests narrow.
func openFileRing(ctx context.Context, dir string, master MasterKey, store eventstore.Store, cfg Config, slotMask uint64) (*FileRing, error) {
	c, err := newCore(master, cfg)
	if err != nil {
		return nil, err
	}
	if store == nil {
		return nil, errors.New("keyring: a file ring needs an event store for its erasure ledger")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	path := filepath.Join(dir, SlotFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("keyring: %s is in use by another process: %w", path, err)
	}
	r := &FileRing{c: c, path: path, f: f, store: store, slotMask: slotMask}
	if err := r.load(ctx, dir); err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

func (r *FileRing) load(ctx context.Context, dir string) error {
	st, err := r.f.Stat()
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	if st.Size() == 0 {
		if err := r.create(dir); err != nil {
			return err
		}
	} else if err := r.readHeader(); err != nil {
		return err
	}
	if err := r.readSlots(); err != nil {
		return err
	}
	// Re-apply the ledger: wipe every live slot of a forgotten subject.
	var wipe []string
	next, err := r.c.readLedger(ctx, r.store, 0, func(e Erasure) error {
		if r.c.markForgotten(e.SubjectID) {
			if i := r.slots.lookup(e.SubjectID); i >= 0 && r.slots.state(i) == slotLive {
				wipe = append(wipe, e.SubjectID)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.c.seenLedger(next)
	// A tombstone alone keeps its subject forgotten, even without the ledger.
	for i := range r.slots.n {
		if r.slots.state(i) == slotForgotten {
			r.c.markForgotten(string(r.slots.name(i)))
		}
	}
	if len(wipe) > 0 {
		r.wmu.Lock()
		defer r.wmu.Unlock()
		now := r.c.now().UnixNano()
		for _, subject := range wipe {
			if err := r.writeTombstone(subject, now); err != nil {
				return err
			}
		}
		if err := r.f.Sync(); err != nil {
			return fmt.Errorf("keyring: syncing %s: %w", r.path, err)
		}
	}
	return nil
}

// DataKey implements Ring.
func (r *FileRing) DataKey(ctx context.Context, subject string) (*DataKey, error) {
	if err := validSubject(subject); err != nil {
		return nil, err
	}
	if k, err := r.c.cached(subject); k != nil || err != nil {
		return k, err
	}
	if k, err := r.load1(subject); k != nil || err != nil {
		return k, err
	}
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if k, err := r.c.cached(subject); k != nil || err != nil {
		return k, err
	}
	if k, err := r.load1(subject); k != nil || err != nil {
		return k, err
	}
	key, keyID, err := r.c.newKey()
	if err != nil {
		return nil, err
	}
	defer clear(key)
	wrapped, err := r.c.wrapKey(subject, keyID, key)
	if err != nil {
		return nil, err
	}
	k, err := newDataKey(subject, keyID, key)
	if err != nil {
		return nil, err
	}
	p, err := liveSlot(subject, keyID, fingerprintSum(key), r.c.now().UnixNano(), wrapped)
	if err != nil {
		return nil, err
	}
	index := r.allocSlot()
	if err := r.writeSlot(p[:], index); err != nil {
		return nil, err
	}
	if err := r.f.Sync(); err != nil {
		return nil, fmt.Errorf("keyring: syncing %s: %w", r.path, err)
	}
	r.imu.Lock()
	r.slots.add(p[:], index)
	r.imu.Unlock()
	if err := r.c.put(k); err != nil {
		return nil, err
	}
	return k, nil
}

// load1 returns subject's key from its slot, nil when it has none.
func (r *FileRing) load1(subject string) (*DataKey, error) {
	var (
		state   byte
		id      [keyIDBytes]byte
		wrapped [wrappedSize]byte
	)
	r.imu.RLock()
	i := r.slots.lookup(subject)
	if i >= 0 {
		rec := r.slots.rec(i)
		state = rec[offState]
		copy(id[:], rec[offKeyID:])
		copy(wrapped[:], rec[offWrapped:])
	}
	r.imu.RUnlock()
	if i < 0 {
		return nil, nil
	}
	if state == slotForgotten {
		r.c.markForgotten(subject)
		return nil, fmt.Errorf("%w: %s", ErrForgotten, subject)
	}
	k, err := r.c.unwrapKey(subject, hex.EncodeToString(id[:]), wrapped[:])
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, r.path)
	}
	if err := r.c.put(k); err != nil {
		return nil, err
	}
	return k, nil
}

// Key implements Ring.
func (r *FileRing) Key(ctx context.Context, subject, keyID string) (*DataKey, error) {
	k, err := r.c.cached(subject)
	if err != nil {
		return nil, err
	}
	if k == nil {
		if err := validSubject(subject); err != nil {
			return nil, err
		}
		if k, err = r.load1(subject); err != nil {
			return nil, err
		}
		if k == nil {
			return nil, fmt.Errorf("%w: subject %s has no key", ErrUnknownKey, subject)
		}
	}
	return keyFor(k, subject, keyID)
}

// Forget implements Ring. Once it returns nil, the ledger holds the erasure
// and the slot file holds no trace of the key but its id and fingerprint.
func (r *FileRing) Forget(ctx context.Context, subject string) error {
	if err := validSubject(subject); err != nil {
		return err
	}
	if err := r.c.checkOpen(); err != nil {
		return err
	}
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if r.c.isForgotten(subject) {
		// Finish an earlier Forget that failed after its ledger record.
		return r.wipeLiveLocked(subject)
	}
	now := r.c.now()
	e := Erasure{SubjectID: subject, ForgottenAt: now.UTC()}
	r.imu.RLock()
	if i := r.slots.lookup(subject); i >= 0 && r.slots.state(i) == slotLive {
		e.KeyID, e.KeyFingerprint = r.slots.keyID(i)
	}
	r.imu.RUnlock()
	if err := r.c.appendErasure(ctx, r.store, e); err != nil {
		return err
	}
	r.c.markForgotten(subject)
	if err := r.writeTombstone(subject, now.UnixNano()); err != nil {
		return err
	}
	if err := r.f.Sync(); err != nil {
		return fmt.Errorf("keyring: syncing %s: %w", r.path, err)
	}
	return nil
}

// Bind implements Ring.
func (r *FileRing) Bind(dst []byte, eventID [16]byte, subject, keyID string, sealed []byte) []byte {
	return r.c.bind(dst, eventID, subject, keyID, sealed)
}

// BindEvent implements Ring.
func (r *FileRing) BindEvent(dst []byte, e *EventBinding) []byte { return r.c.bindEvent(dst, e) }

// MinBindingVersion implements Ring.
func (r *FileRing) MinBindingVersion() int { return r.c.minBinding }

// Observe implements Ring. For an erasure record naming a subject whose slot
// is still live, it also wipes the slot.
func (r *FileRing) Observe(ev eventstore.Event) error {
	if err := r.c.checkOpen(); err != nil {
		return err
	}
	e, ok, err := r.c.observe(ev)
	if err != nil || !ok {
		return err
	}
	return r.wipeLive(e.SubjectID)
}

// wipeLive tombstones subject's slot when it is live.
func (r *FileRing) wipeLive(subject string) error {
	if !r.live(subject) {
		return nil
	}
	r.wmu.Lock()
	defer r.wmu.Unlock()
	return r.wipeLiveLocked(subject)
}

// wipeLiveLocked is wipeLive for a caller that holds wmu.
func (r *FileRing) wipeLiveLocked(subject string) error {
	if !r.live(subject) {
		return nil
	}
	if err := r.writeTombstone(subject, r.c.now().UnixNano()); err != nil {
		return err
	}
	if err := r.f.Sync(); err != nil {
		return fmt.Errorf("keyring: syncing %s: %w", r.path, err)
	}
	return nil
}

// live reports whether subject has a live slot.
func (r *FileRing) live(subject string) bool {
	r.imu.RLock()
	defer r.imu.RUnlock()
	i := r.slots.lookup(subject)
	return i >= 0 && r.slots.state(i) == slotLive
}

// Refresh implements Ring.
func (r *FileRing) Refresh(ctx context.Context) error {
	if err := r.c.checkOpen(); err != nil {
		return err
	}
	var subjects []string
	next, err := r.c.readLedger(ctx, r.store, r.c.ledgerFrom(), func(e Erasure) error {
		r.c.markForgotten(e.SubjectID)
		subjects = append(subjects, e.SubjectID)
		return nil
	})
	for _, s := range subjects {
		if werr := r.wipeLive(s); werr != nil {
			return werr
		}
	}
	if err != nil {
		return err
	}
	r.c.seenLedger(next)
	return nil
}

// Close implements Ring. It does not close the event store.
func (r *FileRing) Close() error {
	if !r.c.close() {
		return nil
	}
	r.wmu.Lock()
	defer r.wmu.Unlock()
	return r.f.Close()
}
