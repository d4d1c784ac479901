package domain

import (
	"testing"
	"time"
)

func TestAddMonths(t *testing.T) {
	at := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 10, 30, 5, 7, time.UTC) }
	for _, c := range []struct {
		name string
		from time.Time
		n    int
		want time.Time
	}{
		{"january_31_plus_one_is_february_28", at(2026, 1, 31), 1, at(2026, 2, 28)},
		{"january_31_plus_one_in_a_leap_year_is_february_29", at(2028, 1, 31), 1, at(2028, 2, 29)},
		{"january_29_plus_one_is_february_28", at(2026, 1, 29), 1, at(2026, 2, 28)},
		{"january_30_plus_two_is_march_30", at(2026, 1, 30), 2, at(2026, 3, 30)},
		{"march_31_plus_one_is_april_30", at(2026, 3, 31), 1, at(2026, 4, 30)},
		{"december_31_plus_two_is_february_28_of_the_next_year", at(2026, 12, 31), 2, at(2027, 2, 28)},
		{"mid_month_plus_twelve_is_the_same_day_a_year_later", at(2026, 1, 15), 12, at(2027, 1, 15)},
		{"zero_months_is_the_same_instant", at(2026, 1, 31), 0, at(2026, 1, 31)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := addMonths(c.from, c.n); !got.Equal(c.want) {
				t.Fatalf("addMonths(%s, %d) = %s, want %s", c.from, c.n, got, c.want)
			}
		})
	}
}

// The Sale's status turns at the instant the hold has passed, whether or
// not the approval job ran, and reads reversed once the whole sale is.
func TestCommissionStatusTurnsAtTheInstantTheHoldEnds(t *testing.T) {
	sale := func(approved bool, reversed int64) *Sale {
		s := newSale()
		s.apply(SaleRecorded{SaleID: "s", Kind: SaleKindSale, Amount: 1000, Currency: "eur", OccurredAt: t0})
		s.apply(CommissionEarned{SaleID: "s", AffiliateID: affX, Amount: 1000, RateBps: 1000, CommissionAmount: 100, OccurredAt: t0})
		if approved {
			s.apply(CommissionApproved{SaleID: "s", AffiliateID: affX, ApprovedAt: t0})
		}
		if reversed != 0 {
			s.apply(CommissionReversed{SaleID: "s", ReversalID: "r", Amount: -reversed, CommissionAmount: -reversed / 10, OccurredAt: t0})
		}
		return s
	}
	hold := 720 * time.Hour
	for _, c := range []struct {
		name string
		s    *Sale
		at   time.Time
		hold time.Duration
		want CommissionStatus
	}{
		{"pending_a_nanosecond_before_the_hold_ends", sale(false, 0), t0.Add(hold - 1), hold, CommissionStatusPending},
		{"approved_at_the_instant_the_hold_ends_without_the_job", sale(false, 0), t0.Add(hold), hold, CommissionStatusApproved},
		{"approved_at_the_sale_itself_with_no_hold", sale(false, 0), t0, 0, CommissionStatusApproved},
		{"pending_before_the_sale_with_no_hold", sale(false, 0), t0.Add(-1), 0, CommissionStatusPending},
		{"approved_when_the_approval_is_recorded", sale(true, 0), t0, hold, CommissionStatusApproved},
		{"partly_reversed_keeps_its_status", sale(false, 999), t0.Add(hold), hold, CommissionStatusApproved},
		{"reversed_in_full_reads_reversed", sale(true, 1000), t0.Add(hold), hold, CommissionStatusReversed},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.s.CommissionStatusAt(c.at, c.hold); got != c.want {
				t.Fatalf("status at %s with hold %s: %s, want %s", c.at, c.hold, got, c.want)
			}
		})
	}
}
