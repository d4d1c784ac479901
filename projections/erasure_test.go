package projections

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aseptsoft/subledger/domain"
)

// figures are the non-personal figures that erasure must not change.
type figures struct {
	rows      map[string][]SalesRow
	summaries map[string][]SummaryRow
	stats     Stats
	license   License
	sub       Subscription
}

func nonPersonalFigures(p *Projector, account string) figures {
	v := p.View()
	f := figures{rows: map[string][]SalesRow{}, summaries: map[string][]SummaryRow{}, stats: v.Stats(time.Time{}, time.Time{})}
	f.stats.Position, f.stats.Accounts = 0, AccountCounts{}
	for a := range genAffiliates {
		id := fmt.Sprintf("aff-%02d", a)
		f.rows[id] = collect(v.SalesRows(id, time.Time{}, time.Time{}))
		f.summaries[id] = v.SalesSummary(id, day(2000, 1, 1), day(2100, 1, 1))
	}
	f.license, _ = v.License("lic-" + account)
	f.license.Key = ""
	f.sub, _ = v.Subscription("sub-" + account)
	return f
}

// TestErasure erases a customer who bought a referred license and a
// referred subscription: afterwards no table holds any of the customer's
// personal values, every non-personal figure is unchanged, and a rebuild
// from the store (whose personal parts now read as erased) gives the same
// tables.
func TestErasure(t *testing.T) {
	s := openStore(t)
	dec := newTestDecoder()
	live := startProjector(t, s, Config{Decoder: dec, Now: func() time.Time { return genStart.AddDate(0, 2, 0) }})
	const victim = 6 // referred (6 % 3 == 0), subscribed (even)
	acc := accountID(victim)
	head := appendLifecycles(t, s, true, 0, 12)
	waitFor(t, live.Projector, head)

	personal := []string{"Customer " + acc, "Company " + acc, acc + "@customers.example", "LK-" + acc, "cus_" + acc, "$argon2id$hash" + acc}
	before := fmt.Sprintf("%+v", dump(t, live.Projector))
	for _, value := range personal[:4] {
		if !strings.Contains(before, value) {
			t.Fatalf("setup: %q not projected before erasure", value)
		}
	}
	want := nonPersonalFigures(live.Projector, acc)
	if len(want.rows[fmt.Sprintf("aff-%02d", victim/3%genAffiliates)]) == 0 || want.sub.ID == "" || want.license.ID == "" {
		t.Fatal("setup: the erased customer has no referred sales, subscription or license")
	}
	statsBefore := live.View().Stats(time.Time{}, time.Time{})

	erasedAt := genStart.AddDate(0, 1, 0)
	head = appendEvents(t, s, domain.AccountStream(acc),
		domain.AccountErasureRequested{AccountID: acc, Reason: "request", RequestedAt: erasedAt},
		domain.AccountErased{AccountID: acc, ErasedAt: erasedAt})
	dec.erase(acc) // the key is shredded: personal parts now read as erased
	waitFor(t, live.Projector, head)

	after := dump(t, live.Projector)
	text := fmt.Sprintf("%+v", after)
	for _, value := range personal {
		if strings.Contains(text, value) {
			t.Errorf("a table still holds %q after erasure", value)
		}
	}
	v := live.View()
	a, ok := v.Account(acc)
	if !ok || a.Status != domain.AccountStatusErased || a.Name != "" || a.Company != "" || a.Email != "" || a.MarketingConsent ||
		!a.ErasedAt.Equal(erasedAt) || a.CreatedAt.IsZero() {
		t.Errorf("erased account = %+v", a)
	}
	if _, ok := v.AccountByEmail(acc + "@customers.example"); ok {
		t.Error("erased address still found")
	}
	if got := nonPersonalFigures(live.Projector, acc); !reflect.DeepEqual(got, want) {
		t.Errorf("non-personal figures changed by erasure:\n got %+v\nwant %+v", got, want)
	}
	statsAfter := v.Stats(time.Time{}, time.Time{})
	if statsAfter.Accounts.Registered != statsBefore.Accounts.Registered ||
		statsAfter.Accounts.Active != statsBefore.Accounts.Active-1 || statsAfter.Accounts.Erased != statsBefore.Accounts.Erased+1 {
		t.Errorf("account counts %+v -> %+v", statsBefore.Accounts, statsAfter.Accounts)
	}

	rebuilt := startProjector(t, s, Config{Decoder: dec})
	waitFor(t, rebuilt.Projector, head)
	if diff := diffDumps(dump(t, rebuilt.Projector), after); diff != "" {
		t.Errorf("rebuild after erasure differs from the live projections:\n%s", diff)
	}
}
