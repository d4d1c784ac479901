package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
)

func TestBenchCapacityMeasuresAGeneratedStore(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"bench", "capacity", "--dir", t.TempDir(), "--accounts", "30", "--affiliates", "2",
		"--workers", "4", "--settle", "0s"}, &out, &errOut)
	if err != nil {
		t.Fatalf("bench capacity: %v (%s)", err, errOut.String())
	}
	var res capacityResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("bench capacity printed %q: %v", out.String(), err)
	}
	if res.Accounts != 30 || res.GeneratedEvents < 30*3 || res.Events < res.GeneratedEvents || res.Streams <= res.Accounts {
		t.Fatalf("bench capacity result %+v: want 30 accounts, their events and streams", res)
	}
	if len(res.OpenSeconds) != 2 || res.OpenSeconds[0] <= 0 || res.IndexHeapBytes <= 0 || res.ProjectionsHeapBytes <= 0 {
		t.Fatalf("bench capacity result %+v lacks the open and heap figures", res)
	}
	if res.ServeRSSBytes <= 0 || res.ServeHWMBytes < res.ServeRSSBytes || res.ServeReadySeconds <= 0 || res.RebuildPeakRSS <= 0 {
		t.Fatalf("bench capacity result %+v lacks the serve and rebuild figures", res)
	}
	if want := float64(res.LogBytes) / float64(res.Events); res.LogBytes <= 0 || res.BytesPerEvent != want || res.KeyringBytes <= 0 {
		t.Fatalf("bench capacity result %+v: log bytes per event %v, want %v", res, res.BytesPerEvent, want)
	}
}
