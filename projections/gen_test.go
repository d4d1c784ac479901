package projections

import (
	"fmt"
	"testing"
	"time"

	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/eventstore"
)

// streamEvents is a run of events appended to one stream at once.
type streamEvents struct {
	stream string
	events []domain.Event
}

const genAffiliates = 10

var genStart = day(2024, 1, 1)

// genAffiliatesEvents registers the affiliates the lifecycles refer to.
func genAffiliatesEvents() []streamEvents {
	var out []streamEvents
	for a := range genAffiliates {
		id := fmt.Sprintf("aff-%02d", a)
		out = append(out, streamEvents{domain.AffiliateStream(id), []domain.Event{domain.AffiliateRegistered{
			AffiliateID: id, Name: "Affiliate " + id, Email: id + "@partners.example", Code: "CODE" + id,
			RateBps: 1000 + 100*a, RecurringMonths: 2, APIKeySHA256: fmt.Sprintf("%064d", a), RegisteredAt: genStart}}})
	}
	return out
}

// genLifecycle returns the events of customer i: registration, a license
// purchase (referred for every third customer), for every second customer a
// subscription with renewals, some refunds, ends and approvals. About 15
// events per customer, a mix close to what the store holds.
func genLifecycle(i int) []streamEvents {
	acc := accountID(i)
	t := genStart.Add(time.Duration(i) * 37 * time.Second)
	aff := ""
	rate := 0
	if i%3 == 0 {
		a := i / 3 % genAffiliates
		aff, rate = fmt.Sprintf("aff-%02d", a), 1000+100*a
	}
	var out []streamEvents
	add := func(stream string, events ...domain.Event) { out = append(out, streamEvents{stream, events}) }
	stripe := func(n int) {
		add(domain.StripeEventStream(fmt.Sprintf("%s-%d", acc, n)),
			domain.StripeEventReceived{EventKey: fmt.Sprintf("k_%s_%d", acc, n), Type: "invoice.paid", CreatedAt: t, ReceivedAt: t})
	}
	sale := func(id string, kind domain.SaleKind, source, product string, amount int64, at time.Time) {
		events := []domain.Event{domain.SaleRecorded{SaleID: id, Kind: kind, Source: source, ProductID: product,
			Amount: amount, Currency: "eur", OccurredAt: at}}
		if aff != "" {
			events = append(events, domain.CommissionEarned{SaleID: id, AffiliateID: aff, Kind: kind, ProductID: product,
				Amount: amount, Currency: "eur", RateBps: rate, CommissionAmount: amount * int64(rate) / 10000, OccurredAt: at})
		}
		add(domain.SaleStream(id), events...)
	}

	add(domain.ReservationStream("email", "k"+acc), domain.ReservationClaimed{Namespace: "email", Key: "k" + acc, Owner: acc, ClaimedAt: t})
	add(domain.AccountStream(acc),
		domain.AccountRegistered{AccountID: acc, Name: "Customer " + acc, Company: "Company " + acc, Email: acc + "@customers.example",
			PasswordHash: "$argon2id$hash" + acc, MarketingConsent: i%2 == 0, RegisteredAt: t},
		domain.StripeCustomerLinked{AccountID: acc, CustomerID: "cus_" + acc, LinkedAt: t})

	lic, saleID := "lic-"+acc, "sale-lic-"+acc
	stripe(0)
	sale(saleID, domain.SaleKindSale, domain.SaleSourceLicense, "desktop", 4900, t.Add(time.Minute))
	add(domain.LicenseStream(lic),
		domain.LicensePurchased{LicenseID: lic, SaleID: saleID, AccountID: acc, ProductID: "desktop", Quantity: 1,
			Amount: 4900, Currency: "eur", PurchasedAt: t.Add(time.Minute)},
		domain.LicenseKeyIssued{LicenseID: lic, AccountID: acc, Key: "LK-" + acc, IssuedAt: t.Add(time.Minute)})
	if i%7 == 0 {
		stripe(1)
		refundAt := t.Add(48 * time.Hour)
		events := []domain.Event{domain.SaleRefundObserved{SaleID: saleID, RefundKey: "rk" + acc, ChargeKey: "ck" + acc,
			AmountRefundedTotal: 4900, Currency: "eur", OccurredAt: refundAt}}
		if aff != "" {
			events = append(events, domain.CommissionReversed{SaleID: saleID, ReversalID: "rev-" + acc, AffiliateID: aff,
				Reason: domain.ReversalRefund, ProductID: "desktop", Amount: -4900, Currency: "eur",
				CommissionAmount: -(4900 * int64(rate) / 10000), OccurredAt: refundAt})
		}
		add(domain.SaleStream(saleID), events...)
		add(domain.LicenseStream(lic), domain.LicenseRefunded{LicenseID: lic, RefundedAt: refundAt})
	}
	if i%13 == 0 && aff != "" {
		add(domain.SaleStream(saleID), domain.CommissionApproved{SaleID: saleID, AffiliateID: aff, ApprovedAt: t.Add(720 * time.Hour)})
	}

	if i%2 == 0 {
		sub := "sub-" + acc
		plan := []string{"pro-monthly", "pro-yearly"}[i/2%2]
		view := domain.SubscriptionView{AccountID: acc, ProductID: plan, Status: domain.SubscriptionStatusActive,
			CurrentPeriodEnd: t.AddDate(0, 1, 0), Amount: 1500, Currency: "eur", StartedAt: t}
		stripe(2)
		add(domain.SubscriptionStream(sub),
			domain.SubscriptionCheckoutCompleted{SubscriptionID: sub, StripeSubscriptionID: "sub_" + acc, SessionKey: "cs" + acc,
				AccountID: acc, ProductID: plan, AffiliateID: aff, Amount: 1500, Currency: "eur", OccurredAt: t, View: view},
			domain.SubscriptionStarted{SubscriptionID: sub, StripeSubscriptionID: "sub_" + acc, View: view})
		add(domain.AccountStream(acc), domain.AccountSubscriptionNoted{AccountID: acc, SubscriptionID: sub})
		for r := range 3 {
			paid := t.AddDate(0, r, 0)
			view.CurrentPeriodEnd = t.AddDate(0, r+1, 0)
			reason, kind := domain.BillingReasonCycle, domain.SaleKindRenewal
			if r == 0 {
				reason, kind = domain.BillingReasonCreate, domain.SaleKindSale
			}
			inv := fmt.Sprintf("sale-sub-%s-%d", acc, r)
			stripe(3 + r)
			add(domain.SubscriptionStream(sub), domain.SubscriptionRenewed{SubscriptionID: sub, StripeSubscriptionID: "sub_" + acc,
				InvoiceKey: inv, SaleID: inv, BillingReason: reason, AccountID: acc, ProductID: plan, AffiliateID: aff,
				Amount: 1500, Currency: "eur", PeriodStart: paid, PeriodEnd: view.CurrentPeriodEnd, PaidAt: paid, View: view})
			sale(inv, kind, domain.SaleSourceSubscription, plan, 1500, paid)
		}
		if i%11 == 0 {
			view.Status, view.EndedAt = domain.SubscriptionStatusEnded, view.CurrentPeriodEnd
			add(domain.SubscriptionStream(sub), domain.SubscriptionCanceled{SubscriptionID: sub, CanceledAt: view.EndedAt, View: view},
				domain.SubscriptionEnded{SubscriptionID: sub, View: view})
			add(domain.AccountStream(acc),
				domain.AccountSubscriptionNoted{AccountID: acc, SubscriptionID: sub},
				domain.AccountErasureScheduled{AccountID: acc, DueAt: view.EndedAt.Add(720 * time.Hour)})
		}
	}
	return out
}

// genEvents returns the affiliates and n lifecycles, flattened in order.
func genEvents(n int) []domain.Event {
	var out []domain.Event
	for _, se := range genAffiliatesEvents() {
		out = append(out, se.events...)
	}
	for i := range n {
		for _, se := range genLifecycle(i) {
			out = append(out, se.events...)
		}
	}
	return out
}

// appendLifecycles appends the affiliates (when withAffiliates) and the
// lifecycles of customers [from, to) with one append per customer run of
// streams; it returns the last position.
func appendLifecycles(tb testing.TB, s eventstore.Store, withAffiliates bool, from, to int) uint64 {
	tb.Helper()
	var pos uint64
	if withAffiliates {
		for _, se := range genAffiliatesEvents() {
			pos = appendEvents(tb, s, se.stream, se.events...)
		}
	}
	for i := from; i < to; i++ {
		for _, se := range genLifecycle(i) {
			pos = appendEvents(tb, s, se.stream, se.events...)
		}
	}
	return pos
}
