package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"testing"
)

// TestMain lets the test binary stand in for the subledger binary in child
// processes (bench rebuild runs `subledger rebuild` as a child).
func TestMain(m *testing.M) {
	if os.Getenv("SUBLEDGER_TEST_RUN_AS_MAIN") == "1" {
		main()
		return
	}
	os.Setenv("SUBLEDGER_TEST_RUN_AS_MAIN", "1")
	os.Exit(m.Run())
}

func TestRebuildReplaysAGeneratedStore(t *testing.T) {
	dir := t.TempDir()
	var genLog bytes.Buffer
	if err := generateStore(context.Background(), dir, generateConfig{Accounts: 40, Affiliates: 2, Workers: 4, Seed: 9}, &genLog); err != nil {
		t.Fatalf("generate: %v", err)
	}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"rebuild", "--data-dir", dir, "--json"}, &out, &errOut); err != nil {
		t.Fatalf("rebuild: %v (%s)", err, errOut.String())
	}
	var sum rebuildSummary
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil {
		t.Fatalf("rebuild printed %q: %v", out.String(), err)
	}
	if sum.Accounts != 40 || sum.Events < 40*3 || sum.Subscriptions == 0 || sum.Sales == 0 {
		t.Fatalf("rebuild summary %+v: want 40 accounts and their subscriptions and sales", sum)
	}
	if sum.PeakRSSBytes <= 0 || sum.EventsPerS <= 0 {
		t.Fatalf("rebuild summary %+v lacks its measurements", sum)
	}
}

func TestRebuildRefusesADirectoryWithoutItsMasterKey(t *testing.T) {
	dir := t.TempDir()
	if err := generateStore(context.Background(), dir, generateConfig{Accounts: 2, Workers: 1, Seed: 1}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(dir + "/master.key"); err != nil {
		t.Fatal(err)
	}
	err := run(context.Background(), []string{"rebuild", "--data-dir", dir}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil {
		t.Fatal("rebuild without the master key succeeded")
	}
	if _, statErr := os.Stat(dir + "/master.key"); statErr == nil {
		t.Fatal("rebuild made a new master key")
	}
}

func TestBenchRebuildPrintsOneJSONLine(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"bench", "rebuild", "--dir", t.TempDir(), "--accounts", "30", "--affiliates", "2", "--workers", "4"}, &out, &errOut)
	if err != nil {
		t.Fatalf("bench rebuild: %v (%s)", err, errOut.String())
	}
	var res rebuildBenchResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("bench rebuild printed %q: %v", out.String(), err)
	}
	if res.Accounts != 30 || res.Events == 0 || res.RebuildEventsPer <= 0 || res.PeakRSSBytes <= 0 || res.StoreBytes <= 0 {
		t.Fatalf("bench rebuild result %+v", res)
	}
}
