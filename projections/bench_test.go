package projections

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aseptsoft/subledger/domain"
)

// BenchmarkSalesRows streams an affiliate's report of 100,000 rows (sales,
// renewals and reversals) from the projections.
func BenchmarkSalesRows(b *testing.B) {
	const rows = 100_000
	p := newProjector(b, Config{Now: func() time.Time { return genStart.AddDate(0, 1, 0) }})
	var events []domain.Event
	for i, n := 0, 0; n < rows; i++ {
		at := genStart.Add(time.Duration(i) * time.Minute)
		sale := fmt.Sprintf("sale-%07d", i)
		events = append(events, earned(sale, "f1", domain.SaleKind([]string{"sale", "renewal"}[i%2]), 1000+int64(i%5000), at))
		n++
		if i%10 == 0 {
			events = append(events, reversed(sale, sale+"-r", "f1", 500, at.Add(time.Hour)))
			n++
		}
		if i%100 == 0 {
			events = append(events, earned(fmt.Sprintf("other-%07d", i), "f2", domain.SaleKindSale, 100, at))
		}
	}
	for lo, pos := 0, uint64(1); lo < len(events); lo, pos = lo+1000, pos+1 {
		applyEvents(b, p, pos, events[lo:min(lo+1000, len(events))]...)
	}
	from, to := genStart, genStart.AddDate(1, 0, 0)
	if n := len(collect(p.View().SalesRows("f1", from, to))); n < rows {
		b.Fatalf("%d rows", n)
	}

	b.Run("iterate", func(b *testing.B) {
		var n int
		for b.Loop() {
			var sum int64
			for r := range p.View().SalesRows("f1", from, to) {
				sum += r.CommissionAmount
				n++
			}
			_ = sum
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run("csv", func(b *testing.B) {
		var n int
		for b.Loop() {
			w := csv.NewWriter(io.Discard)
			rec := make([]string, 8)
			var buf []byte
			for r := range p.View().SalesRows("f1", from, to) {
				buf = r.OccurredAt.AppendFormat(buf[:0], time.RFC3339)
				rec[0], rec[1], rec[2], rec[3] = string(buf), r.SaleID, string(r.Kind), r.ProductID
				rec[4], rec[5] = strconv.FormatInt(r.Amount, 10), r.Currency
				rec[6], rec[7] = strconv.FormatInt(r.CommissionAmount, 10), string(r.CommissionStatus)
				if err := w.Write(rec); err != nil {
					b.Fatal(err)
				}
				n++
			}
			w.Flush()
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
	})
	// The summary report from the maintained monthly figures, against the
	// same summed from the rows at query time.
	b.Run("summary-maintained", func(b *testing.B) {
		for b.Loop() {
			if len(p.View().SalesSummary("f1", from, to)) == 0 {
				b.Fatal("empty summary")
			}
		}
	})
	b.Run("summary-from-rows", func(b *testing.B) {
		for b.Loop() {
			if len(p.View().summarizeRows(nil, "f1", from, to)) == 0 {
				b.Fatal("empty summary")
			}
		}
	})
}

// benchCustomers is the number of customer lifecycles of the apply and
// rebuild benchmarks (about 17 events each).
const benchCustomers = 10_000

// BenchmarkApply applies already decoded events, the generated mix of
// registrations, licenses, subscriptions with renewals, sales, commissions,
// refunds and Stripe receipts, in batches of 1,000 into empty projections.
func BenchmarkApply(b *testing.B) {
	events := genEvents(benchCustomers)
	var n int
	for b.Loop() {
		p := newProjector(b, Config{})
		var pos uint64
		for lo := 0; lo < len(events); lo += 1000 {
			pos++
			if err := p.apply(batch{events: events[lo:min(lo+1000, len(events))], last: pos}); err != nil {
				b.Fatal(err)
			}
		}
		n += len(events)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkRebuild rebuilds the projections from an embedded store holding
// the generated mix as JSON: read, decode (the test decoder: JSON into the
// domain types, no decryption) and apply.
func BenchmarkRebuild(b *testing.B) {
	s := openStore(b)
	var wg sync.WaitGroup
	work := make(chan int)
	for range 32 {
		wg.Go(func() {
			for i := range work {
				var events []domain.Event
				for _, se := range genLifecycle(i) {
					events = append(events, se.events...)
				}
				appendEvents(b, s, fmt.Sprintf("customer-%d", i), events...)
			}
		})
	}
	for i := range benchCustomers {
		work <- i
	}
	close(work)
	wg.Wait()
	head := s.Position()
	b.ResetTimer()

	var n uint64
	for b.Loop() {
		p := newProjector(b, Config{})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx, s) }()
		if err := p.WaitFor(ctx, head); err != nil {
			b.Fatal(err)
		}
		cancel()
		<-done
		n += head
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}
