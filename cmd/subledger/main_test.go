package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aseptsoft/subledger/eventstore/esdb/esdbtest"
)

// TestBenchAppendPrintsOneJSONLine runs the benchmark in a directory that
// does not exist yet (two levels of it): bench append creates it.
func TestBenchAppendPrintsOneJSONLine(t *testing.T) {
	var out, errOut bytes.Buffer
	dir := filepath.Join(t.TempDir(), "not", "yet")
	err := run(context.Background(), []string{"bench", "append", "--dir", dir,
		"--writers", "4", "--streams", "50", "--events-per-stream", "3", "--stream-reads", "20", "--calibrate", "100ms"}, &out, &errOut)
	if err != nil {
		t.Fatalf("bench append: %v (%s)", err, errOut.String())
	}
	var res appendResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("output %q is not one JSON object: %v", out.String(), err)
	}
	if strings.Count(strings.TrimSpace(out.String()), "\n") != 0 {
		t.Fatalf("output is more than one line: %q", out.String())
	}
	if res.Events != 150 || res.ReplayEventsMeasured != 150 || res.StreamReadsMeasured != 20 {
		t.Fatalf("bench measured %d events, replayed %d, read %d streams; want 150, 150, 20", res.Events, res.ReplayEventsMeasured, res.StreamReadsMeasured)
	}
	for name, v := range map[string]float64{"appends_per_s": res.AppendsPerS, "replay_events_per_s": res.ReplayEventsPerS,
		"stream_reads_per_s": res.StreamReadsPerS, "disk_fdatasync_per_s": res.DiskFdatasyncPerS, "bytes_per_event": res.BytesPerEvent} {
		if !(v > 0) {
			t.Errorf("%s = %v, want a positive figure", name, v)
		}
	}
}

func TestServeAnswersHealthzAndStopsOnCancel(t *testing.T) {
	cases := []struct {
		name  string
		store func(t *testing.T) string
	}{
		{"embedded_store", func(*testing.T) string { return "embedded" }},
		{"esdb_store_on_the_in_process_server", func(t *testing.T) string { return esdbtest.Start(t) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { testServe(t, c.store(t)) })
	}
}

func testServe(t *testing.T, store string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs bytes.Buffer
	go func() {
		done <- serve(ctx, []string{"--addr", addr, "--data-dir", t.TempDir(), "--store", store}, io.Discard, &logs)
	}()
	var res *http.Response
	for i := 0; i < 500; i++ { // up to 10 s on a loaded machine
		if res, err = http.Get(fmt.Sprintf("http://%s/healthz", addr)); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz = %d, want 200", res.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v after cancel, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop after cancel")
	}
}

func TestEnvSetsFlagsNotGivenOnTheCommandLine(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"default_when_neither", nil, nil, "127.0.0.1:8080"},
		{"env_when_no_flag", nil, map[string]string{"SUBLEDGER_ADDR": "127.0.0.1:9999"}, "127.0.0.1:9999"},
		{"flag_wins_over_env", []string{"--addr", "127.0.0.1:7777"}, map[string]string{"SUBLEDGER_ADDR": "127.0.0.1:9999"}, "127.0.0.1:7777"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := newFlagSet("x", &bytes.Buffer{})
			addr := fs.String("addr", "127.0.0.1:8080", "")
			if err := parseWithEnv(fs, c.args, func(k string) string { return c.env[k] }); err != nil {
				t.Fatal(err)
			}
			if *addr != c.want {
				t.Fatalf("addr = %q, want %q", *addr, c.want)
			}
		})
	}
}

func TestServeRefusesMissingOrWrongSecretsOverExistingData(t *testing.T) {
	cases := []struct {
		name   string
		damage func(t *testing.T, keyFile string)
	}{
		{"missing_key_over_existing_data", func(t *testing.T, f string) {
			if err := os.Remove(f); err != nil {
				t.Fatal(err)
			}
		}},
		{"another_valid_key", func(t *testing.T, f string) {
			if err := os.WriteFile(f, []byte(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"not_a_key", func(t *testing.T, f string) {
			if err := os.WriteFile(f, []byte("hello\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"missing_key_ring_over_existing_events", func(t *testing.T, f string) {
			if err := os.RemoveAll(filepath.Join(filepath.Dir(f), "keyring")); err != nil {
				t.Fatal(err)
			}
		}},
		{"missing_license_signing_key_over_existing_events", func(t *testing.T, f string) {
			if err := os.Remove(filepath.Join(filepath.Dir(f), "license-signing.key")); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			keyFile := filepath.Join(dir, "master.key")
			// A first start creates the key and the key ring.
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if err := serve(ctx, []string{"--addr", "127.0.0.1:0", "--data-dir", dir}, io.Discard, io.Discard); err != nil {
				t.Fatalf("first start: %v", err)
			}
			if _, err := os.Stat(keyFile); err != nil {
				t.Fatalf("first start made no master key: %v", err)
			}
			// Some business, so that the store holds events.
			if err := generateStore(context.Background(), dir, generateConfig{Accounts: 1, Workers: 1, Seed: 1}, io.Discard); err != nil {
				t.Fatal(err)
			}
			c.damage(t, keyFile)
			after, _ := os.ReadFile(keyFile)
			err := serve(context.Background(), []string{"--addr", "127.0.0.1:0", "--data-dir", dir}, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), dir) {
				t.Fatalf("start after damage: %v, want an error naming what is wrong under %s", err, dir)
			}
			now, _ := os.ReadFile(keyFile)
			if !bytes.Equal(now, after) {
				t.Fatalf("the failed start changed (or created) the master key file")
			}
		})
	}
}

func TestInside(t *testing.T) {
	tests := []struct {
		name      string
		path, dir string
		want      bool
	}{
		{"a file in the directory is inside", "data/master.key", "data", true},
		{"a file in a subdirectory is inside", "./data/keys/master.key", "data/", true},
		{"a sibling is outside", "secrets/master.key", "data", false},
		{"a name that starts like the directory is outside", "data2/master.key", "data", false},
		{"the parent is outside", "master.key", "data", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := inside(tc.path, tc.dir); got != tc.want {
				t.Fatalf("inside(%q, %q) = %v, want %v", tc.path, tc.dir, got, tc.want)
			}
		})
	}
}
