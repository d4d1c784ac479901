package domain

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestRegisterAffiliate(t *testing.T) {
	register := func(cmd RegisterAffiliate) func(f *fixture) error {
		return func(f *fixture) error {
			_, _, err := f.svc.RegisterAffiliate(ctxb, cmd)
			return err
		}
	}
	runGWT(t, []gwt{
		{
			name: "affiliate_is_registered_with_a_unique_code_and_a_key_shown_once",
			when: register(RegisterAffiliate{Name: "Partner", Email: "p@example.com", CommissionRateBps: 1500, RecurringMonths: 6}),
			check: func(t *testing.T, f *fixture) {
				got := f.store.since(f.mark)
				aff := got[AffiliateStream(idN(1))]
				if len(aff) != 1 {
					t.Fatalf("events %v", describe(got))
				}
				e := aff[0].(AffiliateRegistered)
				if e.RateBps != 1500 || e.RecurringMonths != 6 || len(e.Code) != 8 || e.Name != "Partner" || e.APIKeySHA256 == "" {
					t.Fatalf("registered %+v", e)
				}
				res := got[ReservationStream(reserveAffiliateCode, tk.digest(reserveAffiliateCode, e.Code))]
				if len(res) != 1 || res[0].(ReservationClaimed).Owner != idN(1) {
					t.Fatalf("code reservation %v", describe(got))
				}
				id, err := f.svc.AffiliateIDForCode(ctxb, strings.ToLower(e.Code))
				if err != nil || id != idN(1) {
					t.Fatalf("code lookup %q, %v", id, err)
				}
			},
		},
		{
			name: "rate_over_ten_thousand_bps_and_negative_months_are_refused",
			when: register(RegisterAffiliate{Name: "P", Email: "p@example.com", CommissionRateBps: 10001, RecurringMonths: -1}),
			code: CodeValidationFailed,
		},
		{
			name: "unknown_affiliate_code_is_refused",
			when: func(f *fixture) error {
				_, err := f.svc.AffiliateIDForCode(ctxb, "NOSUCH01")
				return err
			},
			code: CodeUnknownAffiliateCode,
		},
	})
}

func TestRegisterAffiliateReturnsTheKeyItStores(t *testing.T) {
	f := newFixture(t)
	r, _, err := f.svc.RegisterAffiliate(ctxb, RegisterAffiliate{Name: "P", Email: "p@example.com", CommissionRateBps: 100})
	if err != nil {
		t.Fatal(err)
	}
	if HashAPIKey(r.APIKey) != r.Affiliate.APIKeySHA256 || !strings.HasPrefix(r.APIKey, "sla_") {
		t.Fatalf("key %q does not match its digest", r.APIKey)
	}
}

func TestRecordStripeEvent(t *testing.T) {
	f := newFixture(t)
	cmd := RecordStripeEvent{EventID: "evt_1", Type: "invoice.paid", CreatedAt: t0}
	mark0 := f.store.mark()
	dup, _, err := f.svc.RecordStripeEvent(ctxb, cmd)
	if err != nil || dup {
		t.Fatalf("first receipt: dup %v, %v", dup, err)
	}
	// The Stripe event id is kept only as a keyed digest, nowhere in plain.
	for stream, events := range f.store.since(mark0) {
		if strings.Contains(stream, "evt_1") || strings.Contains(fmt.Sprintf("%+v", events), "evt_1") {
			t.Fatalf("the Stripe event id stands in plain: %s %+v", stream, events)
		}
	}
	mark := f.store.mark()
	dup, _, err = f.svc.RecordStripeEvent(ctxb, cmd)
	if err != nil || !dup || len(f.store.since(mark)) != 0 {
		t.Fatalf("second receipt: dup %v, %v", dup, err)
	}
}

func TestStripeReceiptOfTheFirstVersionStillCounts(t *testing.T) {
	r := newStripeReceipt()
	r.apply(StripeEventReceivedV1{EventID: "evt_old", Type: "invoice.paid"})
	if !r.Received {
		t.Fatal("a v1 receipt is not a receipt")
	}
}

func TestExecute(t *testing.T) {
	t.Run("version_conflict_is_retried_and_decided_again_on_fresh_state", func(t *testing.T) {
		f := newFixture(t)
		for _, g := range liveAccount() {
			f.store.given(t, g.stream, g.events...)
		}
		raced := false
		f.store.beforeAppend = func(stream string) {
			if stream == AccountStream(accA) && !raced {
				raced = true
				f.store.given(t, stream, AccountDetailsChanged{AccountID: accA, Name: "Concurrent", Email: mailA, ChangedAt: t0})
			}
		}
		a, _, err := f.svc.ChangeAccountDetails(ctxb, ChangeAccountDetails{AccountID: accA, Company: ptr("ACME")})
		if err != nil {
			t.Fatal(err)
		}
		if a.Name != "Concurrent" || a.Company != "ACME" {
			t.Fatalf("the retry did not decide on fresh state: %+v", a)
		}
	})
	t.Run("conflict_that_outlasts_the_retries_is_a_conflict_error", func(t *testing.T) {
		f := newFixture(t)
		for _, g := range liveAccount() {
			f.store.given(t, g.stream, g.events...)
		}
		attempts := 0
		f.store.beforeAppend = func(stream string) {
			if stream == AccountStream(accA) {
				attempts++
				f.store.given(t, stream, AccountClosed{AccountID: accA, ClosedAt: t0})
			}
		}
		_, _, err := f.svc.LinkStripeCustomer(ctxb, LinkStripeCustomer{AccountID: accA, CustomerID: "cus_1"})
		if ErrorKind(err) != KindConflict || ErrorCode(err) != CodeConflict || !errors.Is(err, ErrVersionConflict) {
			t.Fatalf("err = %v", err)
		}
		if attempts != 5 {
			t.Fatalf("%d attempts, want 5", attempts)
		}
	})
	t.Run("racing_registrations_of_one_address_let_exactly_one_win", func(t *testing.T) {
		f := newFixture(t)
		fired := false
		f.store.beforeAppend = func(stream string) {
			if stream == emailStream(mailA) && !fired {
				fired = true
				f.store.given(t, stream, claimed(mailA, accB, f.now))
				f.store.given(t, AccountStream(accB), registered(accB, mailA))
			}
		}
		_, _, err := f.svc.RegisterAccount(ctxb, RegisterAccount{Name: "Ann", Email: mailA, Password: testPasswords[0]})
		if ErrorCode(err) != CodeEmailTaken {
			t.Fatalf("err = %v", err)
		}
		if len(f.store.streamNames(AccountStream(idN(1)))) != 0 {
			t.Fatal("the loser's account was created")
		}
	})
}

func TestEventCatalogue(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range EventTypes() {
		name := e.EventType()
		if seen[name] {
			t.Errorf("%s listed twice", name)
		}
		seen[name] = true
		if i := strings.LastIndex(name, ".v"); i < 0 || name[i+2:] == "" || strings.Trim(name[i+2:], "0123456789") != "" {
			t.Errorf("%s has no version suffix", name)
		}
		typ := reflect.TypeOf(e)
		if typ.Kind() != reflect.Struct {
			t.Errorf("%s is a %s, want a struct value", name, typ.Kind())
			continue
		}
		personal := 0
		for i := 0; i < typ.NumField(); i++ {
			fld := typ.Field(i)
			if fld.Tag.Get("json") == "" {
				t.Errorf("%s.%s has no json tag", name, fld.Name)
			}
			if fld.Tag.Get("personal") == "true" {
				personal++
				if fld.Type.Kind() != reflect.String {
					t.Errorf("%s.%s is personal but not a string", name, fld.Name)
				}
			}
		}
		_, isPersonal := e.(PersonalEvent)
		if (personal > 0) != isPersonal {
			t.Errorf("%s: %d personal fields but PersonalEvent is %v", name, personal, isPersonal)
		}
	}
}

func TestPersonalFieldsReadAsErasedAndAggregatesCope(t *testing.T) {
	f := newFixture(t)
	acc := must[*Account](t)(f.svc.RegisterAccount(ctxb, RegisterAccount{Name: "Ann", Company: "ACME", Email: mailA, Password: testPasswords[0]}))
	must[*Account](t)(f.svc.LinkStripeCustomer(ctxb, LinkStripeCustomer{AccountID: acc.ID, CustomerID: "cus_1"}))
	must[*License](t)(f.svc.RecordCheckoutPaid(ctxb, RecordCheckoutPaid{SessionID: "cs_1", PaymentIntentID: "pi_1", AccountID: acc.ID,
		ProductID: product, Quantity: 1, Amount: 100, Currency: "eur", OccurredAt: t0}))
	f.store.forget(acc.ID)
	a, err := f.svc.Account(ctxb, acc.ID)
	if err != nil || a.Name != "" || a.Email != "" || a.StripeCustomerID != "" || a.Status != AccountStatusActive {
		t.Fatalf("account after shredding: %+v, %v", a, err)
	}
	l, err := f.svc.License(ctxb, licenseIDOf("pi_1"))
	if err != nil || l.Key != "" || !l.KeyIssued || l.Amount != 100 {
		t.Fatalf("license after shredding: %+v, %v", l, err)
	}
	// The account's erasure still completes: the reservation of an address
	// that can no longer be read is freed by the next claimant.
	f.now = f.now.Add(time.Hour)
	if _, _, err := f.svc.RequestErasure(ctxb, RequestErasure{AccountID: acc.ID}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.RegisterAccount(ctxb, RegisterAccount{Name: "Ann", Email: mailA, Password: testPasswords[0]}); err != nil {
		t.Fatalf("address of the erased account is not free: %v", err)
	}
}
