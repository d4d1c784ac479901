package domain

import (
	"sort"
	"time"
)

// SaleKind is the kind of a sale row in an affiliate's report.
type SaleKind string

// Sale kinds.
const (
	// SaleKindSale is a license sale or a subscription's first payment.
	SaleKindSale SaleKind = "sale"
	// SaleKindRenewal is a later payment of a subscription.
	SaleKindRenewal SaleKind = "renewal"
)

// Sale sources.
const (
	SaleSourceLicense      = "license"
	SaleSourceSubscription = "subscription"
)

// Reversal reasons.
const (
	ReversalRefund  = "refund"
	ReversalDispute = "dispute"
)

// CommissionStatus is the state of a sale's commission.
type CommissionStatus string

// Commission statuses.
const (
	CommissionStatusPending  CommissionStatus = "pending"
	CommissionStatusApproved CommissionStatus = "approved"
	CommissionStatusReversed CommissionStatus = "reversed"
)

// Dispute statuses that give the money back to the merchant or never took
// it (inquiries): such a dispute reverses nothing.
const (
	DisputeWon            = "won"
	DisputeLost           = "lost"
	DisputeWarningClosed  = "warning_closed"
	disputeWarningPrefix  = "warning_"
	disputeStatusMaxBytes = 40
)

// Reversal is one reversal row of a sale's commission: negative Amount and
// CommissionAmount, at the Stripe time of the refund or dispute.
type Reversal struct {
	Reason           string    `json:"reason"`
	Amount           int64     `json:"amount"`
	CommissionAmount int64     `json:"commission_amount"`
	OccurredAt       time.Time `json:"occurred_at"`
}

// refundFact is one observed cumulative refunded amount of one charge.
type refundFact struct {
	Charge string
	Total  int64
	At     time.Time
}

// disputeFact is what is known of one dispute.
type disputeFact struct {
	Amount   int64
	OpenedAt time.Time
	Status   string
	Closed   bool
}

// Sale is one Stripe payment (a license checkout or a subscription invoice),
// keyed by its payment intent, with its refunds, disputes and, when an
// affiliate referred it, its commission. Refunds and disputes that arrive
// before the payment is known are kept and counted once it is. Keeping each
// payment's commission on its own stream keeps every stream short however
// many sales an affiliate makes.
type Sale struct {
	ID             string
	Recorded       bool
	Kind           SaleKind
	Source         string
	LicenseID      string
	SubscriptionID string
	ProductID      string
	Amount         int64
	Currency       string
	OccurredAt     time.Time

	Earned      bool
	AffiliateID string
	RateBps     int
	Commission  int64
	Approved    bool
	ApprovedAt  time.Time
	// Reversals are the sale's reversal rows by id.
	Reversals map[string]Reversal

	refunds  map[string]refundFact
	disputes map[string]disputeFact
	changes  []Event
}

func newSale() *Sale { return &Sale{} }

func (s *Sale) uncommitted() *[]Event { return &s.changes }

// record applies an event and keeps it to be appended.
func (s *Sale) record(e Event) {
	s.apply(e)
	s.changes = append(s.changes, e)
}

// SaleRecorded records the payment: what was sold, for how much, when.
type SaleRecorded struct {
	SaleID         string    `json:"sale_id"`
	Kind           SaleKind  `json:"kind"`
	Source         string    `json:"source"`
	LicenseID      string    `json:"license_id,omitempty"`
	SubscriptionID string    `json:"subscription_id,omitempty"`
	ProductID      string    `json:"product_id"`
	Amount         int64     `json:"amount"`
	Currency       string    `json:"currency"`
	OccurredAt     time.Time `json:"occurred_at"`
}

// SaleRefundObserved records one observed cumulative refunded amount of a
// charge of the payment (Stripe's charge.amount_refunded). RefundKey and
// ChargeKey are keyed digests, not Stripe ids.
type SaleRefundObserved struct {
	SaleID              string    `json:"sale_id"`
	RefundKey           string    `json:"refund_key"`
	ChargeKey           string    `json:"charge_key"`
	AmountRefundedTotal int64     `json:"amount_refunded_total"`
	Currency            string    `json:"currency"`
	OccurredAt          time.Time `json:"occurred_at"`
}

// SaleDisputeObserved records what is known of a dispute of the payment: its
// amount, when it was opened, its status and whether it is closed.
type SaleDisputeObserved struct {
	SaleID     string    `json:"sale_id"`
	DisputeKey string    `json:"dispute_key"`
	Amount     int64     `json:"amount"`
	Currency   string    `json:"currency"`
	Status     string    `json:"status"`
	Closed     bool      `json:"closed"`
	OpenedAt   time.Time `json:"opened_at"`
}

// CommissionEarned records the affiliate's commission on the sale:
// CommissionAmount = Amount * RateBps / 10000, rounded toward zero. It is
// pending until approved.
type CommissionEarned struct {
	SaleID           string    `json:"sale_id"`
	AffiliateID      string    `json:"affiliate_id"`
	Kind             SaleKind  `json:"kind"`
	ProductID        string    `json:"product_id"`
	Amount           int64     `json:"amount"`
	Currency         string    `json:"currency"`
	RateBps          int       `json:"rate_bps"`
	CommissionAmount int64     `json:"commission_amount"`
	OccurredAt       time.Time `json:"occurred_at"`
}

// CommissionApproved records that the hold passed; ApprovedAt is the sale's
// time plus the hold.
type CommissionApproved struct {
	SaleID      string    `json:"sale_id"`
	AffiliateID string    `json:"affiliate_id"`
	ApprovedAt  time.Time `json:"approved_at"`
}

// CommissionReversed is one reversal row: part of the sale given back by a
// refund or dispute, with the commission reversed in proportion. Amount and
// CommissionAmount are negative.
type CommissionReversed struct {
	SaleID           string    `json:"sale_id"`
	ReversalID       string    `json:"reversal_id"`
	AffiliateID      string    `json:"affiliate_id"`
	Reason           string    `json:"reason"`
	ProductID        string    `json:"product_id"`
	Amount           int64     `json:"amount"`
	Currency         string    `json:"currency"`
	CommissionAmount int64     `json:"commission_amount"`
	OccurredAt       time.Time `json:"occurred_at"`
}

// CommissionReversalAdjusted corrects a reversal row after a fact that
// arrived late changed how the reversals split (an earlier partial refund,
// a dispute won). An Amount of zero removes the row.
type CommissionReversalAdjusted struct {
	SaleID           string    `json:"sale_id"`
	ReversalID       string    `json:"reversal_id"`
	AffiliateID      string    `json:"affiliate_id"`
	Reason           string    `json:"reason"`
	Amount           int64     `json:"amount"`
	CommissionAmount int64     `json:"commission_amount"`
	OccurredAt       time.Time `json:"occurred_at"`
}

// SaleReclassified records that a subscription payment recorded as its
// sale is a renewal after all: an earlier payment of the subscription
// became known later. AffiliateID is set when the commission was earned.
type SaleReclassified struct {
	SaleID      string    `json:"sale_id"`
	AffiliateID string    `json:"affiliate_id,omitempty"`
	From        SaleKind  `json:"from"`
	Kind        SaleKind  `json:"kind"`
	ProductID   string    `json:"product_id"`
	Amount      int64     `json:"amount"`
	Currency    string    `json:"currency"`
	OccurredAt  time.Time `json:"occurred_at"`
}

// CommissionWithdrawn records that a commission earned on a renewal is not
// earned after all: an earlier first payment became known later, and the
// renewal falls outside the affiliate's recurring months from it. The
// sale's reversal rows go with it (adjusted to zero).
type CommissionWithdrawn struct {
	SaleID      string `json:"sale_id"`
	AffiliateID string `json:"affiliate_id"`
}

func (SaleRecorded) EventType() string               { return "sale.recorded.v1" }
func (SaleReclassified) EventType() string           { return "sale.reclassified.v1" }
func (CommissionWithdrawn) EventType() string        { return "commission.withdrawn.v1" }
func (SaleRefundObserved) EventType() string         { return "sale.refund_observed.v1" }
func (SaleDisputeObserved) EventType() string        { return "sale.dispute_observed.v1" }
func (CommissionEarned) EventType() string           { return "commission.earned.v1" }
func (CommissionApproved) EventType() string         { return "commission.approved.v1" }
func (CommissionReversed) EventType() string         { return "commission.reversed.v1" }
func (CommissionReversalAdjusted) EventType() string { return "commission.reversal_adjusted.v1" }

// apply is the only place a Sale changes.
func (s *Sale) apply(e Event) {
	switch e := e.(type) {
	case SaleRecorded:
		s.ID, s.Recorded, s.Kind, s.Source = e.SaleID, true, e.Kind, e.Source
		s.LicenseID, s.SubscriptionID, s.ProductID = e.LicenseID, e.SubscriptionID, e.ProductID
		s.Amount, s.Currency, s.OccurredAt = e.Amount, e.Currency, e.OccurredAt
	case SaleRefundObserved:
		s.ID = e.SaleID
		if s.refunds == nil {
			s.refunds = map[string]refundFact{}
		}
		f, ok := s.refunds[e.RefundKey]
		if !ok || e.OccurredAt.Before(f.At) {
			s.refunds[e.RefundKey] = refundFact{Charge: e.ChargeKey, Total: e.AmountRefundedTotal, At: e.OccurredAt}
		}
	case SaleDisputeObserved:
		s.ID = e.SaleID
		if s.disputes == nil {
			s.disputes = map[string]disputeFact{}
		}
		s.disputes[e.DisputeKey] = s.disputes[e.DisputeKey].merge(disputeFact{Amount: e.Amount, OpenedAt: e.OpenedAt, Status: e.Status, Closed: e.Closed})
	case SaleReclassified:
		s.Kind = e.Kind
	case CommissionEarned:
		s.Earned, s.AffiliateID, s.RateBps, s.Commission = true, e.AffiliateID, e.RateBps, e.CommissionAmount
	case CommissionWithdrawn:
		s.Earned, s.AffiliateID, s.RateBps, s.Commission = false, "", 0, 0
		s.Approved, s.ApprovedAt = false, time.Time{}
	case CommissionApproved:
		s.Approved, s.ApprovedAt = true, e.ApprovedAt
	case CommissionReversed:
		if s.Reversals == nil {
			s.Reversals = map[string]Reversal{}
		}
		s.Reversals[e.ReversalID] = Reversal{Reason: e.Reason, Amount: e.Amount, CommissionAmount: e.CommissionAmount, OccurredAt: e.OccurredAt}
	case CommissionReversalAdjusted:
		if e.Amount == 0 {
			delete(s.Reversals, e.ReversalID)
			if len(s.Reversals) == 0 {
				s.Reversals = nil
			}
			break
		}
		if s.Reversals == nil {
			s.Reversals = map[string]Reversal{}
		}
		s.Reversals[e.ReversalID] = Reversal{Reason: e.Reason, Amount: e.Amount, CommissionAmount: e.CommissionAmount, OccurredAt: e.OccurredAt}
	}
}

// CommissionStatusAt returns the status of the sale's commission at now
// under a hold: reversed once the whole sale is reversed, else approved
// from the instant the hold has passed since the sale (or once an approval
// was recorded), else pending. The status is a function of the time, so it
// needs no approval job to turn: the projections compute it the same way.
func (s *Sale) CommissionStatusAt(now time.Time, hold time.Duration) CommissionStatus {
	var reversed int64
	for _, r := range s.Reversals {
		reversed -= r.Amount
	}
	switch {
	case s.Recorded && s.Amount > 0 && reversed >= s.Amount:
		return CommissionStatusReversed
	case s.Approved || !now.Before(s.OccurredAt.Add(hold)):
		return CommissionStatusApproved
	}
	return CommissionStatusPending
}

// Sale commands.

// recordSale records the payment once; a duplicate changes nothing.
func (s *Sale) recordSale(e SaleRecorded) {
	if !s.Recorded {
		s.record(e)
		s.reconcile()
	}
}

// reclassify records that a recorded subscription payment is a renewal
// after all. A renewal never becomes the sale again: the first payment
// only moves earlier as payments become known, so a decision taken on an
// older view of the subscription cannot undo a newer one.
func (s *Sale) reclassify(kind SaleKind) {
	if !s.Recorded || s.Kind == kind || kind != SaleKindRenewal {
		return
	}
	var aff string
	if s.Earned {
		aff = s.AffiliateID
	}
	s.record(SaleReclassified{SaleID: s.ID, AffiliateID: aff, From: s.Kind, Kind: kind, ProductID: s.ProductID,
		Amount: s.Amount, Currency: s.Currency, OccurredAt: s.OccurredAt})
}

// withdraw records that the commission is not earned after all, and takes
// its reversal rows back.
func (s *Sale) withdraw() {
	if !s.Earned {
		return
	}
	ids := make([]string, 0, len(s.Reversals))
	for id := range s.Reversals {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		r := s.Reversals[id]
		s.record(CommissionReversalAdjusted{SaleID: s.ID, ReversalID: id, AffiliateID: s.AffiliateID, Reason: r.Reason, OccurredAt: r.OccurredAt})
	}
	s.record(CommissionWithdrawn{SaleID: s.ID, AffiliateID: s.AffiliateID})
}

// observeRefund records a cumulative refunded amount of a charge, unless the
// same observation is known with the same or an earlier time.
func (s *Sale) observeRefund(e SaleRefundObserved) {
	if f, ok := s.refunds[e.RefundKey]; ok && !e.OccurredAt.Before(f.At) {
		return
	}
	s.record(e)
	s.reconcile()
}

// observeDispute records what is known of a dispute, unless it adds nothing.
func (s *Sale) observeDispute(e SaleDisputeObserved) {
	old, ok := s.disputes[e.DisputeKey]
	if ok && old.merge(disputeFact{Amount: e.Amount, OpenedAt: e.OpenedAt, Status: e.Status, Closed: e.Closed}) == old {
		return
	}
	s.record(e)
	s.reconcile()
}

// earn records the affiliate's commission on a recorded sale, once.
func (s *Sale) earn(affiliateID string, rateBps int) {
	if !s.Recorded || s.Earned {
		return
	}
	s.record(CommissionEarned{SaleID: s.ID, AffiliateID: affiliateID, Kind: s.Kind, ProductID: s.ProductID,
		Amount: s.Amount, Currency: s.Currency, RateBps: rateBps, CommissionAmount: commissionOf(s.Amount, rateBps), OccurredAt: s.OccurredAt})
	s.reconcile()
}

// approve records the approval of the commission once the hold has passed
// since the sale.
func (s *Sale) approve(now time.Time, hold time.Duration) error {
	if !s.Earned {
		return notFound("commission")
	}
	if s.Approved {
		return nil
	}
	due := s.OccurredAt.Add(hold)
	if now.Before(due) {
		return Errorf(KindConflict, CodeCommissionNotDue, "the commission's hold has not passed")
	}
	s.record(CommissionApproved{SaleID: s.ID, AffiliateID: s.AffiliateID, ApprovedAt: due})
	return nil
}
