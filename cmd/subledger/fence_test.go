package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/aseptsoft/subledger/eventstore/keyring"
)

// copyDir copies the regular files of a closed data directory.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(to, rel)), 0o700); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestApplyFence: a key that the fence names is forgotten again in a data
// directory restored from before its erasure, and an erasure of the ledger
// that the fence lacks is copied into it.
func TestApplyFence(t *testing.T) {
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	open := func(t *testing.T, cfg config, fence string) (*stack, *keyring.FenceFile) {
		t.Helper()
		var ff *keyring.FenceFile
		if fence != "" {
			var err error
			if ff, err = keyring.OpenFence(fence); err != nil {
				t.Fatal(err)
			}
			cfg.fence = ff
		}
		st, err := openStack(ctx, cfg, logger)
		if err != nil {
			t.Fatal(err)
		}
		return st, ff
	}
	cases := []struct {
		name string
		// before runs on the data directory; then it is copied (the
		// backup); then after runs on the original.
		before, after func(t *testing.T, st *stack)
		// fenceAfter is whether after runs with the fence (the final
		// start always does).
		fenceAfter bool
		want       fenceResult
	}{
		{"key_restored_from_before_its_erasure_is_forgotten_again",
			func(t *testing.T, st *stack) { mustKey(t, st, "acct-x") },
			func(t *testing.T, st *stack) { mustForget(t, st, "acct-x") },
			true, fenceResult{Fenced: 1, Reforgotten: 1}},
		{"erasure_made_before_the_fence_is_copied_into_it",
			func(t *testing.T, st *stack) { mustKey(t, st, "acct-x"); mustForget(t, st, "acct-x") },
			func(t *testing.T, st *stack) {},
			false, fenceResult{Added: 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := config{DataDir: filepath.Join(dir, "data"), Store: "embedded", MasterKeyFile: filepath.Join(dir, "master.key")}
			fence := filepath.Join(dir, "erasures.fence")
			st, _ := open(t, cfg, "")
			c.before(t, st)
			st.Close()
			copyDir(t, cfg.DataDir, filepath.Join(dir, "backup"))
			f := ""
			if c.fenceAfter {
				f = fence
			}
			st, ff := open(t, cfg, f)
			c.after(t, st)
			st.Close()
			if ff != nil {
				ff.Close()
			}
			// The disaster: the old copy comes back; start with the fence.
			if err := os.RemoveAll(cfg.DataDir); err != nil {
				t.Fatal(err)
			}
			copyDir(t, filepath.Join(dir, "backup"), cfg.DataDir)
			st, ff = open(t, cfg, fence)
			defer st.Close()
			defer ff.Close()
			res, err := applyFence(ctx, ff, st)
			if err != nil || res != c.want {
				t.Fatalf("applyFence = %+v, %v; want %+v", res, err, c.want)
			}
			if _, err := st.ring.Key(ctx, "acct-x", "0000000000000000"); !errors.Is(err, keyring.ErrForgotten) {
				t.Fatalf("the key after applying the fence: %v, want forgotten", err)
			}
			if !ff.Has("acct-x") {
				t.Fatalf("the fence does not name the subject")
			}
		})
	}
}

func mustKey(t *testing.T, st *stack, subject string) {
	t.Helper()
	if _, err := st.ring.DataKey(context.Background(), subject); err != nil {
		t.Fatal(err)
	}
}

func mustForget(t *testing.T, st *stack, subject string) {
	t.Helper()
	if err := st.ring.Forget(context.Background(), subject); err != nil {
		t.Fatal(err)
	}
}
