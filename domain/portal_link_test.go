package domain

import (
	"testing"
	"time"
)

func TestPortalLinks(t *testing.T) {
	tests := []struct {
		name  string
		act   func(f *fixture, acc *Account, token string) (PortalSignIn, error)
		check func(t *testing.T, f *fixture, acc *Account, token string, in PortalSignIn, err error)
	}{
		{"a fresh link starts a session of the account, once", func(f *fixture, _ *Account, token string) (PortalSignIn, error) {
			in, _, err := f.svc.RedeemPortalLink(ctxb, token, time.Hour, 2*time.Hour)
			return in, err
		}, func(t *testing.T, f *fixture, acc *Account, token string, in PortalSignIn, err error) {
			if err != nil || in.Session == nil || in.Session.AccountID != acc.ID || in.Session.TokenHash != HashToken(in.Token) {
				t.Fatalf("redeem: %v %+v", err, in)
			}
			if !in.Session.ExpiresAt.Equal(f.now.Add(2*time.Hour)) || in.Session.IdleTimeout != time.Hour {
				t.Fatalf("session bounds %+v", in.Session)
			}
			if _, _, err := f.svc.RedeemPortalLink(ctxb, token, time.Hour, time.Hour); ErrorCode(err) != CodeInvalidToken {
				t.Fatalf("second use: %v", err)
			}
		}},
		{"an expired link is invalid", func(f *fixture, _ *Account, token string) (PortalSignIn, error) {
			f.now = f.now.Add(PortalLinkTTL)
			in, _, err := f.svc.RedeemPortalLink(ctxb, token, time.Hour, time.Hour)
			return in, err
		}, func(t *testing.T, _ *fixture, _ *Account, _ string, _ PortalSignIn, err error) {
			if ErrorCode(err) != CodeInvalidToken || ErrorKind(err) != KindInvalid {
				t.Fatalf("err %v", err)
			}
		}},
		{"a forged link is invalid", func(f *fixture, _ *Account, token string) (PortalSignIn, error) {
			in, _, err := f.svc.RedeemPortalLink(ctxb, token[:len(token)-1]+"x", time.Hour, time.Hour)
			return in, err
		}, func(t *testing.T, _ *fixture, _ *Account, _ string, _ PortalSignIn, err error) {
			if ErrorCode(err) != CodeInvalidToken {
				t.Fatalf("err %v", err)
			}
		}},
		{"a link of an account erased since is invalid", func(f *fixture, acc *Account, token string) (PortalSignIn, error) {
			if _, _, err := f.svc.RequestErasure(ctxb, RequestErasure{AccountID: acc.ID}); err != nil {
				return PortalSignIn{}, err
			}
			in, _, err := f.svc.RedeemPortalLink(ctxb, token, time.Hour, time.Hour)
			return in, err
		}, func(t *testing.T, _ *fixture, _ *Account, _ string, _ PortalSignIn, err error) {
			if ErrorCode(err) != CodeInvalidToken {
				t.Fatalf("err %v", err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			acc, _, err := f.svc.RegisterAccount(ctxb, RegisterAccount{Name: "A", Email: "a@example.org", Password: "the password!"})
			if err != nil {
				t.Fatal(err)
			}
			token, link, _, err := f.svc.IssuePortalLink(ctxb, acc.ID)
			if err != nil || !link.ExpiresAt.Equal(f.now.Add(PortalLinkTTL)) {
				t.Fatalf("issue: %v %+v", err, link)
			}
			in, err := tc.act(f, acc, token)
			tc.check(t, f, acc, token, in, err)
		})
	}
}

func TestAffiliateSessions(t *testing.T) {
	f := newFixture(t)
	reg, _, err := f.svc.RegisterAffiliate(ctxb, RegisterAffiliate{Name: "Aff", Email: "aff@example.org", CommissionRateBps: 1000})
	if err != nil {
		t.Fatal(err)
	}
	token, _, _, err := f.svc.IssueAffiliateLink(ctxb, reg.Affiliate.ID)
	if err != nil {
		t.Fatal(err)
	}
	in, _, err := f.svc.RedeemPortalLink(ctxb, token, time.Hour, 3*time.Hour)
	if err != nil || in.AffiliateSession == nil || in.AffiliateSession.AffiliateID != reg.Affiliate.ID {
		t.Fatalf("redeem: %v %+v", err, in)
	}
	f.now = f.now.Add(50 * time.Minute)
	if _, err := f.svc.TouchAffiliateSession(ctxb, in.Token); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(50 * time.Minute)
	if _, err := f.svc.AffiliateSessionFor(ctxb, in.Token); err != nil {
		t.Fatalf("a touched session ended: %v", err)
	}
	f.now = f.now.Add(61 * time.Minute)
	if _, err := f.svc.AffiliateSessionFor(ctxb, in.Token); ErrorKind(err) != KindUnauthenticated {
		t.Fatalf("an idle session lives: %v", err)
	}
	_, tok2, _, err := f.svc.StartAffiliateSession(ctxb, reg.Affiliate.ID, time.Hour, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.EndAffiliateSession(ctxb, tok2); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.AffiliateSessionFor(ctxb, tok2); ErrorKind(err) != KindUnauthenticated {
		t.Fatalf("a signed-out session lives: %v", err)
	}
	if _, _, err := f.svc.EraseAffiliate(ctxb, reg.Affiliate.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := f.svc.StartAffiliateSession(ctxb, reg.Affiliate.ID, time.Hour, time.Hour); ErrorKind(err) != KindNotFound {
		t.Fatalf("a session for an erased affiliate: %v", err)
	}
}
