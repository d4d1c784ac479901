package domain

import (
	"context"
	"fmt"
	"time"

	"github.com/aseptsoft/subledger/domain/licensekey"
)

// IssueLicenseKey issues a license's key if it has none.
type IssueLicenseKey struct {
	LicenseID string
}

// RevokeLicense revokes a license (an operator's decision).
type RevokeLicense struct {
	LicenseID string
	Reason    string
}

// License returns a license; 404 when it does not exist.
func (s *Service) License(ctx context.Context, id string) (*License, error) {
	l, _, err := load(ctx, s, LicenseStream(id), newLicense)
	if err != nil {
		return nil, err
	}
	if l.ID == "" {
		return nil, notFound("license")
	}
	return l, nil
}

// IssueLicenseKey signs and records a license's key unless it has one.
// The owner must not be erased.
func (s *Service) IssueLicenseKey(ctx context.Context, cmd IssueLicenseKey) (*License, Result, error) {
	cur, _, err := load(ctx, s, LicenseStream(cmd.LicenseID), newLicense)
	if err != nil {
		return nil, Result{}, err
	}
	if cur.ID == "" {
		return nil, Result{}, notFound("license")
	}
	owner, _, err := load(ctx, s, AccountStream(cur.AccountID), newAccount)
	if err != nil {
		return nil, Result{}, err
	}
	if owner.Status == AccountStatusErased && !cur.KeyIssued {
		return nil, Result{}, Errorf(KindConflict, CodeAccountErased, "the license's owner was erased")
	}
	lic, pos, err := execute(ctx, s, LicenseStream(cmd.LicenseID), newLicense, func(l *License) error {
		if l.ID == "" || l.KeyIssued {
			return l.issueKey("")
		}
		key, err := s.signLicense(l)
		if err != nil {
			return err
		}
		return l.issueKey(key)
	})
	return lic, Result{Position: pos}, err
}

// RevokeLicense revokes a license.
func (s *Service) RevokeLicense(ctx context.Context, cmd RevokeLicense) (*License, Result, error) {
	lic, pos, err := execute(ctx, s, LicenseStream(cmd.LicenseID), newLicense, func(l *License) error {
		return l.revoke(cmd.Reason, s.clock())
	})
	return lic, Result{Position: pos}, err
}

// RecordCheckoutPaid is a paid Checkout Session in payment mode: a license
// sale (checkout.session.completed with payment_status paid, or
// checkout.session.async_payment_succeeded).
type RecordCheckoutPaid struct {
	SessionID       string
	PaymentIntentID string
	AccountID       string
	ProductID       string
	Quantity        int
	AffiliateID     string
	Amount          int64
	Currency        string
	OccurredAt      time.Time
}

// RecordCheckoutPaid records a license sale: the license (with its signed
// key, unless the account was erased), the sale and, when an affiliate
// referred it, the commission. A refund that arrived first is applied.
func (s *Service) RecordCheckoutPaid(ctx context.Context, cmd RecordCheckoutPaid) (*License, Result, error) {
	var v validator
	v.check(validID(cmd.SessionID), "session_id", FieldRequired)
	v.check(cmd.PaymentIntentID == "" || validID(cmd.PaymentIntentID), "payment_intent_id", FieldInvalid)
	v.check(validID(cmd.AccountID), "account_id", FieldRequired)
	v.check(validID(cmd.ProductID), "product_id", FieldRequired)
	v.check(cmd.Quantity >= 1 && cmd.Quantity <= maxQuantity, "quantity", FieldRange)
	v.check(cmd.AffiliateID == "" || validID(cmd.AffiliateID), "affiliate_id", FieldInvalid)
	checkMoney(&v, cmd.Amount, cmd.Currency)
	checkTime(&v, "occurred_at", cmd.OccurredAt)
	if err := v.err(); err != nil {
		return nil, Result{}, err
	}
	ref := paymentRef(cmd.PaymentIntentID, "checkout_session", cmd.SessionID)
	licenseID, saleID := s.keys.id("license", ref), s.keys.id("sale", ref)
	owner, _, err := load(ctx, s, AccountStream(cmd.AccountID), newAccount)
	if err != nil {
		return nil, Result{}, err
	}
	lic, pos, err := execute(ctx, s, LicenseStream(licenseID), newLicense, func(l *License) error {
		l.purchase(LicensePurchased{LicenseID: licenseID, SaleID: saleID, AccountID: cmd.AccountID, ProductID: cmd.ProductID,
			Quantity: cmd.Quantity, Amount: cmd.Amount, Currency: cmd.Currency, PurchasedAt: utc(cmd.OccurredAt)})
		if owner.Status == AccountStatusErased {
			// The key is personal data of the owner, whose data key is gone:
			// the issue is recorded without a key, as the key of a license
			// bought before the erasure reads after it, so the license is
			// the same whichever of purchase and erasure Stripe delivers
			// first.
			return l.issueKey("")
		}
		if l.KeyIssued {
			return nil
		}
		key, err := s.signLicense(l)
		if err != nil {
			return err
		}
		return l.issueKey(key)
	})
	if err != nil {
		return nil, Result{}, err
	}
	if lic.Amount == 0 {
		return lic, Result{Position: pos}, nil
	}
	aff, err := s.affiliateFor(ctx, cmd.AffiliateID)
	if err != nil {
		return nil, Result{}, err
	}
	sale, p, err := s.ensureSale(ctx, SaleRecorded{SaleID: lic.SaleID, Kind: SaleKindSale, Source: SaleSourceLicense,
		LicenseID: lic.ID, ProductID: lic.ProductID, Amount: lic.Amount, Currency: lic.Currency, OccurredAt: lic.PurchasedAt}, aff)
	if err != nil {
		return nil, Result{}, err
	}
	pos = maxPos(pos, p)
	lic, p, err = s.reconcileLicense(ctx, sale, lic)
	if err != nil {
		return nil, Result{}, err
	}
	pos = maxPos(pos, p)
	// A license-only customer's payment has settled: no paid service goes
	// on, so the saved card data goes.
	acc, _, err := load(ctx, s, AccountStream(cmd.AccountID), newAccount)
	if err != nil {
		return nil, Result{}, err
	}
	if len(acc.Subscriptions) == 0 {
		if p, err = s.detachPaymentMethods(ctx, acc, "license paid "+lic.ID, DetachWait); err != nil {
			return nil, Result{}, err
		}
		pos = maxPos(pos, p)
	}
	return lic, Result{Position: pos}, nil
}

// signLicense returns the license's key. It depends only on the license's
// recorded facts, so any retry signs the same key.
func (s *Service) signLicense(l *License) (string, error) {
	key, err := licensekey.Sign(s.signingKey, licensekey.Claims{LicenseID: l.ID, ProductID: l.ProductID, Quantity: l.Quantity, IssuedAt: l.PurchasedAt})
	if err != nil {
		return "", fmt.Errorf("sign license key: %w", err)
	}
	return key, nil
}

// reconcileLicense marks a license sale's license refunded once the sale is
// refunded in full.
func (s *Service) reconcileLicense(ctx context.Context, sale *Sale, lic *License) (*License, uint64, error) {
	at := sale.FullyRefundedAt()
	if sale.Source != SaleSourceLicense || at.IsZero() || (lic != nil && lic.Refunded && !at.Before(lic.RefundedAt)) {
		return lic, 0, nil
	}
	return execute(ctx, s, LicenseStream(sale.LicenseID), newLicense, func(l *License) error {
		l.markRefunded(at)
		return nil
	})
}
