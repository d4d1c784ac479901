package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestBenchHTTPPrintsOneJSONLineAndReusesItsStore(t *testing.T) {
	dir := t.TempDir()
	args := []string{"bench", "http", "--dir", dir, "--accounts", "40", "--affiliates", "3", "--conns", "4",
		"--duration", "300ms", "--warmup", "50ms", "--json"}
	bench := func() httpBenchResult {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := run(context.Background(), args, &out, &errOut); err != nil {
			t.Fatalf("bench http: %v (%s)", err, errOut.String())
		}
		if strings.Count(strings.TrimSpace(out.String()), "\n") != 0 {
			t.Fatalf("output is more than one line: %q", out.String())
		}
		var res httpBenchResult
		if err := json.Unmarshal(out.Bytes(), &res); err != nil {
			t.Fatalf("output %q is not one JSON object: %v", out.String(), err)
		}
		for name, p := range map[string]httpPhaseFigures{"bare": res.Bare, "get": res.Get, "patch": res.Patch} {
			if p.Requests == 0 || !(p.RPS > 0) || !(p.P99ms >= p.P50ms) || res.Errors[name] != 0 {
				t.Errorf("%s: %+v, %d errors; want requests, a rate, p99 >= p50 and no errors", name, p, res.Errors[name])
			}
		}
		if res.BodyBytes < 100 || !(res.GetToBare > 0) {
			t.Errorf("body %d bytes, get/bare %v", res.BodyBytes, res.GetToBare)
		}
		return res
	}
	if first := bench(); !(first.GenerateSeconds > 0) {
		t.Errorf("first run: generate_seconds %v, want the store generated", first.GenerateSeconds)
	}
	if second := bench(); second.GenerateSeconds != 0 || second.JobsErased+second.JobsApproved != 0 {
		t.Errorf("second run: generate_seconds %v, jobs %d+%d; want the store and its done work reused",
			second.GenerateSeconds, second.JobsErased, second.JobsApproved)
	}

	// A store of another size is refused, not silently measured.
	var out, errOut bytes.Buffer
	other := append(append([]string(nil), args...), "--accounts", "41")
	if err := run(context.Background(), other, &out, &errOut); err == nil || !strings.Contains(err.Error(), "holds a store of 40 accounts") {
		t.Fatalf("bench http over a store of 40 accounts with --accounts 41: %v, want a refusal", err)
	}
}
