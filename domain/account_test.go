package domain

import (
	"context"
	"testing"
	"time"
)

const (
	accA  = "aaaaaaaa-0000-4000-8000-000000000001"
	accB  = "bbbbbbbb-0000-4000-8000-000000000002"
	mailA = "ann@example.com"
)

func ptr[T any](v T) *T { return &v }

func emailKey(email string) string {
	return keys{secret: testSecret}.digest(reserveEmail, NormalizeEmail(email))
}

func emailStream(email string) string { return ReservationStream(reserveEmail, emailKey(email)) }

func registered(id, email string) AccountRegistered {
	return AccountRegistered{AccountID: id, Name: "Ann", Email: email, PasswordHash: "argon2id(" + testPasswords[0] + ")", RegisteredAt: testStart.Add(-time.Hour)}
}

func claimed(email, owner string, at time.Time) ReservationClaimed {
	return ReservationClaimed{Namespace: reserveEmail, Key: emailKey(email), Subject: pseudonymOf(owner, PseudonymEmailReservation), Owner: owner, ClaimedAt: at}
}

func released(email, owner string, at time.Time) ReservationReleased {
	return ReservationReleased{Namespace: reserveEmail, Key: emailKey(email), Subject: pseudonymOf(owner, PseudonymEmailReservation), Owner: owner, ReleasedAt: at}
}

// liveAccount is an account A registered with mailA and its reservation.
func liveAccount() []on {
	return []on{
		{emailStream(mailA), []Event{claimed(mailA, accA, testStart.Add(-time.Hour))}},
		{AccountStream(accA), []Event{realRegistered(accA, mailA)}},
	}
}

// realRegistered carries a real hash of testPasswords[0].
func realRegistered(id, email string) AccountRegistered {
	e := registered(id, email)
	e.PasswordHash, _ = testArgon2.Hash(testPasswords[0], &counterReader{})
	return e
}

func TestRegisterAccount(t *testing.T) {
	ctx := context.Background()
	register := func(email string) func(f *fixture) error {
		return func(f *fixture) error {
			_, _, err := f.svc.RegisterAccount(ctx, RegisterAccount{Name: " Bob ", Company: "Bob Ltd", Email: email, Password: testPasswords[1], MarketingConsent: true})
			return err
		}
	}
	bob := func(email string) AccountRegistered {
		return AccountRegistered{AccountID: idN(1), Name: "Bob", Company: "Bob Ltd", Email: email,
			PasswordHash: "argon2id(" + testPasswords[1] + ")", MarketingConsent: true, RegisteredAt: testStart}
	}
	runGWT(t, []gwt{
		{
			name: "new_email_registers_the_account_and_reserves_the_address",
			when: register("Bob@Example.com"),
			then: []on{
				{emailStream("bob@example.com"), []Event{claimed("bob@example.com", idN(1), testStart)}},
				{AccountStream(idN(1)), []Event{bob("Bob@Example.com")}},
			},
		},
		{
			name:  "address_of_a_live_account_is_taken",
			given: liveAccount(),
			when:  register(" ANN@example.com"),
			code:  CodeEmailTaken,
		},
		{
			name: "address_of_a_closed_account_stays_taken",
			given: append(liveAccount(),
				on{AccountStream(accA), []Event{AccountClosed{AccountID: accA, ClosedAt: testStart.Add(-time.Minute)}}}),
			when: register(mailA),
			code: CodeEmailTaken,
		},
		{
			name: "address_of_an_erased_account_is_free_again",
			given: []on{
				{emailStream(mailA), []Event{claimed(mailA, accA, testStart.Add(-time.Hour))}},
				{AccountStream(accA), []Event{registered(accA, mailA), AccountErased{AccountID: accA, ErasedAt: testStart.Add(-time.Minute)}}},
			},
			when: register(mailA),
			then: []on{
				{emailStream(mailA), []Event{released(mailA, accA, testStart), claimed(mailA, idN(1), testStart)}},
				{AccountStream(idN(1)), []Event{bob(mailA)}},
			},
		},
		{
			name: "address_whose_erased_holder_was_shredded_is_free_and_names_nobody",
			given: []on{
				{emailStream(mailA), []Event{claimed(mailA, accA, testStart.Add(-time.Hour))}},
				{AccountStream(accA), []Event{registered(accA, mailA), AccountErased{AccountID: accA, ErasedAt: testStart.Add(-time.Minute)}}},
			},
			setup: func(t *testing.T, f *fixture) {
				f.store.forget(pseudonymOf(accA, PseudonymEmailReservation))
				f.store.forget(accA)
				r, err := f.svc.EmailReservation(context.Background(), mailA)
				if err != nil || !r.Held || r.Owner != "" {
					t.Fatalf("after shredding, the reservation reads held %v by %q (err %v); want held by nobody readable", r.Held, r.Owner, err)
				}
			},
			when: register(mailA),
			then: []on{
				{emailStream(mailA), []Event{
					ReservationReleased{Namespace: reserveEmail, Key: emailKey(mailA), Subject: pseudonymOf(accA, PseudonymEmailReservation), ReleasedAt: testStart},
					claimed(mailA, idN(1), testStart)}},
				{AccountStream(idN(1)), []Event{bob(mailA)}},
			},
		},
		{
			name: "first_version_claim_of_a_live_account_still_holds_the_address",
			given: []on{
				{emailStream(mailA), []Event{ReservationClaimedV1{Namespace: reserveEmail, Key: emailKey(mailA), Owner: accA, ClaimedAt: testStart.Add(-time.Hour)}}},
				{AccountStream(accA), []Event{realRegistered(accA, mailA)}},
			},
			when: register(mailA),
			code: CodeEmailTaken,
		},
		{
			name: "first_version_claim_of_an_erased_account_is_released_in_its_own_version",
			given: []on{
				{emailStream(mailA), []Event{ReservationClaimedV1{Namespace: reserveEmail, Key: emailKey(mailA), Owner: accA, ClaimedAt: testStart.Add(-time.Hour)}}},
				{AccountStream(accA), []Event{registered(accA, mailA), AccountErased{AccountID: accA, ErasedAt: testStart.Add(-time.Minute)}}},
			},
			when: register(mailA),
			then: []on{
				{emailStream(mailA), []Event{
					ReservationReleasedV1{Namespace: reserveEmail, Key: emailKey(mailA), Owner: accA, ReleasedAt: testStart},
					claimed(mailA, idN(1), testStart)}},
				{AccountStream(idN(1)), []Event{bob(mailA)}},
			},
		},
		{
			name:  "orphaned_reservation_of_a_registration_that_never_finished_is_taken_over_after_the_grace",
			given: []on{{emailStream(mailA), []Event{claimed(mailA, accB, testStart.Add(-10*time.Minute))}}},
			when:  register(mailA),
			then: []on{
				{emailStream(mailA), []Event{released(mailA, accB, testStart), claimed(mailA, idN(1), testStart)}},
				{AccountStream(idN(1)), []Event{bob(mailA)}},
			},
		},
		{
			name:  "reservation_of_a_registration_in_flight_is_respected",
			given: []on{{emailStream(mailA), []Event{claimed(mailA, accB, testStart.Add(-time.Minute))}}},
			when:  register(mailA),
			code:  CodeEmailTaken,
		},
		{
			name: "address_the_holder_changed_away_from_is_taken_over",
			given: []on{
				{emailStream(mailA), []Event{claimed(mailA, accA, testStart.Add(-time.Hour))}},
				{AccountStream(accA), []Event{registered(accA, mailA), AccountDetailsChanged{AccountID: accA, Name: "Ann", Email: "new@example.com", ChangedAt: testStart.Add(-time.Hour)}}},
			},
			when: register(mailA),
			then: []on{
				{emailStream(mailA), []Event{released(mailA, accA, testStart), claimed(mailA, idN(1), testStart)}},
				{AccountStream(idN(1)), []Event{bob(mailA)}},
			},
		},
		{
			name: "invalid_fields_are_refused_with_every_field_named",
			when: func(f *fixture) error {
				_, _, err := f.svc.RegisterAccount(ctx, RegisterAccount{Name: "  ", Email: "not-an-email", Password: "short"})
				want := []FieldError{{"name", FieldRequired}, {"email", FieldInvalid}, {"password", FieldTooShort}}
				if e, ok := err.(*Error); !ok || e.Kind != KindInvalid || len(e.Fields) != len(want) || e.Fields[0] != want[0] || e.Fields[1] != want[1] || e.Fields[2] != want[2] {
					t.Errorf("fields = %+v, want %+v", err, want)
				}
				return err
			},
			code: CodeValidationFailed,
		},
		{
			name: "address_with_a_display_name_is_refused",
			when: register("Bob <bob@example.com>"),
			code: CodeValidationFailed,
		},
	})
}

func TestChangeAccountDetails(t *testing.T) {
	ctx := context.Background()
	change := func(cmd ChangeAccountDetails) func(f *fixture) error {
		return func(f *fixture) error {
			_, _, err := f.svc.ChangeAccountDetails(ctx, cmd)
			return err
		}
	}
	runGWT(t, []gwt{
		{
			name:  "new_name_and_company_are_recorded",
			given: liveAccount(),
			when:  change(ChangeAccountDetails{AccountID: accA, Name: ptr("Ann B"), Company: ptr("ACME")}),
			then:  []on{{AccountStream(accA), []Event{AccountDetailsChanged{AccountID: accA, Name: "Ann B", Company: "ACME", Email: mailA, ChangedAt: testStart}}}},
		},
		{
			name:  "new_address_is_reserved_and_the_old_one_released",
			given: liveAccount(),
			when:  change(ChangeAccountDetails{AccountID: accA, Email: ptr("ann@new.example")}),
			then: []on{
				{emailStream("ann@new.example"), []Event{claimed("ann@new.example", accA, testStart)}},
				{AccountStream(accA), []Event{AccountDetailsChanged{AccountID: accA, Name: "Ann", Email: "ann@new.example", ChangedAt: testStart}}},
				{emailStream(mailA), []Event{released(mailA, accA, testStart)}},
			},
		},
		{
			name:  "change_of_case_only_keeps_the_reservation",
			given: liveAccount(),
			when:  change(ChangeAccountDetails{AccountID: accA, Email: ptr("Ann@Example.com")}),
			then:  []on{{AccountStream(accA), []Event{AccountDetailsChanged{AccountID: accA, Name: "Ann", Email: "Ann@Example.com", ChangedAt: testStart}}}},
		},
		{
			name: "address_taken_by_another_account_is_refused",
			given: append(liveAccount(),
				on{emailStream("bob@example.com"), []Event{claimed("bob@example.com", accB, testStart.Add(-time.Hour))}},
				on{AccountStream(accB), []Event{registered(accB, "bob@example.com")}}),
			when: change(ChangeAccountDetails{AccountID: accA, Email: ptr("bob@example.com")}),
			code: CodeEmailTaken,
		},
		{
			name:  "same_details_record_nothing",
			given: liveAccount(),
			when:  change(ChangeAccountDetails{AccountID: accA, Name: ptr("Ann"), Email: ptr(mailA)}),
			then:  nil,
		},
		{
			name:  "closed_account_cannot_change",
			given: append(liveAccount(), on{AccountStream(accA), []Event{AccountClosed{AccountID: accA, ClosedAt: testStart}}}),
			when:  change(ChangeAccountDetails{AccountID: accA, Name: ptr("X")}),
			code:  CodeAccountClosed,
		},
		{
			name: "unknown_account_is_not_found",
			when: change(ChangeAccountDetails{AccountID: accB, Name: ptr("X")}),
			code: CodeNotFound,
		},
		{
			name:  "empty_name_is_refused",
			given: liveAccount(),
			when:  change(ChangeAccountDetails{AccountID: accA, Name: ptr(" ")}),
			code:  CodeValidationFailed,
		},
	})
}

func TestSetPassword(t *testing.T) {
	ctx := context.Background()
	set := func(cmd SetPassword) func(f *fixture) error {
		return func(f *fixture) error {
			_, _, err := f.svc.SetPassword(ctx, cmd)
			return err
		}
	}
	runGWT(t, []gwt{
		{
			name:  "new_password_is_hashed_with_argon2id",
			given: liveAccount(),
			when:  set(SetPassword{AccountID: accA, NewPassword: testPasswords[1]}),
			then:  []on{{AccountStream(accA), []Event{AccountPasswordSet{AccountID: accA, PasswordHash: "argon2id(" + testPasswords[1] + ")", SetAt: testStart}}}},
		},
		{
			name:  "right_current_password_lets_the_customer_change_it",
			given: liveAccount(),
			when:  set(SetPassword{AccountID: accA, NewPassword: testPasswords[2], CurrentPassword: testPasswords[0], CheckCurrent: true}),
			then:  []on{{AccountStream(accA), []Event{AccountPasswordSet{AccountID: accA, PasswordHash: "argon2id(" + testPasswords[2] + ")", SetAt: testStart}}}},
		},
		{
			name:  "wrong_current_password_is_refused",
			given: liveAccount(),
			when:  set(SetPassword{AccountID: accA, NewPassword: testPasswords[2], CurrentPassword: "guess guess guess", CheckCurrent: true}),
			code:  CodeInvalidCredentials,
		},
		{
			name:  "password_under_ten_characters_is_refused",
			given: liveAccount(),
			when:  set(SetPassword{AccountID: accA, NewPassword: "123456789"}),
			code:  CodeValidationFailed,
		},
		{
			name: "unknown_account_is_not_found",
			when: set(SetPassword{AccountID: accB, NewPassword: testPasswords[1]}),
			code: CodeNotFound,
		},
	})
}

func TestMarketingConsentAndStripeCustomer(t *testing.T) {
	ctx := context.Background()
	consent := func(given bool) func(f *fixture) error {
		return func(f *fixture) error {
			_, _, err := f.svc.SetMarketingConsent(ctx, SetMarketingConsent{AccountID: accA, Given: given, IPAddress: "192.0.2.1"})
			return err
		}
	}
	link := func(id string) func(f *fixture) error {
		return func(f *fixture) error {
			_, _, err := f.svc.LinkStripeCustomer(ctx, LinkStripeCustomer{AccountID: accA, CustomerID: id})
			return err
		}
	}
	erased := append(liveAccount(), on{AccountStream(accA), []Event{AccountErased{AccountID: accA, ErasedAt: testStart}}})
	runGWT(t, []gwt{
		{
			name:  "consent_given_is_recorded_with_the_ip_address",
			given: liveAccount(),
			when:  consent(true),
			then:  []on{{AccountStream(accA), []Event{MarketingConsentGiven{AccountID: accA, IPAddress: "192.0.2.1", GivenAt: testStart}}}},
		},
		{
			name:  "consent_withdrawn_is_recorded",
			given: append(liveAccount(), on{AccountStream(accA), []Event{MarketingConsentGiven{AccountID: accA, GivenAt: testStart}}}),
			when:  consent(false),
			then:  []on{{AccountStream(accA), []Event{MarketingConsentWithdrawn{AccountID: accA, IPAddress: "192.0.2.1", WithdrawnAt: testStart}}}},
		},
		{
			name:  "withdrawing_absent_consent_records_nothing",
			given: liveAccount(),
			when:  consent(false),
			then:  nil,
		},
		{
			name:  "consent_of_an_erased_account_is_refused",
			given: erased,
			when:  consent(true),
			code:  CodeAccountErased,
		},
		{
			name:  "stripe_customer_is_linked",
			given: liveAccount(),
			when:  link("cus_123"),
			then:  []on{{AccountStream(accA), []Event{StripeCustomerLinked{AccountID: accA, CustomerID: "cus_123", LinkedAt: testStart}}}},
		},
		{
			name:  "same_stripe_customer_again_records_nothing",
			given: append(liveAccount(), on{AccountStream(accA), []Event{StripeCustomerLinked{AccountID: accA, CustomerID: "cus_123"}}}),
			when:  link("cus_123"),
			then:  nil,
		},
		{
			name:  "stripe_customer_of_an_erased_account_is_refused",
			given: erased,
			when:  link("cus_123"),
			code:  CodeAccountErased,
		},
		{
			name:  "empty_stripe_customer_is_refused",
			given: liveAccount(),
			when:  link(""),
			code:  CodeValidationFailed,
		},
	})
}

func TestCloseAndEraseAccount(t *testing.T) {
	ctx := context.Background()
	closeA := func(f *fixture) error {
		_, _, err := f.svc.CloseAccount(ctx, CloseAccount{AccountID: accA})
		return err
	}
	eraseA := func(f *fixture) error {
		_, _, err := f.svc.RequestErasure(ctx, RequestErasure{AccountID: accA})
		return err
	}
	eraseDue := func(f *fixture) error {
		_, _, err := f.svc.EraseIfDue(ctx, EraseIfDue{AccountID: accA})
		return err
	}
	due := testStart.Add(time.Hour)
	scheduled := append(liveAccount(), on{AccountStream(accA), []Event{AccountErasureScheduled{AccountID: accA, DueAt: due}}})
	runGWT(t, []gwt{
		{
			name:  "active_account_is_closed",
			given: liveAccount(),
			when:  closeA,
			then:  []on{{AccountStream(accA), []Event{AccountClosed{AccountID: accA, ClosedAt: testStart}}}},
		},
		{
			name:  "closing_a_closed_account_records_nothing",
			given: append(liveAccount(), on{AccountStream(accA), []Event{AccountClosed{AccountID: accA, ClosedAt: testStart}}}),
			when:  closeA,
			then:  nil,
		},
		{
			name: "unknown_account_cannot_be_closed",
			when: closeA,
			code: CodeNotFound,
		},
		{
			name:  "erasure_request_releases_the_address_and_erases_now",
			given: liveAccount(),
			when:  eraseA,
			then: []on{
				{emailStream(mailA), []Event{released(mailA, accA, testStart)}},
				{AccountStream(accA), []Event{
					AccountErasureRequested{AccountID: accA, Reason: "request", RequestedAt: testStart},
					AccountErased{AccountID: accA, ErasedAt: testStart},
				}},
			},
			check: func(t *testing.T, f *fixture) {
				f.store.forget(accA)
				a, err := f.svc.Account(ctx, accA)
				if err != nil || a.Status != AccountStatusErased || a.Name != "" || a.Email != "" || a.PasswordHash != "" {
					t.Fatalf("erased account reads %+v, %v", a, err)
				}
				if _, err := f.svc.VerifyCredentials(ctx, accA, testPasswords[0]); ErrorCode(err) != CodeInvalidCredentials {
					t.Fatalf("erased account still signs in: %v", err)
				}
			},
		},
		{
			name:  "erasure_of_a_closed_account_is_allowed",
			given: append(liveAccount(), on{AccountStream(accA), []Event{AccountClosed{AccountID: accA, ClosedAt: testStart}}}),
			when:  eraseA,
			then: []on{
				{emailStream(mailA), []Event{released(mailA, accA, testStart)}},
				{AccountStream(accA), []Event{
					AccountErasureRequested{AccountID: accA, Reason: "request", RequestedAt: testStart},
					AccountErased{AccountID: accA, ErasedAt: testStart},
				}},
			},
		},
		{
			name:  "erasing_an_erased_account_records_nothing",
			given: append(liveAccount(), on{AccountStream(accA), []Event{AccountErased{AccountID: accA, ErasedAt: testStart}}}),
			when:  eraseA,
			then:  nil,
		},
		{
			name: "erasing_an_unknown_account_is_not_found",
			when: eraseA,
			code: CodeNotFound,
		},
		{
			name:  "scheduled_erasure_before_it_is_due_is_refused",
			given: scheduled,
			when:  eraseDue,
			code:  CodeErasureNotDue,
		},
		{
			name:  "account_without_a_schedule_is_not_due",
			given: liveAccount(),
			at:    due.Add(time.Hour),
			when:  eraseDue,
			code:  CodeErasureNotDue,
		},
		{
			name:  "due_erasure_erases_the_account",
			given: scheduled,
			at:    due,
			when:  eraseDue,
			then: []on{
				{emailStream(mailA), []Event{released(mailA, accA, due)}},
				{AccountStream(accA), []Event{
					AccountErasureRequested{AccountID: accA, Reason: "subscription_ended", RequestedAt: due},
					AccountErased{AccountID: accA, ErasedAt: due},
				}},
			},
		},
	})
}

func TestVerifyCredentials(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	for _, g := range liveAccount() {
		f.store.given(t, g.stream, g.events...)
	}
	if a, err := f.svc.VerifyCredentials(ctx, accA, testPasswords[0]); err != nil || a.ID != accA {
		t.Fatalf("right password: %v", err)
	}
	for name, c := range map[string]struct{ id, pw string }{
		"wrong_password_is_refused":  {accA, "not the password"},
		"unknown_account_is_refused": {accB, testPasswords[0]},
		"no_account_is_refused":      {"", testPasswords[0]},
	} {
		if _, err := f.svc.VerifyCredentials(ctx, c.id, c.pw); ErrorKind(err) != KindUnauthenticated || ErrorCode(err) != CodeInvalidCredentials {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}
