package keyring

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/uuid"

	"github.com/aseptsoft/subledger/eventstore"
)

// The contract suite sees only rings this build creates (binding version
// 2). These tests write the headers of older rings, as the build before
// event bindings version 2 did, and the header an attacker without the
// master key would write to lower the requirement.

// rewriteFileHeader changes the format version of the file ring at dir;
// with rewrap it also wraps the binding secret again under that version's
// label (as only the master key's holder can), else it keeps the wrapped
// secret (as an attacker would).
func rewriteFileHeader(t *testing.T, dir string, m MasterKey, version uint32, rewrap bool) {
	t.Helper()
	path := filepath.Join(dir, SlotFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h := b[:headerSize]
	if rewrap {
		c, err := newCore(m, Config{})
		if err != nil {
			t.Fatal(err)
		}
		old := binary.LittleEndian.Uint32(h[8:12])
		secret, err := c.unwrap(h[32:32+wrappedSize], bindingLabel(int(old)))
		if err != nil {
			t.Fatal(err)
		}
		w, err := c.wrap(secret, bindingLabel(int(version)))
		if err != nil {
			t.Fatal(err)
		}
		copy(h[32:32+wrappedSize], w)
	}
	binary.LittleEndian.PutUint32(h[8:12], version)
	binary.LittleEndian.PutUint32(h[100:104], crc32.Checksum(h[:100], castagnoli))
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestFileRingBindingVersions(t *testing.T) {
	ctx := context.Background()
	e := EventBinding{EventID: [16]byte{7}, Type: "T", Stream: "s", Plain: []byte(`{}`)}
	setup := func(t *testing.T) (dir string, store eventstore.Store, m MasterKey, tag, tag1 []byte) {
		dir = t.TempDir()
		store = openStore(t, filepath.Join(dir, "events"))
		m = testMaster(t)
		r, err := OpenFileRing(ctx, filepath.Join(dir, "keyring"), m, store, Config{})
		if err != nil {
			t.Fatal(err)
		}
		if v := r.MinBindingVersion(); v != 2 {
			t.Fatalf("new file ring: MinBindingVersion %d, want 2", v)
		}
		tag, tag1 = r.BindEvent(nil, &e), r.Bind(nil, e.EventID, "s1", "k1", []byte("x"))
		r.Close()
		return dir, store, m, tag, tag1
	}
	t.Run("version_1_ring_opens_requiring_version_1", func(t *testing.T) {
		dir, store, m, tag, tag1 := setup(t)
		rewriteFileHeader(t, filepath.Join(dir, "keyring"), m, 1, true)
		r, err := OpenFileRing(ctx, filepath.Join(dir, "keyring"), m, store, Config{})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if v := r.MinBindingVersion(); v != 1 {
			t.Fatalf("MinBindingVersion %d, want 1", v)
		}
		if !bytes.Equal(r.Bind(nil, e.EventID, "s1", "k1", []byte("x")), tag1) || !bytes.Equal(r.BindEvent(nil, &e), tag) {
			t.Fatal("the binding secret changed")
		}
	})
	t.Run("lowering_the_version_without_the_master_key_is_corrupt", func(t *testing.T) {
		dir, store, m, _, _ := setup(t)
		rewriteFileHeader(t, filepath.Join(dir, "keyring"), m, 1, false)
		r, err := OpenFileRing(ctx, filepath.Join(dir, "keyring"), m, store, Config{})
		if err == nil {
			r.Close()
			t.Fatal("a ring whose format version was lowered opened")
		}
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("open: %v, want ErrCorrupt", err)
		}
	})
	t.Run("unknown_version_is_corrupt", func(t *testing.T) {
		dir, store, m, _, _ := setup(t)
		rewriteFileHeader(t, filepath.Join(dir, "keyring"), m, 3, false)
		if _, err := OpenFileRing(ctx, filepath.Join(dir, "keyring"), m, store, Config{}); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("open: %v, want ErrCorrupt", err)
		}
	})
}

// writeStoreHeader appends a StoreRing header of format to store, with the
// binding secret wrapped under label.
func writeStoreHeader(t *testing.T, store eventstore.Store, m MasterKey, format int, secret, label []byte) {
	t.Helper()
	c, err := newCore(m, Config{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := c.wrap(secret, label)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(headerData{Format: format, KCV: m.kcv(), Binding: w})
	if _, err := store.Append(context.Background(), HeaderStream, eventstore.NoStream(), eventstore.EventData{
		ID: uuid.NewString(), Type: HeaderEventType, Data: data, Metadata: []byte(`{"schema_version":1}`),
	}); err != nil {
		t.Fatal(err)
	}
}

func TestStoreRingBindingVersions(t *testing.T) {
	ctx := context.Background()
	m := testMaster(t)
	secret := bytes.Repeat([]byte{5}, keySize)
	e := EventBinding{EventID: [16]byte{7}, Type: "T", Stream: "s", Plain: []byte(`{}`)}
	cases := []struct {
		name    string
		format  int
		label   string
		wantMin int // 0: the open fails with ErrCorrupt
	}{
		{"format_1_ring_opens_requiring_version_1", 1, labelWrapBinding, 1},
		{"format_2_ring_opens_requiring_version_2", 2, labelWrapBindingV2, 2},
		{"format_lowered_without_the_master_key_is_corrupt", 1, labelWrapBindingV2, 0},
		{"format_raised_without_the_master_key_is_corrupt", 2, labelWrapBinding, 0},
		{"unknown_format_is_corrupt", 3, labelWrapBindingV2, 0},
	}
	var tag []byte
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			store := openStore(t, t.TempDir())
			writeStoreHeader(t, store, m, c.format, secret, []byte(c.label))
			r, err := OpenStoreRing(ctx, store, m, Config{})
			if c.wantMin == 0 {
				if err == nil {
					r.Close()
					t.Fatal("the ring opened")
				}
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("open: %v, want ErrCorrupt", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if v := r.MinBindingVersion(); v != c.wantMin {
				t.Fatalf("MinBindingVersion %d, want %d", v, c.wantMin)
			}
			// One secret, one tag, whatever the format.
			got := r.BindEvent(nil, &e)
			if tag == nil {
				tag = got
			} else if !bytes.Equal(got, tag) {
				t.Fatal("the tag depends on the format")
			}
		})
	}
}
