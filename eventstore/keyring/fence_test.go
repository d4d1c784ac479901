package keyring

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func erasure(subject string) Erasure {
	return Erasure{SubjectID: subject, KeyID: "0123456789abcdef", KeyFingerprint: strings.Repeat("ab", 16), ForgottenAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func TestFenceFile(t *testing.T) {
	cases := []struct {
		name string
		// edit changes the file's bytes after two records were written.
		edit func(b []byte) []byte
		// want is the subjects read back; wantErr the line that must be
		// named when opening fails.
		want    []string
		wantErr string
	}{
		{"records_read_back_in_order", func(b []byte) []byte { return b }, []string{"s-1", "s-2"}, ""},
		{"torn_last_line_is_cut", func(b []byte) []byte { return append(b, `1234abcd {"subject_id":"s-`...) }, []string{"s-1", "s-2"}, ""},
		{"flipped_byte_refused_naming_the_line", func(b []byte) []byte {
			i := bytes.LastIndex(b, []byte("s-2"))
			b[i+2] = '3'
			return b
		}, nil, "line 2"},
		{"bad_checksum_digits_refused", func(b []byte) []byte { b[0] = 'z'; return b }, nil, "line 1"},
		{"empty_line_refused", func(b []byte) []byte { return append([]byte("\n"), b...) }, nil, "line 1"},
		{"record_without_subject_refused", func(b []byte) []byte {
			rec := []byte(`{"forgotten_at":"2026-01-02T03:04:05Z"}`)
			return fmt.Appendf(b, "%08x %s\n", crc32.Checksum(rec, castagnoli), rec)
		}, nil, "line 3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "erasures.fence")
			ff, err := OpenFence(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{"s-1", "s-2", "s-1"} {
				if err := ff.Record(erasure(s)); err != nil {
					t.Fatal(err)
				}
			}
			ff.Close()
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Count(string(b), "\n") != 2 {
				t.Fatalf("a subject recorded twice made %d lines, want 2", strings.Count(string(b), "\n"))
			}
			if err := os.WriteFile(path, c.edit(b), 0o600); err != nil {
				t.Fatal(err)
			}
			ff, err = OpenFence(path)
			if c.wantErr != "" {
				if !errors.Is(err, ErrFenceCorrupt) || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("OpenFence = %v, want ErrFenceCorrupt naming %s", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer ff.Close()
			var got []string
			for _, e := range ff.Erasures() {
				got = append(got, e.SubjectID)
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("read back %v, want %v", got, c.want)
			}
			// After a torn line, the next record starts a line of its own.
			if err := ff.Record(erasure("s-9")); err != nil {
				t.Fatal(err)
			}
			ff.Close()
			again, err := OpenFence(path)
			if err != nil {
				t.Fatalf("reopening after a new record: %v", err)
			}
			again.Close()
			if n := len(again.Erasures()); n != len(c.want)+1 {
				t.Fatalf("%d records after one more, want %d", n, len(c.want)+1)
			}
		})
	}
}

// TestFenceRecordSyncsBeforeReturning watches the fence's sync: Record may
// return only after the bytes of its line were written and synced.
func TestFenceRecordSyncsBeforeReturning(t *testing.T) {
	ff, err := OpenFence(filepath.Join(t.TempDir(), "erasures.fence"))
	if err != nil {
		t.Fatal(err)
	}
	defer ff.Close()
	var synced int64
	ff.sync = func(f *os.File) error {
		st, err := f.Stat()
		if err != nil {
			return err
		}
		synced = st.Size()
		return fdatasync(f)
	}
	for i := 0; i < 3; i++ {
		if err := ff.Record(erasure(fmt.Sprintf("s-%d", i))); err != nil {
			t.Fatal(err)
		}
		st, _ := os.Stat(ff.Path())
		if synced != st.Size() {
			t.Fatalf("Record %d returned with %d bytes in the file and %d synced", i, st.Size(), synced)
		}
	}
}

type failingFence struct{ err error }

func (f failingFence) Record(Erasure) error { return f.err }

// TestForgetRecordsInTheFenceFirst: Forget puts the subject, its key id and
// fingerprint in the fence before destroying anything, and a fence that
// fails stops the Forget with the key intact.
func TestForgetRecordsInTheFenceFirst(t *testing.T) {
	cases := []struct {
		name   string
		fence  func(t *testing.T) Fence
		forget bool // whether the key must be gone afterwards
	}{
		{"fence_file_holds_the_erasure", func(t *testing.T) Fence {
			ff, err := OpenFence(filepath.Join(t.TempDir(), "erasures.fence"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ff.Close() })
			return ff
		}, true},
		{"failing_fence_keeps_the_key", func(t *testing.T) Fence { return failingFence{errors.New("disk full")} }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			fence := c.fence(t)
			r, err := OpenFileRing(ctx, t.TempDir(), testMaster(t), openStore(t, t.TempDir()), Config{Fence: fence})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			k, err := r.DataKey(ctx, "acct-1")
			if err != nil {
				t.Fatal(err)
			}
			err = r.Forget(ctx, "acct-1")
			if c.forget != (err == nil) {
				t.Fatalf("Forget = %v", err)
			}
			_, kerr := r.Key(ctx, "acct-1", k.ID())
			if c.forget != errors.Is(kerr, ErrForgotten) {
				t.Fatalf("Key after Forget = %v", kerr)
			}
			if ff, ok := fence.(*FenceFile); ok {
				es := ff.Erasures()
				if len(es) != 1 || es[0].SubjectID != "acct-1" || es[0].KeyID != k.ID() || es[0].KeyFingerprint != k.Fingerprint() {
					t.Fatalf("fence holds %+v, want acct-1 with its key id and fingerprint", es)
				}
			}
		})
	}
}

// TestCopyFileRingWhileInUse copies the slot file while keys are made and
// forgotten, and requires the copy to open with every key made before the
// copy started (or its tombstone) and nothing torn.
func TestCopyFileRingWhileInUse(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	m := testMaster(t)
	store := openStore(t, t.TempDir())
	r, err := OpenFileRing(ctx, dir, m, store, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	before := map[string]string{}
	for i := 0; i < 200; i++ {
		k, err := r.DataKey(ctx, fmt.Sprintf("before-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		before[k.Subject()] = k.ID()
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := r.DataKey(ctx, fmt.Sprintf("during-%d", i)); err != nil {
				t.Error(err)
				return
			}
			if i%2 == 0 {
				if err := r.Forget(ctx, fmt.Sprintf("before-%d", i%200)); err != nil {
					t.Error(err)
					return
				}
			}
		}
	}()
	var b bytes.Buffer
	info, err := CopyFileRing(ctx, dir, &b)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("CopyFileRing while in use: %v", err)
	}
	if info.Live+info.Forgotten < len(before) || info.Bytes != int64(b.Len()) {
		t.Fatalf("copy %+v of %d bytes, want at least %d keys", info, b.Len(), len(before))
	}
	cdir := t.TempDir()
	if err := os.WriteFile(filepath.Join(cdir, SlotFile), b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := CheckFileRingMaster(cdir, m); err != nil {
		t.Fatalf("CheckFileRingMaster on the copy: %v", err)
	}
	if err := CheckFileRingMaster(cdir, testMaster(t)); !errors.Is(err, ErrWrongMasterKey) {
		t.Fatalf("CheckFileRingMaster with another key = %v, want ErrWrongMasterKey", err)
	}
	c, err := OpenFileRing(ctx, cdir, m, openStore(t, t.TempDir()), Config{})
	if err != nil {
		t.Fatalf("opening the copy: %v", err)
	}
	defer c.Close()
	for subject, id := range before {
		if _, err := c.Key(ctx, subject, id); err != nil && !errors.Is(err, ErrForgotten) {
			t.Fatalf("key of %s in the copy: %v", subject, err)
		}
	}
}
