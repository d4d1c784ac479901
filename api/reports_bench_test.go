package api_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aseptsoft/subledger/domain"
)

// BenchmarkSalesReportCSV downloads an affiliate's sales report of 10,000
// and 100,000 rows as CSV over HTTP (a real server on 127.0.0.1, the real
// stack behind it) and reports rows/s and the peak growth of the heap
// during the download over the heap before it (the idle server's). The
// rows are made through the domain (license sales referred by the
// affiliate), 64 at a time.
func BenchmarkSalesReportCSV(b *testing.B) {
	for _, rows := range []int{10_000, 100_000} {
		// The store is made once, outside the sub-benchmark, which the
		// testing package calls again for every b.N it tries.
		e := newEnv(b)
		var setup sync.Once
		var reg *domain.RegisteredAffiliate
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			setup.Do(func() { reg = makeSales(b, e, rows) })
			url := e.url + "/v1/affiliates/" + reg.Affiliate.ID + "/reports/sales?from=2026-01-01&to=2031-01-01&format=csv"
			runtime.GC()
			idle := heapBytes()
			var peak atomic.Uint64
			stop := make(chan struct{})
			sampled := make(chan struct{})
			go func() {
				defer close(sampled)
				t := time.NewTicker(2 * time.Millisecond)
				defer t.Stop()
				for {
					select {
					case <-stop:
						return
					case <-t.C:
						if h := heapBytes(); h > peak.Load() {
							peak.Store(h)
						}
					}
				}
			}()
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				req, _ := http.NewRequest("GET", url, nil)
				req.Header.Set("Authorization", "Bearer "+reg.APIKey)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				sc := bufio.NewScanner(res.Body)
				for sc.Scan() {
					n++
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 || n != rows+1 {
					b.Fatalf("status %d, %d lines, want %d", res.StatusCode, n, rows+1)
				}
			}
			elapsed := time.Since(start)
			b.StopTimer()
			close(stop)
			<-sampled
			b.ReportMetric(float64(rows)*float64(b.N)/elapsed.Seconds(), "rows/s")
			growth := int64(peak.Load()) - int64(idle)
			b.ReportMetric(float64(max(growth, 0))/(1<<20), "MiB-heap-growth")
		})
	}
}

// heapBytes returns the bytes of live and not yet swept heap objects.
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// makeSales records rows license sales referred by a new affiliate, 64 at
// a time, and waits for the projections.
func makeSales(b *testing.B, e *env, rows int) *domain.RegisteredAffiliate {
	ctx := context.Background()
	reg, _, err := e.svc.RegisterAffiliate(ctx, domain.RegisterAffiliate{Name: "Bench", Email: "bench@example.com", CommissionRateBps: 1000})
	if err != nil {
		b.Fatal(err)
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var next atomic.Int64
	var last atomic.Uint64
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(rows) {
					return
				}
				_, res, err := e.svc.RecordCheckoutPaid(ctx, domain.RecordCheckoutPaid{SessionID: fmt.Sprint("cs_", i), PaymentIntentID: fmt.Sprint("pi_", i),
					AccountID: "bench-account", ProductID: "app-license", Quantity: 1, AffiliateID: reg.Affiliate.ID, Amount: 4900, Currency: "usd",
					OccurredAt: at.Add(time.Duration(i) * time.Minute)})
				if err != nil {
					b.Error(err)
					return
				}
				for p := last.Load(); res.Position > p && !last.CompareAndSwap(p, res.Position); p = last.Load() {
				}
			}
		}()
	}
	wg.Wait()
	if err := e.proj.WaitFor(ctx, last.Load()); err != nil {
		b.Fatal(err)
	}
	return reg
}
