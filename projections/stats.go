package projections

import (
	"cmp"
	"encoding/binary"
	"slices"
	"strings"
	"time"

	"github.com/aseptsoft/subledger/domain"
)

// counterKind names what a statistics counter counts.
type counterKind uint8

const (
	counterSignups              counterKind = iota + 1 // day
	counterAccountStatus                               // a: status
	counterSales                                       // day, a: product, b: currency
	counterRenewals                                    // day, a: product, b: currency
	counterSubscriptionStatus                          // a: plan, b: status
	counterSubscriptionsStarted                        // day, a: plan
	counterSubscriptionsEnded                          // day, a: plan
)

// counterKey names one counter. No counter holds personal data: days,
// statuses, product ids and currencies only.
type counterKey struct {
	kind counterKind
	day  int32 // days since 1970-01-01 (UTC)
	a, b string
}

func (k counterKey) bytes() []byte {
	b := make([]byte, 0, 1+4+len(k.a)+1+len(k.b))
	b = append(b, byte(k.kind))
	b = binary.BigEndian.AppendUint32(b, uint32(k.day)^(1<<31))
	b = appendString(b, k.a)
	return append(b, k.b...)
}

type counterDelta struct {
	n, amount int64
}

// counterRow is a stored counter.
type counterRow struct {
	key counterKey
	counterDelta
}

const secondsPerDay = 24 * 60 * 60

func dayOf(t time.Time) int32 {
	s := t.Unix()
	d := s / secondsPerDay
	if s%secondsPerDay < 0 {
		d--
	}
	return int32(d)
}

func dayStart(d int32) time.Time { return time.Unix(int64(d)*secondsPerDay, 0).UTC() }

// count adds n and amount to the counter k (written at flush).
func (w *writer) count(k counterKey, n, amount int64) {
	d := w.counters[k]
	d.n += n
	d.amount += amount
	w.counters[k] = d
}

func (w *writer) flushCounters() error {
	// Look up every counter before writing any (see deltaWrite).
	writes := w.counterWrites[:0]
	for k, d := range w.counters {
		if d == (counterDelta{}) {
			continue
		}
		old, err := first[counterRow](w.txn, tableCounters, k.bytes())
		if err != nil {
			return err
		}
		row := &counterRow{key: k, counterDelta: d}
		if old != nil {
			row.n += old.n
			row.amount += old.amount
		}
		if row.counterDelta == (counterDelta{}) {
			row = nil
		}
		writes = append(writes, deltaWrite[counterRow]{old, row})
	}
	w.counterWrites = writes
	return writeDeltas(w.txn, tableCounters, writes)
}

// subscriptionStats adds a started subscription's part of the statistics,
// times sign: its plan and status, and the days it started and ended.
func (w *writer) subscriptionStats(s *Subscription, sign int64) {
	if s == nil || !s.Started {
		return
	}
	w.count(counterKey{kind: counterSubscriptionStatus, a: s.ProductID, b: string(s.Status)}, sign, 0)
	if !s.StartedAt.IsZero() {
		w.count(counterKey{kind: counterSubscriptionsStarted, day: dayOf(s.StartedAt), a: s.ProductID}, sign, 0)
	}
	if s.Status == domain.SubscriptionStatusEnded {
		w.count(counterKey{kind: counterSubscriptionsEnded, day: dayOf(s.EndedAt), a: s.ProductID}, sign, 0)
	}
}

// Stats are aggregate figures without personal data.
type Stats struct {
	// Position is the global position the figures reflect.
	Position uint64
	// Accounts counts accounts by status now; Registered counts sign-ups
	// ever (erasure does not lower it).
	Accounts AccountCounts
	// SignUps counts registrations per day.
	SignUps []DayCount
	// Sales counts the payments recorded (every sale, referred or not) per
	// day, product and currency.
	Sales []ProductSales
	// Subscriptions counts started subscriptions per plan by status now.
	Subscriptions []PlanSubscriptions
	// Churn counts subscriptions started and ended per month and plan (by
	// their plan now).
	Churn []PlanChurn
}

// AccountCounts counts accounts.
type AccountCounts struct {
	Registered, Active, Closed, Erased int64
}

// DayCount is a count on one day (UTC), Day formatted 2006-01-02.
type DayCount struct {
	Day   string
	Count int64
}

// ProductSales is one day's first payments (Sales) and renewals of a product
// in a currency, with their amounts.
type ProductSales struct {
	Day            string
	ProductID      string
	Currency       string
	Sales          int64
	SalesAmount    int64
	Renewals       int64
	RenewalsAmount int64
}

// PlanSubscriptions counts a plan's subscriptions by status.
type PlanSubscriptions struct {
	ProductID              string
	Active, PastDue, Ended int64
}

// PlanChurn is one month's (Period 2006-01) started and ended
// subscriptions of a plan.
type PlanChurn struct {
	Period         string
	ProductID      string
	Started, Ended int64
}

// Stats returns the aggregate statistics. The per-day and per-month series
// are limited to [from, to) (a zero bound is open; months are included
// when they start in the range); the current counts are not.
func (v *View) Stats(from, to time.Time) Stats {
	st := Stats{Position: v.Position()}
	inDays := func(d int32) bool {
		t := dayStart(d)
		return (from.IsZero() || !t.Before(from)) && (to.IsZero() || t.Before(to))
	}
	type salesKey struct {
		day               int32
		product, currency string
	}
	sales := map[salesKey]*ProductSales{}
	plans := map[string]*PlanSubscriptions{}
	type churnKey struct {
		month   month
		product string
	}
	churn := map[churnKey]*PlanChurn{}

	it, err := v.txn.Get(tableCounters, indexID)
	if err != nil {
		return st
	}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		c := raw.(*counterRow)
		k := c.key
		switch k.kind {
		case counterSignups:
			st.Accounts.Registered += c.n
			if inDays(k.day) {
				st.SignUps = append(st.SignUps, DayCount{Day: dayStart(k.day).Format(time.DateOnly), Count: c.n})
			}
		case counterAccountStatus:
			switch domain.AccountStatus(k.a) {
			case domain.AccountStatusActive:
				st.Accounts.Active += c.n
			case domain.AccountStatusClosed:
				st.Accounts.Closed += c.n
			case domain.AccountStatusErased:
				st.Accounts.Erased += c.n
			}
		case counterSales, counterRenewals:
			if !inDays(k.day) {
				continue
			}
			sk := salesKey{k.day, k.a, k.b}
			s := sales[sk]
			if s == nil {
				s = &ProductSales{Day: dayStart(k.day).Format(time.DateOnly), ProductID: k.a, Currency: k.b}
				sales[sk] = s
			}
			if k.kind == counterSales {
				s.Sales, s.SalesAmount = s.Sales+c.n, s.SalesAmount+c.amount
			} else {
				s.Renewals, s.RenewalsAmount = s.Renewals+c.n, s.RenewalsAmount+c.amount
			}
		case counterSubscriptionStatus:
			p := plans[k.a]
			if p == nil {
				p = &PlanSubscriptions{ProductID: k.a}
				plans[k.a] = p
			}
			switch domain.SubscriptionStatus(k.b) {
			case domain.SubscriptionStatusActive:
				p.Active += c.n
			case domain.SubscriptionStatusPastDue:
				p.PastDue += c.n
			case domain.SubscriptionStatusEnded:
				p.Ended += c.n
			}
		case counterSubscriptionsStarted, counterSubscriptionsEnded:
			m := monthOf(dayStart(k.day))
			if !inDays(dayOf(m.start())) {
				continue
			}
			ck := churnKey{m, k.a}
			ch := churn[ck]
			if ch == nil {
				ch = &PlanChurn{Period: m.String(), ProductID: k.a}
				churn[ck] = ch
			}
			if k.kind == counterSubscriptionsStarted {
				ch.Started += c.n
			} else {
				ch.Ended += c.n
			}
		}
	}
	for _, s := range sales {
		st.Sales = append(st.Sales, *s)
	}
	slices.SortFunc(st.Sales, func(a, b ProductSales) int {
		return cmp.Or(strings.Compare(a.Day, b.Day), strings.Compare(a.ProductID, b.ProductID), strings.Compare(a.Currency, b.Currency))
	})
	for _, p := range plans {
		st.Subscriptions = append(st.Subscriptions, *p)
	}
	slices.SortFunc(st.Subscriptions, func(a, b PlanSubscriptions) int { return strings.Compare(a.ProductID, b.ProductID) })
	for _, c := range churn {
		st.Churn = append(st.Churn, *c)
	}
	slices.SortFunc(st.Churn, func(a, b PlanChurn) int {
		return cmp.Or(strings.Compare(a.Period, b.Period), strings.Compare(a.ProductID, b.ProductID))
	})
	return st
}
