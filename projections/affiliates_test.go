package projections

import (
	"testing"

	"github.com/aseptsoft/subledger/domain"
)

func TestAffiliates(t *testing.T) {
	p := newProjector(t, Config{})
	reg := domain.AffiliateRegistered{AffiliateID: "f1", Name: "Partner", Email: "p@example.com", Code: "SPRING",
		RateBps: 1500, RecurringMonths: 3, APIKeySHA256: domain.HashAPIKey("secret-key"), RegisteredAt: genStart}
	applyEvents(t, p, 1, reg)
	want := Affiliate{ID: "f1", Name: "Partner", Email: "p@example.com", Code: "SPRING", RateBps: 1500, RecurringMonths: 3,
		APIKeySHA256: domain.HashAPIKey("secret-key"), RegisteredAt: genStart}
	v := p.View()
	tests := []struct {
		name   string
		lookup func() (Affiliate, bool)
		found  bool
	}{
		{"found by id", func() (Affiliate, bool) { return v.Affiliate("f1") }, true},
		{"found by code", func() (Affiliate, bool) { return v.AffiliateByCode("SPRING") }, true},
		{"found by API key hash", func() (Affiliate, bool) { return v.AffiliateByAPIKeyHash(domain.HashAPIKey("secret-key")) }, true},
		{"code prefix is not found", func() (Affiliate, bool) { return v.AffiliateByCode("SPR") }, false},
		{"wrong key is not found", func() (Affiliate, bool) { return v.AffiliateByAPIKeyHash(domain.HashAPIKey("other")) }, false},
		{"empty code is not found", func() (Affiliate, bool) { return v.AffiliateByCode("") }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.lookup()
			if ok != tc.found || (ok && got != want) {
				t.Fatalf("got %+v, %v", got, ok)
			}
		})
	}
}
