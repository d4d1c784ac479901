package keyring

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadOrCreateMasterKey(t *testing.T) {
	valid := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	cases := []struct {
		name        string
		setup       func(t *testing.T, path string) // nil: no file
		mayCreate   bool
		wantCreated bool
		wantErr     bool
	}{
		{"missing_file_on_fresh_data_is_created", nil, true, true, false},
		{"missing_file_over_existing_data_fails", nil, false, false, true},
		{"existing_file_is_loaded", write(valid + "\n"), false, false, false},
		{"existing_file_is_loaded_not_replaced_on_fresh_data", write(valid), true, false, false},
		{"empty_file_fails", write(""), true, false, true},
		{"not_base64_fails", write("this is not base64 at all!!!"), true, false, true},
		{"short_key_fails", write(base64.StdEncoding.EncodeToString(make([]byte, 16))), true, false, true},
		{"long_key_fails", write(base64.StdEncoding.EncodeToString(make([]byte, 33))), true, false, true},
		{"unreadable_path_fails", func(t *testing.T, path string) { os.Mkdir(path, 0o700) }, true, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "sub", "master.key")
			os.MkdirAll(filepath.Dir(path), 0o700)
			if c.setup != nil {
				c.setup(t, path)
			}
			before, _ := os.ReadFile(path)
			k, created, err := LoadOrCreateMasterKey(path, c.mayCreate, nil)
			if c.wantErr {
				if err == nil || !errors.Is(err, ErrMasterKey) || !strings.Contains(err.Error(), path) {
					t.Fatalf("err %v, want ErrMasterKey naming %s", err, path)
				}
				if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
					t.Fatal("a failed load changed the file")
				}
				if c.setup == nil {
					if _, err := os.Stat(path); err == nil {
						t.Fatal("a refused load created the file")
					}
				}
				return
			}
			if err != nil || created != c.wantCreated {
				t.Fatalf("created %v, err %v; want created %v", created, err, c.wantCreated)
			}
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if c.wantCreated && st.Mode().Perm() != 0o600 {
				t.Fatalf("created with mode %v, want 0600", st.Mode().Perm())
			}
			again, created, err := LoadOrCreateMasterKey(path, false, nil)
			if err != nil || created || again.key != k.key || k.Source() != path {
				t.Fatalf("reload: created %v, err %v, same key %v", created, err, again.key == k.key)
			}
		})
	}
}

func write(text string) func(t *testing.T, path string) {
	return func(t *testing.T, path string) {
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFormattingAMasterKeyShowsOnlyItsSource(t *testing.T) {
	m, err := NewMasterKey(nil, "/etc/subledger/master.key")
	if err != nil {
		t.Fatal(err)
	}
	text, _ := m.MarshalText()
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q"} {
		out := fmt.Sprintf(verb, m)
		if bytes.Contains([]byte(out), text) || bytes.Contains([]byte(out), m.key[:8]) || strings.Contains(out, fmt.Sprintf("%x", m.key[:8])) {
			t.Errorf("%s shows the key: %s", verb, out)
		}
		if verb != "%x" && !strings.Contains(out, "/etc/subledger/master.key") {
			t.Errorf("%s does not name the source: %s", verb, out)
		}
	}
}

func TestDeriveGivesStableUnrelatedSecrets(t *testing.T) {
	a, err := NewMasterKey(nil, "a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewMasterKey(nil, "b")
	if err != nil {
		t.Fatal(err)
	}
	text, _ := a.MarshalText()
	a2, err := ParseMasterKey(text, "a again")
	if err != nil {
		t.Fatal(err)
	}
	x := a.Derive("server-secret")
	switch {
	case len(x) != 32:
		t.Fatalf("derived %d bytes, want 32", len(x))
	case !bytes.Equal(x, a2.Derive("server-secret")):
		t.Fatal("the same master key and label gave different secrets")
	case bytes.Equal(x, a.Derive("other")):
		t.Fatal("two labels gave the same secret")
	case bytes.Equal(x, b.Derive("server-secret")):
		t.Fatal("two master keys gave the same secret")
	case bytes.Contains(x, a.key[:8]):
		t.Fatal("the derived secret shows the master key")
	}
}
