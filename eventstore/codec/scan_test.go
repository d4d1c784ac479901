package codec_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/aseptsoft/subledger/eventstore"
	"github.com/aseptsoft/subledger/eventstore/codec"
	"github.com/aseptsoft/subledger/eventstore/keyring"
)

// recorder is the ring's injected random source: it hands out crypto/rand
// bytes and remembers them, so that the test knows each data key's
// material and the nonce that wrapped it.
type recorder struct {
	mu    sync.Mutex
	reads [][]byte
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := rand.Read(p)
	r.mu.Lock()
	r.reads = append(r.reads, bytes.Clone(p[:n]))
	r.mu.Unlock()
	return n, err
}

// keyOf finds the data key with keyID among the recorded reads (32 bytes of
// key and 8 of key id in one read) and the wrapping nonce (the next read).
func (r *recorder) keyOf(t *testing.T, keyID string) (key, nonce []byte) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, b := range r.reads {
		if len(b) == 40 && hex.EncodeToString(b[32:]) == keyID && i+1 < len(r.reads) && len(r.reads[i+1]) == 12 {
			return b[:32], r.reads[i+1]
		}
	}
	t.Fatalf("no recorded data key with id %s", keyID)
	return nil, nil
}

// wrapped recomputes a data key's wrapped form: AES-256-GCM under the
// master key with the ring's additional data. If the ring's format drifts,
// the kept subject's wrapped key is no longer found and the test fails.
func wrapped(t *testing.T, masterFile string, subject, keyID string, key, nonce []byte) []byte {
	t.Helper()
	text, err := os.ReadFile(masterFile)
	if err != nil {
		t.Fatal(err)
	}
	mk, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(text)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := aes.NewCipher(mk)
	g, _ := cipher.NewGCM(b)
	aad := "subledger/keyring/wrap/v1\x00" + subject + "\x00" + keyID
	return g.Seal(bytes.Clone(nonce), nonce, key, []byte(aad))
}

// needle is something that must or must not be on disk, in any of its
// likely encodings.
type needle struct {
	what  string
	forms [][]byte
}

func forms(what string, b []byte) needle {
	return needle{what: what, forms: [][]byte{
		b,
		[]byte(base64.StdEncoding.EncodeToString(b)),
		[]byte(base64.RawURLEncoding.EncodeToString(b)),
		[]byte(hex.EncodeToString(b)),
	}}
}

// scan reads every byte of every file under dir and reports which needles
// it finds, with the file.
func scan(t *testing.T, dir string, needles []needle) map[string]string {
	t.Helper()
	found := map[string]string{}
	files := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		for _, n := range needles {
			for _, f := range n.forms {
				if bytes.Contains(b, f) {
					found[n.what] = path
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 3 {
		t.Fatalf("scanned only %d files under %s", files, dir)
	}
	return found
}

// TestForgottenSubjectLeavesNoTraceInTheDataDirectory is issue 3's "done
// when" test: distinctive personal values go through the codec into the
// embedded event store with the file key ring; one subject is forgotten;
// everything is closed; every byte of every file under the data directory
// is scanned. For the forgotten subject neither the plaintext, nor the data
// key, nor its wrapped form is found; for the subject not forgotten the
// wrapped key is found, so the scan can fail.
func TestForgottenSubjectLeavesNoTraceInTheDataDirectory(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	rec := &recorder{}
	e := newEnv(t, dir, keyring.Config{Rand: rec})
	tag := strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
	subjects := map[string]struct {
		id     string
		values []string
	}{
		"forgotten": {uuid.NewString(), []string{"Zebulon Quixfeather " + tag, "zebulon." + tag + "@quixfeather.example", "Quixfeather Lanterns " + tag, "cus_Zeb" + tag, "198.51.100." + tag[:2]}},
		"kept":      {uuid.NewString(), []string{"Philippa Vantablack " + tag, "philippa." + tag + "@vantablack.example", "Vantablack Inks " + tag, "cus_Phi" + tag, "192.0.2." + tag[:2]}},
	}
	for _, s := range subjects {
		v := s.values
		evs := []codec.Typer{
			accountRegistered{AccountID: s.id, Name: v[0], Email: v[1], Company: v[2], Plan: "pro", At: at},
			&stripeLink{envelope: envelope{AccountID: s.id, Seq: 1}, CustomerID: v[3], IP: v[4], Source: "checkout"},
			accountRegistered{AccountID: s.id, Name: v[0], Email: v[1], Company: v[2], Plan: "team", At: at},
		}
		for i, ev := range evs {
			d := e.encode(t, ev, codec.Meta{Actor: "store", Stream: "account-" + s.id})
			if _, err := e.store.Append(ctx, "account-"+s.id, eventstore.Any(), d); err != nil {
				t.Fatalf("append %d: %v", i, err)
			}
		}
	}
	needles := map[string][]needle{}
	for name, s := range subjects {
		k, err := e.ring.DataKey(ctx, s.id)
		if err != nil {
			t.Fatal(err)
		}
		key, nonce := rec.keyOf(t, k.ID())
		ns := []needle{
			forms(name+" data key", key),
			forms(name+" wrapped data key", wrapped(t, filepath.Join(dir, "master.key"), s.id, k.ID(), key, nonce)),
		}
		for i, v := range s.values {
			ns = append(ns, needle{what: name + " personal value " + string(rune('0'+i)), forms: [][]byte{[]byte(v)}})
		}
		needles[name] = ns
	}
	if err := e.ring.Forget(ctx, subjects["forgotten"].id); err != nil {
		t.Fatal(err)
	}
	e.close()

	var all []needle
	for _, ns := range needles {
		all = append(all, ns...)
	}
	found := scan(t, dir, all)
	cases := []struct {
		name string
		what string
		want bool
	}{
		{"forgotten_plaintext_is_absent", "forgotten personal value 0", false},
		{"forgotten_email_is_absent", "forgotten personal value 1", false},
		{"forgotten_company_is_absent", "forgotten personal value 2", false},
		{"forgotten_stripe_id_is_absent", "forgotten personal value 3", false},
		{"forgotten_ip_is_absent", "forgotten personal value 4", false},
		{"forgotten_data_key_is_absent", "forgotten data key", false},
		{"forgotten_wrapped_key_is_absent", "forgotten wrapped data key", false},
		{"kept_plaintext_is_absent_too", "kept personal value 0", false},
		{"kept_email_is_absent_too", "kept personal value 1", false},
		{"kept_data_key_is_absent", "kept data key", false},
		{"kept_wrapped_key_is_found", "kept wrapped data key", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if path, ok := found[c.what]; ok != c.want {
				t.Fatalf("%s found: %v (in %q), want %v", c.what, ok, path, c.want)
			}
		})
	}

	// The events still load: the forgotten subject's read as erased.
	e2 := newEnv(t, dir, keyring.Config{})
	for name, s := range subjects {
		evs, err := e2.store.ReadStream(ctx, "account-"+s.id, 0, 10)
		if err != nil || len(evs) != 3 {
			t.Fatalf("%s: %d events, %v", name, len(evs), err)
		}
		for _, ev := range evs {
			_, meta, err := e2.codec.Decode(ctx, ev)
			if err != nil || meta.Erased != (name == "forgotten") {
				t.Fatalf("%s: decode: erased %v, %v", name, meta.Erased, err)
			}
		}
	}
}
