package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aseptsoft/subledger/eventstore/esdb/esdbtest"
)

func TestBenchAppendPrintsOneJSONLine(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"bench", "append", "--dir", t.TempDir(),
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
	go func() { done <- serve(ctx, []string{"--addr", addr, "--data-dir", t.TempDir(), "--store", store}, &logs) }()
	var res *http.Response
	for i := 0; i < 100; i++ {
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
