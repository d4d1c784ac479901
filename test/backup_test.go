package test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aseptsoft/subledger/eventstore/codec"
	"github.com/aseptsoft/subledger/eventstore/embedded"
	"github.com/aseptsoft/subledger/eventstore/keyring"
	"github.com/aseptsoft/subledger/eventstore/repository"
)

// runCLI runs the binary with args to its end and returns its stdout,
// stderr and exit error.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return runCLIWithin(t, 60*time.Second, args...)
}

// runCLIWithin is runCLI failing the test when the command is still running
// after d (a serve that should have refused to start).
func runCLIWithin(t *testing.T, d time.Duration, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = childEnv()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	setParentDeathSignal(cmd)
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), errb.String(), err
	case <-time.After(d):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("subledger %s: still running after %s; stderr:\n%s", args[0], d, errb.String())
		return "", "", nil
	}
}

// listFiles returns the regular files under dir (nil when dir is missing).
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			out = append(out, p)
		}
		return nil
	})
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return out
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	for _, p := range listFiles(t, from) {
		rel, _ := filepath.Rel(from, p)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(to, rel)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, rel), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// decryptingScan opens a data directory (no server running on it) with the
// master key and decodes every event, and returns which values were
// readable: what anyone holding the directory and the key can read. Raw
// byte scans cannot see through encryption; this one can, so it tells a
// shredded person from a live one.
func decryptingScan(t *testing.T, dataDir, masterKeyFile string, values map[string]string) map[string]bool {
	t.Helper()
	ctx := context.Background()
	store, err := embedded.Open(filepath.Join(dataDir, "events"), embedded.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	master, _, err := keyring.LoadOrCreateMasterKey(masterKeyFile, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.OpenFileRing(ctx, filepath.Join(dataDir, "keyring"), master, store, keyring.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer ring.Close()
	reg, err := repository.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	repo := repository.New(store, codec.New(reg, ring, codec.Config{}))
	var plain bytes.Buffer
	for after := uint64(0); ; {
		evs, err := store.ReadAll(ctx, after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			after = ev.Position
			if keyring.Owns(ev) {
				continue
			}
			de, err := repo.Decode(ctx, ev)
			if err != nil {
				t.Errorf("decoding event %d (%s) of the restored store: %v", ev.Position, ev.Type, err)
				continue
			}
			b, _ := json.Marshal(de)
			plain.Write(bytes.ToLower(b))
		}
		if len(evs) < 1000 {
			break
		}
	}
	found := map[string]bool{}
	for what, v := range values {
		found[what] = bytes.Contains(plain.Bytes(), []byte(strings.ToLower(v)))
	}
	return found
}

// TestBackupRestoreAndTheErasureFence: a person signs up, a backup is made
// while the server runs, the person is erased, the data directory is lost,
// and the old backup is restored. Whether the fence is re-applied by
// restore or by serve, the person stays erased: the API answers erased, and
// neither a raw scan nor a decrypting scan of the data directory (with the
// master key) finds their values, while it finds a kept person's.
func TestBackupRestoreAndTheErasureFence(t *testing.T) {
	v := newValidator(t)
	keys := t.TempDir() // outside every data directory
	masterKey := filepath.Join(keys, "master.key")
	fence := filepath.Join(keys, "erasures.fence")
	srv := startServer(t, v, options{args: []string{"--master-key-file", masterKey, "--erasure-fence", fence}})
	c := srv.client(t)

	victim, keeper := newPerson("fenced"), newPerson("kept")
	c.signUp(victim)
	c.signUp(keeper)
	c.signIn(victim)
	c.signIn(keeper)

	// A backup while the server runs and people sign up.
	var (
		mu       sync.Mutex
		acked    []*person // sign-ups acknowledged before the backup started
		started  bool
		wg       sync.WaitGroup
		stopping = make(chan struct{})
	)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stopping:
					return
				default:
				}
				q := newPerson(fmt.Sprintf("during-%d-%d", w, i))
				res, err := c.try(http.MethodPost, "/v1/accounts", srv.storeKey, q.signUpBody())
				var acc account
				if err != nil || res.Status != http.StatusCreated || json.Unmarshal(res.Body, &acc) != nil || acc.ID == "" {
					t.Errorf("a sign-up during the backup: %v %v", res, err)
					return
				}
				q.ID = acc.ID
				mu.Lock()
				if !started {
					acked = append(acked, q)
				}
				mu.Unlock()
			}
		}()
	}
	eventually(10*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) >= 4 })
	mu.Lock()
	started = true
	mu.Unlock()
	bak := filepath.Join(t.TempDir(), "backup")
	out, errOut, err := runCLI(t, "backup", "--data-dir", srv.dataDir, "--to", bak)
	close(stopping)
	wg.Wait()
	if err != nil {
		t.Fatalf("backup: %v\n%s%s", err, out, errOut)
	}
	if !strings.Contains(out, "the master key is not in it") {
		t.Errorf("backup said %q", out)
	}
	mk, err := os.ReadFile(masterKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range listFiles(t, bak) {
		if b, _ := os.ReadFile(p); bytes.Contains(b, bytes.TrimSpace(mk)) {
			t.Errorf("the backup's %s holds the master key", p)
		}
	}

	// The erasure, after the backup, and a second serve refused meanwhile.
	c.do(http.MethodDelete, "/v1/accounts/"+victim.ID, srv.storeKey, nil).want(http.StatusOK)
	t.Run("a_second_serve_on_the_data_directory_is_refused", func(t *testing.T) {
		_, errOut, err := runCLIWithin(t, 10*time.Second, "serve", "--addr", "127.0.0.1:0", "--data-dir", srv.dataDir, "--master-key-file", masterKey,
			"--erasure-fence", filepath.Join(t.TempDir(), "other.fence"), "--api-key", "admin="+srv.adminKey)
		if err == nil || !strings.Contains(errOut, "in use by another process") {
			t.Fatalf("second serve: %v, stderr:\n%s", err, errOut)
		}
	})
	srv.stop(t)
	fenceBytes, err := os.ReadFile(fence)
	if err != nil || !bytes.Contains(fenceBytes, []byte(victim.ID)) {
		t.Fatalf("the fence (%v) does not name the erased account:\n%s", err, fenceBytes)
	}

	// The disaster: the data directory is gone.
	if err := os.Rename(srv.dataDir, srv.dataDir+".lost"); err != nil {
		t.Fatal(err)
	}
	values := map[string]string{
		"victim name": victim.Name, "victim company": victim.Company, "victim e-mail": victim.Email,
		"keeper name": keeper.Name, "keeper company": keeper.Company, "keeper e-mail": keeper.Email,
	}
	requireScan := func(t *testing.T, when string, victimReadable bool) {
		t.Helper()
		found := decryptingScan(t, srv.dataDir, masterKey, values)
		for what, ok := range found {
			want := strings.HasPrefix(what, "keeper") || victimReadable
			if ok != want {
				t.Errorf("%s: the decrypting scan finds the %s: %v, want %v", when, what, ok, want)
			}
		}
	}

	t.Run("bad_restores_are_refused_and_write_nothing", func(t *testing.T) {
		partial := filepath.Join(t.TempDir(), "partial")
		copyTree(t, bak, partial)
		os.Remove(filepath.Join(partial, "MANIFEST.json"))
		corrupt := filepath.Join(t.TempDir(), "corrupt")
		copyTree(t, bak, corrupt)
		log := filepath.Join(corrupt, "events", "events.log")
		b, _ := os.ReadFile(log)
		b[len(b)/2] ^= 0x01
		os.WriteFile(log, b, 0o600)
		truncated := filepath.Join(t.TempDir(), "truncated")
		copyTree(t, bak, truncated)
		ring := filepath.Join(truncated, "keyring", "keys.slots")
		b, _ = os.ReadFile(ring)
		os.WriteFile(ring, b[:len(b)-100], 0o600)
		otherKey := filepath.Join(t.TempDir(), "other.key")
		raw := make([]byte, 32)
		rand.Read(raw)
		os.WriteFile(otherKey, []byte(base64.StdEncoding.EncodeToString(raw)+"\n"), 0o600)
		cases := []struct {
			name string
			args []string
			want string
		}{
			{"without_a_fence", []string{"--from", bak, "--master-key-file", masterKey}, "--erasure-fence"},
			{"partial_backup", []string{"--from", partial, "--master-key-file", masterKey, "--erasure-fence", fence}, "incomplete"},
			{"flipped_bit_in_the_log", []string{"--from", corrupt, "--master-key-file", masterKey, "--erasure-fence", fence}, "events/events.log has"},
			{"truncated_key_ring", []string{"--from", truncated, "--master-key-file", masterKey, "--erasure-fence", fence}, "keyring/keys.slots has"},
			{"another_master_key", []string{"--from", bak, "--master-key-file", otherKey, "--erasure-fence", fence}, "wrong master key"},
			{"fence_inside_the_data_directory", []string{"--from", bak, "--master-key-file", masterKey, "--erasure-fence", filepath.Join(srv.dataDir, "f")}, "outside the data directory"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				_, errOut, err := runCLI(t, append([]string{"restore", "--data-dir", srv.dataDir}, c.args...)...)
				if err == nil || !strings.Contains(errOut, c.want) {
					t.Errorf("restore: %v, stderr %q; want a refusal saying %q", err, errOut, c.want)
				}
				if files := listFiles(t, srv.dataDir); len(files) > 0 {
					t.Errorf("a refused restore wrote %v", files)
				}
			})
		}
	})

	t.Run("restore_reapplies_the_fence", func(t *testing.T) {
		out, errOut, err := runCLI(t, "restore", "--from", bak, "--data-dir", srv.dataDir, "--master-key-file", masterKey, "--erasure-fence", fence)
		if err != nil {
			t.Fatalf("restore: %v\n%s", err, errOut)
		}
		if !strings.Contains(out, "1 accounts or affiliates erased again") {
			t.Errorf("restore said %q", out)
		}
		requireScan(t, "after restore with the fence", false)
		_, errOut, err = runCLI(t, "restore", "--from", bak, "--data-dir", srv.dataDir, "--master-key-file", masterKey, "--erasure-fence", fence)
		if err == nil || !strings.Contains(errOut, "already holds a store") {
			t.Errorf("a restore over a store: %v, %s", err, errOut)
		}
	})

	t.Run("serve_reapplies_the_fence", func(t *testing.T) {
		if err := os.RemoveAll(srv.dataDir); err != nil {
			t.Fatal(err)
		}
		_, errOut, err := runCLI(t, "restore", "--from", bak, "--data-dir", srv.dataDir, "--master-key-file", masterKey, "--no-fence")
		if err != nil {
			t.Fatalf("restore --no-fence: %v\n%s", err, errOut)
		}
		// The scan can fail: without the fence the old backup brings the
		// person back.
		requireScan(t, "after restore without the fence", true)
		srv.start(t)
		c := srv.client(t)
		a, _ := c.getAccount(victim.ID)
		if a.Status != "erased" || a.Name != nil || a.Email != nil || a.Company != nil {
			t.Errorf("the erased account after the restore: %+v", a)
		}
		if k, _ := c.getAccount(keeper.ID); k.Status != "active" || str(k.Email) != keeper.Email {
			t.Errorf("the kept account after the restore: %+v", k)
		}
		c.do(http.MethodGet, "/v1/accounts/"+victim.ID, victim.Token, nil).problem(http.StatusUnauthorized, "unauthenticated")
		c.do(http.MethodGet, "/v1/accounts/"+keeper.ID, keeper.Token, nil).want(http.StatusOK)
		// Every sign-up acknowledged before the backup started is in it.
		for _, q := range acked {
			if got, _ := c.getAccount(q.ID); got.Status != "active" || str(got.Email) != q.Email {
				t.Errorf("account %s, acknowledged before the backup, after the restore: %+v", q.ID, got)
			}
		}
		srv.stop(t)
		requireScan(t, "after serve with the fence", false)
		var needles []needle
		for _, v := range []string{victim.Name, victim.Company, victim.Email, victim.Password, victim.Token} {
			needles = append(needles, needlesFor("the erased person's value", v)...)
		}
		for _, f := range scan(t, append([]string{srv.dataDir, fence, bak + "/MANIFEST.json"}, srv.logFiles()...), needles) {
			t.Errorf("%s found in %s at byte %d", f.what, f.path, f.offset)
		}
	})

	t.Run("a_corrupted_fence_stops_serve_naming_the_line", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.fence")
		if n := bytes.Count(fenceBytes, []byte("\n")); n < 2 {
			t.Fatalf("the fence holds %d lines, want one per shredded subject (the account and its e-mail pseudonym)", n)
		}
		b := bytes.Clone(fenceBytes)
		i := bytes.IndexByte(b, '\n') + 12 // inside the second line
		b[i] ^= 0x01
		os.WriteFile(bad, b, 0o600)
		_, errOut, err := runCLIWithin(t, 10*time.Second, "serve", "--addr", "127.0.0.1:0", "--data-dir", srv.dataDir, "--master-key-file", masterKey,
			"--erasure-fence", bad, "--api-key", "admin="+srv.adminKey)
		if err == nil || !strings.Contains(errOut, "line 2") || !strings.Contains(errOut, "erasure fence is corrupt") {
			t.Errorf("serve with a corrupted fence: %v, stderr:\n%s", err, errOut)
		}
	})
}
