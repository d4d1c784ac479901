package projections

import (
	"fmt"
	"testing"
	"time"

	"github.com/aseptsoft/subledger/domain"
)

// TestSalesRowsPages: pages joined give exactly what SalesRows yields, for
// every page size, with ties in time; other affiliates' rows never appear.
func TestSalesRowsPages(t *testing.T) {
	t0 := day(2024, 1, 10)
	p := newProjector(t, Config{})
	var events []domain.Event
	for i := range 23 {
		at := t0.Add(time.Duration(i/3) * time.Hour) // three rows per instant
		events = append(events, earned(fmt.Sprint("s", i), "f1", domain.SaleKindSale, 100, at),
			earned(fmt.Sprint("o", i), "f2", domain.SaleKindSale, 100, at))
	}
	applyEvents(t, p, 1, events...)
	v := p.View()
	from, to := t0.Add(time.Hour), t0.Add(6*time.Hour)
	want := collect(v.SalesRows("f1", from, to))
	tests := []struct {
		name  string
		limit int
	}{{"pages of one", 1}, {"pages of two split the ties", 2}, {"pages of seven", 7}, {"one page holds all", 500}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []SalesRow
			cursor, pages := "", 0
			for {
				pg, err := v.SalesRowsPage("f1", from, to, tc.limit, cursor)
				if err != nil {
					t.Fatal(err)
				}
				if len(pg.Items) > tc.limit {
					t.Fatalf("page of %d rows, limit %d", len(pg.Items), tc.limit)
				}
				got = append(got, pg.Items...)
				if pages++; pg.NextCursor == "" || pages > 100 {
					break
				}
				cursor = pg.NextCursor
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("pages\n%v\nwant\n%v", got, want)
			}
		})
	}
	if _, err := v.SalesRowsPage("f1", from, to, 5, "not a cursor!"); err != ErrBadCursor {
		t.Fatalf("bad cursor: %v", err)
	}
	if got := v.AffiliatesByEmail("x@example.org"); len(got) != 0 {
		t.Fatalf("affiliates by an unknown e-mail: %v", got)
	}
}
