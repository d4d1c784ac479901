package keyring

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/aseptsoft/subledger/eventstore/embedded"
)

func openStore(t testing.TB, dir string) *embedded.Store {
	t.Helper()
	s, err := embedded.Open(dir, embedded.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func testMaster(t *testing.T) MasterKey {
	t.Helper()
	m, err := NewMasterKey(nil, filepath.Join(t.TempDir(), "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// wrappedOf returns the wrapped key of subject as the ring stores it.
func wrappedOf(t *testing.T, r *FileRing, subject string) []byte {
	t.Helper()
	r.imu.RLock()
	defer r.imu.RUnlock()
	i := r.slots.lookup(subject)
	if i < 0 || r.slots.state(i) != slotLive {
		t.Fatalf("subject %s has no live slot", subject)
	}
	return bytes.Clone(r.slots.rec(i)[offWrapped : offWrapped+wrappedSize])
}

func fileHolds(t *testing.T, path string, needle []byte) bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Contains(b, needle)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestRestoredBackupCannotResurrectAForgottenKey is issue 3's restore test:
// copy the ring's file, forget a subject, put the old copy back, start: the
// subject stays forgotten and the restored slot is wiped.
func TestRestoredBackupCannotResurrectAForgottenKey(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store := openStore(t, filepath.Join(dir, "events"))
	ringDir := filepath.Join(dir, "keyring")
	path := filepath.Join(ringDir, SlotFile)
	m := testMaster(t)
	r, err := OpenFileRing(ctx, ringDir, m, store, Config{})
	if err != nil {
		t.Fatal(err)
	}
	gone, kept := uuid.NewString(), uuid.NewString()
	kg, err := r.DataKey(ctx, gone)
	if err != nil {
		t.Fatal(err)
	}
	kk, err := r.DataKey(ctx, kept)
	if err != nil {
		t.Fatal(err)
	}
	wrappedGone, wrappedKept := wrappedOf(t, r, gone), wrappedOf(t, r, kept)
	backup := filepath.Join(dir, "backup.slots")
	copyFile(t, path, backup)
	if err := r.Forget(ctx, gone); err != nil {
		t.Fatal(err)
	}
	if fileHolds(t, path, wrappedGone) {
		t.Fatal("the wrapped key is still in the slot file after Forget")
	}
	r.Close()

	copyFile(t, backup, path)
	if !fileHolds(t, path, wrappedGone) {
		t.Fatal("the restored file does not hold the old wrapped key: the test proves nothing")
	}
	r2, err := OpenFileRing(ctx, ringDir, m, store, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if _, err := r2.DataKey(ctx, gone); !errors.Is(err, ErrForgotten) {
		t.Fatalf("DataKey after restore: %v, want ErrForgotten", err)
	}
	if _, err := r2.Key(ctx, gone, kg.ID()); !errors.Is(err, ErrForgotten) {
		t.Fatalf("Key after restore: %v, want ErrForgotten", err)
	}
	if fileHolds(t, path, wrappedGone) {
		t.Fatal("reopening did not wipe the restored slot")
	}
	if !fileHolds(t, path, wrappedKept) {
		t.Fatal("reopening wiped a subject that was not forgotten")
	}
	if k, err := r2.Key(ctx, kept, kk.ID()); err != nil || k.Fingerprint() != kk.Fingerprint() {
		t.Fatalf("the kept subject's key after restore: %v", err)
	}
}

func TestOpenFileRingRefusesBadFiles(t *testing.T) {
	ctx := context.Background()
	m := testMaster(t)
	cases := []struct {
		name    string
		damage  func(t *testing.T, path string)
		wantErr error
	}{
		{"flipped_bit_in_a_slot_is_corrupt", func(t *testing.T, path string) {
			b, _ := os.ReadFile(path)
			b[headerSize+offSubject] ^= 1
			os.WriteFile(path, b, 0o600)
		}, ErrCorrupt},
		{"flipped_bit_in_the_header_is_corrupt", func(t *testing.T, path string) {
			b, _ := os.ReadFile(path)
			b[20] ^= 1
			os.WriteFile(path, b, 0o600)
		}, ErrCorrupt},
		{"truncated_slot_is_corrupt", func(t *testing.T, path string) {
			os.Truncate(path, headerSize+slotSize-10)
		}, ErrCorrupt},
		{"foreign_file_is_corrupt", func(t *testing.T, path string) {
			os.WriteFile(path, bytes.Repeat([]byte("not a ring "), 1000), 0o600)
		}, ErrCorrupt},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			store := openStore(t, filepath.Join(dir, "events"))
			ringDir := filepath.Join(dir, "keyring")
			r, err := OpenFileRing(ctx, ringDir, m, store, Config{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.DataKey(ctx, uuid.NewString()); err != nil {
				t.Fatal(err)
			}
			r.Close()
			path := filepath.Join(ringDir, SlotFile)
			c.damage(t, path)
			r, err = OpenFileRing(ctx, ringDir, m, store, Config{})
			if err == nil {
				r.Close()
				t.Fatal("opened a damaged ring")
			}
			if !errors.Is(err, c.wantErr) || !strings.Contains(err.Error(), path) {
				t.Fatalf("open: %v, want %v naming %s", err, c.wantErr, path)
			}
		})
	}
}

func TestSecondOpenOfOneFileRingIsRefused(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store := openStore(t, filepath.Join(dir, "events"))
	m := testMaster(t)
	r, err := OpenFileRing(ctx, filepath.Join(dir, "keyring"), m, store, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r2, err := OpenFileRing(ctx, filepath.Join(dir, "keyring"), m, store, Config{}); err == nil {
		r2.Close()
		t.Fatal("a second ring opened the same directory")
	} else if !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second open: %v", err)
	}
}

func TestFileRingExistsOnlyOnceCreated(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ringDir := filepath.Join(dir, "keyring")
	if ok, err := FileRingExists(ringDir); ok || err != nil {
		t.Fatalf("FileRingExists before creation: %v, %v", ok, err)
	}
	r, err := OpenFileRing(ctx, ringDir, testMaster(t), openStore(t, filepath.Join(dir, "events")), Config{})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if ok, err := FileRingExists(ringDir); !ok || err != nil {
		t.Fatalf("FileRingExists after creation: %v, %v", ok, err)
	}
}

func TestForgottenSlotsAreNotReused(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store := openStore(t, filepath.Join(dir, "events"))
	m := testMaster(t)
	ringDir := filepath.Join(dir, "keyring")
	r, err := OpenFileRing(ctx, ringDir, m, store, Config{})
	if err != nil {
		t.Fatal(err)
	}
	a := uuid.NewString()
	if _, err := r.DataKey(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := r.Forget(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, err := r.DataKey(ctx, uuid.NewString()); err != nil {
		t.Fatal(err)
	}
	r.Close()
	st, _ := os.Stat(filepath.Join(ringDir, SlotFile))
	if st.Size() != headerSize+2*slotSize {
		t.Fatalf("file of %d bytes, want a header and two slots", st.Size())
	}
	// The tombstone alone keeps the subject forgotten, even with a new,
	// empty ledger.
	r, err = OpenFileRing(ctx, ringDir, m, openStore(t, filepath.Join(dir, "other-events")), Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.DataKey(ctx, a); !errors.Is(err, ErrForgotten) {
		t.Fatalf("DataKey with the ledger lost: %v, want ErrForgotten", err)
	}
}

// TestTamperedWrappedKeyDoesNotUnwrap edits a slot with its CRC made valid
// again: a wrapped key with a flipped bit, or one copied from another
// subject's slot (with that slot's key id), is ErrCorrupt, and a sound key
// loaded afterwards still opens.
func TestTamperedWrappedKeyDoesNotUnwrap(t *testing.T) {
	ctx := context.Background()
	m := testMaster(t)
	cases := []struct {
		name   string
		tamper func(victim, donor []byte)
	}{
		{"flipped_bit_in_the_wrapped_key", func(victim, _ []byte) { victim[offWrapped+nonceSize+3] ^= 1 }},
		{"flipped_bit_in_the_key_id", func(victim, _ []byte) { victim[offKeyID] ^= 1 }},
		{"wrapped_key_and_key_id_of_another_subject", func(victim, donor []byte) {
			copy(victim[offKeyID:offKeyID+keyIDBytes], donor[offKeyID:])
			copy(victim[offWrapped:offWrapped+wrappedSize], donor[offWrapped:])
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			store := openStore(t, filepath.Join(dir, "events"))
			ringDir := filepath.Join(dir, "keyring")
			r, err := OpenFileRing(ctx, ringDir, m, store, Config{})
			if err != nil {
				t.Fatal(err)
			}
			var keys [3]*DataKey
			for i, s := range []string{"acct-victim", "acct-donor", "acct-sound"} {
				if keys[i], err = r.DataKey(ctx, s); err != nil {
					t.Fatal(err)
				}
			}
			r.Close()
			path := filepath.Join(ringDir, SlotFile)
			b, _ := os.ReadFile(path)
			victim, donor := b[headerSize:headerSize+slotSize], b[headerSize+slotSize:headerSize+2*slotSize]
			c.tamper(victim, donor)
			binary.LittleEndian.PutUint32(victim[offSlotCRC:], crc32.Checksum(victim[:offSlotCRC], castagnoli))
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			r, err = OpenFileRing(ctx, ringDir, m, store, Config{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			id := hex.EncodeToString(victim[offKeyID : offKeyID+keyIDBytes])
			if _, err := r.Key(ctx, "acct-victim", id); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Key of the tampered slot: %v, want ErrCorrupt", err)
			}
			if k, err := r.Key(ctx, "acct-sound", keys[2].ID()); err != nil || k.Fingerprint() != keys[2].Fingerprint() {
				t.Fatalf("Key of a sound slot afterwards: %v", err)
			}
		})
	}
}
