package keyring

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// slotImage returns a valid slot of the file: its fields, subject and CRC.
func slotImage(subject string, state byte, created, forgotten int64, keyID, fp, wrapped byte) []byte {
	p := make([]byte, slotSize)
	p[offState] = state
	p[offSubjLen] = byte(len(subject))
	binary.LittleEndian.PutUint64(p[offCreated:], uint64(created))
	binary.LittleEndian.PutUint64(p[offForgotten:], uint64(forgotten))
	for i := range keyIDBytes {
		p[offKeyID+i] = keyID + byte(i)
	}
	for i := range fpBytes {
		p[offFP+i] = fp + byte(i)
	}
	for i := range wrappedSize {
		p[offWrapped+i] = wrapped
	}
	copy(p[offSubject:], subject)
	binary.LittleEndian.PutUint32(p[offSlotCRC:], crc32.Checksum(p[:offSlotCRC], castagnoli))
	return p
}

// TestSlotIndexRoundTrip adds slots to an index that starts with no room
// (so that records and table grow several times) and checks that each is
// found by its subject, as string and as bytes, and gives back its slot
// byte for byte.
func TestSlotIndexRoundTrip(t *testing.T) {
	cases := []struct {
		name         string
		slot         []byte
		keyID, keyFP string
	}{
		{"live_slot", slotImage("acct-1", slotLive, 11, 0, 0x10, 0x20, 0xaa), "1011121314151617", "202122232425262728292a2b2c2d2e2f"},
		{"tombstone_of_a_key", slotImage("acct-2", slotForgotten, 11, 12, 0x30, 0x40, 0), "3031323334353637", "404142434445464748494a4b4c4d4e4f"},
		{"tombstone_before_any_key_has_no_key_id", slotImage("acct-3", slotForgotten, 0, 12, 0, 0, 0), "", ""},
		{"longest_subject", slotImage(strings.Repeat("s", MaxSubjectLen), slotLive, 1, 0, 1, 2, 3), "0102030405060708", "02030405060708090a0b0c0d0e0f1011"},
		{"one_byte_subject", slotImage("x", slotLive, 1, 0, 4, 5, 6), "0405060708090a0b", "05060708090a0b0c0d0e0f1011121314"},
	}
	x := newSlotIndex(0)
	var filler []string
	for i := range 700 {
		s := fmt.Sprintf("filler-%d", i)
		filler = append(filler, s)
		x.add(slotImage(s, slotLive, 1, 0, 0, 0, byte(i)), 1000+i)
		if i%100 == 0 {
			for j, c := range cases[:i/100%len(cases)+1] {
				if x.lookup(string(c.slot[offSubject:offSubject+int(c.slot[offSubjLen])])) < 0 {
					x.add(c.slot, j)
				}
			}
		}
	}
	for j, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			subject := c.slot[offSubject : offSubject+int(c.slot[offSubjLen])]
			i := x.lookup(string(subject))
			if i < 0 || x.lookupBytes(subject) != i {
				t.Fatalf("lookup: %d, lookupBytes: %d", i, x.lookupBytes(subject))
			}
			got := make([]byte, slotSize)
			x.image(got, i)
			binary.LittleEndian.PutUint32(got[offSlotCRC:], crc32.Checksum(got[:offSlotCRC], castagnoli))
			if !bytes.Equal(got, c.slot) {
				t.Fatalf("image\n%x\nwant\n%x", got, c.slot)
			}
			if x.fileIndex(i) != j || x.state(i) != c.slot[offState] {
				t.Fatalf("file index %d, state %d; want %d, %d", x.fileIndex(i), x.state(i), j, c.slot[offState])
			}
			if id, fp := x.keyID(i); id != c.keyID || fp != c.keyFP {
				t.Fatalf("key id %q, fingerprint %q; want %q, %q", id, fp, c.keyID, c.keyFP)
			}
		})
	}
	t.Run("every_filler_is_found_at_its_own_record", func(t *testing.T) {
		for k, s := range filler {
			i := x.lookup(s)
			if i < 0 || string(x.name(i)) != s || x.fileIndex(i) != 1000+k {
				t.Fatalf("%s: record %d", s, i)
			}
		}
	})
	t.Run("an_unknown_subject_is_not_found", func(t *testing.T) {
		if i := x.lookup("acct-unknown"); i != -1 {
			t.Fatalf("lookup: %d, want -1", i)
		}
	})
}

// TestSlotIndexGrowthWipesTheOldRecords checks that the records left
// behind when the index grows hold no wrapped key.
func TestSlotIndexGrowthWipesTheOldRecords(t *testing.T) {
	x := newSlotIndex(1)
	x.add(slotImage("acct-1", slotLive, 1, 0, 1, 2, 0xaa), 0)
	old := x.recs[:cap(x.recs)]
	for i := 0; &x.recs[:1][0] == &old[0]; i++ {
		x.add(slotImage(fmt.Sprint("acct-more-", i), slotLive, 1, 0, 1, 2, 0xbb), i+1)
	}
	if !bytes.Equal(old, make([]byte, len(old))) {
		t.Fatalf("the old records hold %x", old)
	}
	if i := x.lookup("acct-1"); i < 0 || x.rec(i)[offWrapped] != 0xaa {
		t.Fatal("acct-1 lost its record in the growth")
	}
}

// TestForgetZeroesTheWrappedKeyInTheIndexAndTheFile checks the tombstone
// that Forget writes: every field of the live slot but the state, the time
// of the erasure and the wrapped key (zeros) stays, in memory and on disk.
func TestForgetZeroesTheWrappedKeyInTheIndexAndTheFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	epoch := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
	r, err := OpenFileRing(ctx, filepath.Join(dir, "keyring"), testMaster(t), openStore(t, filepath.Join(dir, "events")), Config{Now: func() time.Time { return epoch }})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	k, err := r.DataKey(ctx, "acct-1")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "keyring", SlotFile)
	before, _ := os.ReadFile(path)
	live := before[headerSize : headerSize+slotSize]
	if err := r.Forget(ctx, "acct-1"); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(path)
	want := bytes.Clone(live)
	want[offState] = slotForgotten
	binary.LittleEndian.PutUint64(want[offForgotten:], uint64(epoch.UnixNano()))
	clear(want[offWrapped : offWrapped+wrappedSize])
	binary.LittleEndian.PutUint32(want[offSlotCRC:], crc32.Checksum(want[:offSlotCRC], castagnoli))
	if got := after[headerSize : headerSize+slotSize]; !bytes.Equal(got, want) {
		t.Fatalf("tombstone\n%x\nwant\n%x", got, want)
	}
	if hex.EncodeToString(live[offKeyID:offKeyID+keyIDBytes]) != k.ID() || hex.EncodeToString(live[offFP:offFP+fpBytes]) != k.Fingerprint() {
		t.Fatalf("the live slot does not hold key %s with fingerprint %s", k.ID(), k.Fingerprint())
	}
	i := r.slots.lookup("acct-1")
	if i < 0 || !bytes.Equal(r.slots.rec(i)[:offSubject], want[:offSubject]) {
		t.Fatalf("the index holds %x, want the tombstone's fields", r.slots.rec(i)[:offSubject])
	}
}
