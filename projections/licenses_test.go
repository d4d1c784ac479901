package projections

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aseptsoft/subledger/domain"
)

func TestLicenses(t *testing.T) {
	t0 := day(2024, 5, 1)
	buy := func(id, account string, at time.Time) domain.LicensePurchased {
		return domain.LicensePurchased{LicenseID: id, SaleID: "s-" + id, AccountID: account, ProductID: "pro",
			Quantity: 2, Amount: 9800, Currency: "eur", PurchasedAt: at}
	}
	tests := []struct {
		name   string
		events []domain.Event
		id     string
		want   License
	}{
		{
			name:   "purchased license with key is active",
			events: []domain.Event{buy("l1", "a1", t0), domain.LicenseKeyIssued{LicenseID: "l1", AccountID: "a1", Key: "KEY", IssuedAt: t0}},
			id:     "l1",
			want: License{ID: "l1", AccountID: "a1", SaleID: "s-l1", ProductID: "pro", Quantity: 2, Status: domain.LicenseStatusActive,
				Key: "KEY", Amount: 9800, Currency: "eur", PurchasedAt: t0, KeyIssuedAt: t0},
		},
		{
			name:   "refunded license is refunded at the latest refund time",
			events: []domain.Event{buy("l1", "a1", t0), domain.LicenseRefunded{LicenseID: "l1", RefundedAt: t0.Add(2 * time.Hour)}, domain.LicenseRefunded{LicenseID: "l1", RefundedAt: t0.Add(time.Hour)}},
			id:     "l1",
			want: License{ID: "l1", AccountID: "a1", SaleID: "s-l1", ProductID: "pro", Quantity: 2, Status: domain.LicenseStatusRefunded,
				Amount: 9800, Currency: "eur", PurchasedAt: t0, RefundedAt: t0.Add(time.Hour)},
		},
		{
			name:   "revoked wins over refunded in either order",
			events: []domain.Event{buy("l1", "a1", t0), domain.LicenseRevoked{LicenseID: "l1", Reason: "fraud", RevokedAt: t0}, domain.LicenseRefunded{LicenseID: "l1", RefundedAt: t0}},
			id:     "l1",
			want: License{ID: "l1", AccountID: "a1", SaleID: "s-l1", ProductID: "pro", Quantity: 2, Status: domain.LicenseStatusRevoked,
				Amount: 9800, Currency: "eur", PurchasedAt: t0, RefundedAt: t0, RevokedAt: t0, RevokeReason: "fraud"},
		},
		{
			name: "key of an erased owner is gone",
			events: []domain.Event{domain.AccountRegistered{AccountID: "a1", Email: "a@example.com"}, buy("l1", "a1", t0),
				domain.LicenseKeyIssued{LicenseID: "l1", AccountID: "a1", Key: "KEY", IssuedAt: t0}, domain.AccountErased{AccountID: "a1"}},
			id: "l1",
			want: License{ID: "l1", AccountID: "a1", SaleID: "s-l1", ProductID: "pro", Quantity: 2, Status: domain.LicenseStatusActive,
				Amount: 9800, Currency: "eur", PurchasedAt: t0, KeyIssuedAt: t0},
		},
		{
			name: "key issued after the owner's erasure is not kept",
			events: []domain.Event{domain.AccountRegistered{AccountID: "a1", Email: "a@example.com"}, domain.AccountErased{AccountID: "a1"},
				buy("l1", "a1", t0), domain.LicenseKeyIssued{LicenseID: "l1", AccountID: "a1", Key: "KEY", IssuedAt: t0}},
			id: "l1",
			want: License{ID: "l1", AccountID: "a1", SaleID: "s-l1", ProductID: "pro", Quantity: 2, Status: domain.LicenseStatusActive,
				Amount: 9800, Currency: "eur", PurchasedAt: t0, KeyIssuedAt: t0},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newProjector(t, Config{})
			for i, e := range tc.events {
				applyEvents(t, p, uint64(i+1), e)
			}
			got, ok := p.View().License(tc.id)
			if !ok || got != tc.want {
				t.Fatalf("License = %+v, %v\nwant %+v", got, ok, tc.want)
			}
		})
	}
}

func TestLicensesPaging(t *testing.T) {
	t0 := day(2024, 5, 1)
	p := newProjector(t, Config{})
	var events []domain.Event
	for i := range 7 {
		// Two licenses share each purchase time: ties are ordered by id.
		events = append(events, domain.LicensePurchased{LicenseID: fmt.Sprintf("l%d", i), AccountID: "a1", ProductID: "pro",
			PurchasedAt: t0.Add(time.Duration(i/2) * time.Hour)})
	}
	events = append(events, domain.LicensePurchased{LicenseID: "other", AccountID: "a2", PurchasedAt: t0})
	applyEvents(t, p, 1, events...)

	tests := []struct {
		name  string
		limit int
		want  [][]string
	}{
		{name: "limit 3 gives three pages", limit: 3, want: [][]string{{"l0", "l1", "l2"}, {"l3", "l4", "l5"}, {"l6"}}},
		{name: "limit equal to the count gives one page", limit: 7, want: [][]string{{"l0", "l1", "l2", "l3", "l4", "l5", "l6"}}},
		{name: "default limit gives one page", limit: 0, want: [][]string{{"l0", "l1", "l2", "l3", "l4", "l5", "l6"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := p.View()
			cursor := ""
			for i, want := range tc.want {
				page, err := v.Licenses("a1", tc.limit, cursor)
				if err != nil {
					t.Fatal(err)
				}
				var ids []string
				for _, l := range page.Items {
					ids = append(ids, l.ID)
				}
				if fmt.Sprint(ids) != fmt.Sprint(want) {
					t.Fatalf("page %d = %v, want %v", i, ids, want)
				}
				if last := i == len(tc.want)-1; last != (page.NextCursor == "") {
					t.Fatalf("page %d: next cursor %q", i, page.NextCursor)
				}
				cursor = page.NextCursor
			}
		})
	}
	t.Run("bad cursor is refused", func(t *testing.T) {
		if _, err := p.View().Licenses("a1", 2, "!!"); !errors.Is(err, ErrBadCursor) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("account without licenses has an empty page", func(t *testing.T) {
		page, err := p.View().Licenses("nobody", 2, "")
		if err != nil || len(page.Items) != 0 || page.NextCursor != "" {
			t.Fatalf("page = %+v, %v", page, err)
		}
	})
}
