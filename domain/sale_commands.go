package domain

import (
	"context"
	"fmt"
	"time"
)

// ApproveCommission approves a sale's commission once the hold has passed.
type ApproveCommission struct {
	SaleID string
}

// Sale returns a sale, recorded or only known by its refunds and disputes;
// 404 when nothing is known of it.
func (s *Service) Sale(ctx context.Context, id string) (*Sale, error) {
	x, _, err := load(ctx, s, SaleStream(id), newSale)
	if err != nil {
		return nil, err
	}
	if x.ID == "" {
		return nil, notFound("sale")
	}
	return x, nil
}

// ApproveCommission approves a sale's commission when the commission hold
// has passed since the sale (409 commission_not_due before). Approving an
// approved commission changes nothing.
func (s *Service) ApproveCommission(ctx context.Context, cmd ApproveCommission) (*Sale, Result, error) {
	sale, pos, err := execute(ctx, s, SaleStream(cmd.SaleID), newSale, func(x *Sale) error {
		return x.approve(s.clock(), s.hold)
	})
	return sale, Result{Position: pos}, err
}

// CommissionStatus returns the status of a sale's commission now, under
// the Service's hold: the same the projections show at the same instant.
func (s *Service) CommissionStatus(x *Sale) CommissionStatus {
	return x.CommissionStatusAt(s.clock(), s.hold)
}

// CommissionHold returns the hold in force (Config.CommissionHold with its
// default applied; 0 for none).
func (s *Service) CommissionHold() time.Duration { return s.hold }

// ensureSale records a sale unless it is recorded and, with aff, the
// affiliate's commission on it unless it is earned.
func (s *Service) ensureSale(ctx context.Context, rec SaleRecorded, aff *Affiliate) (*Sale, uint64, error) {
	return execute(ctx, s, SaleStream(rec.SaleID), newSale, func(x *Sale) error {
		x.recordSale(rec)
		if aff != nil {
			x.earn(aff.ID, aff.RateBps)
		}
		return nil
	})
}

// RecordRefund is a charge's refunded total (charge.refunded with the
// charge's amount_refunded, the cumulative total so far).
type RecordRefund struct {
	ChargeID            string
	PaymentIntentID     string
	AmountRefundedTotal int64
	Currency            string
	OccurredAt          time.Time
}

// RecordRefund records a charge's refunded total on its sale. The change
// since the last known total is one reversal row of the commission; a
// license refunded in full becomes refunded. A refund before its sale is
// kept and applied when the sale arrives.
func (s *Service) RecordRefund(ctx context.Context, cmd RecordRefund) (*Sale, Result, error) {
	var v validator
	v.check(validID(cmd.ChargeID), "charge_id", FieldRequired)
	v.check(validID(cmd.PaymentIntentID), "payment_intent_id", FieldRequired)
	v.check(cmd.AmountRefundedTotal > 0 && cmd.AmountRefundedTotal <= maxAmount, "amount_refunded", FieldRange)
	v.check(validCurrency(cmd.Currency), "currency", FieldInvalid)
	checkTime(&v, "occurred_at", cmd.OccurredAt)
	if err := v.err(); err != nil {
		return nil, Result{}, err
	}
	saleID := s.SaleIDForPaymentIntent(cmd.PaymentIntentID)
	sale, pos, err := execute(ctx, s, SaleStream(saleID), newSale, func(x *Sale) error {
		x.observeRefund(SaleRefundObserved{SaleID: saleID,
			RefundKey: s.keys.digest("refund", cmd.ChargeID+"\x00"+fmt.Sprint(cmd.AmountRefundedTotal)),
			ChargeKey: s.keys.digest("charge", cmd.ChargeID), AmountRefundedTotal: cmd.AmountRefundedTotal,
			Currency: cmd.Currency, OccurredAt: utc(cmd.OccurredAt)})
		return nil
	})
	if err != nil {
		return nil, Result{}, err
	}
	_, p, err := s.reconcileLicense(ctx, sale, nil)
	return sale, Result{Position: maxPos(pos, p)}, err
}

// RecordDispute is a dispute (charge.dispute.created or .closed). OpenedAt
// is the dispute's own created time, the same in both events.
type RecordDispute struct {
	DisputeID       string
	PaymentIntentID string
	Amount          int64
	Currency        string
	Status          string
	Closed          bool
	OpenedAt        time.Time
}

// RecordDispute records a dispute on its sale: unless the merchant wins it
// (or it is an inquiry), its amount is reversed like a refund.
func (s *Service) RecordDispute(ctx context.Context, cmd RecordDispute) (*Sale, Result, error) {
	var v validator
	v.check(validID(cmd.DisputeID), "dispute_id", FieldRequired)
	v.check(validID(cmd.PaymentIntentID), "payment_intent_id", FieldRequired)
	checkMoney(&v, cmd.Amount, cmd.Currency)
	v.check(validID(cmd.Status) && len(cmd.Status) <= disputeStatusMaxBytes, "status", FieldRequired)
	checkTime(&v, "opened_at", cmd.OpenedAt)
	if err := v.err(); err != nil {
		return nil, Result{}, err
	}
	saleID := s.SaleIDForPaymentIntent(cmd.PaymentIntentID)
	sale, pos, err := execute(ctx, s, SaleStream(saleID), newSale, func(x *Sale) error {
		x.observeDispute(SaleDisputeObserved{SaleID: saleID, DisputeKey: s.keys.digest("dispute", cmd.DisputeID),
			Amount: cmd.Amount, Currency: cmd.Currency, Status: cmd.Status, Closed: cmd.Closed, OpenedAt: utc(cmd.OpenedAt)})
		return nil
	})
	return sale, Result{Position: pos}, err
}
