package projections

import (
	memdb "github.com/hashicorp/go-memdb"

	"github.com/aseptsoft/subledger/domain"
)

// writer applies domain events to the tables inside one write transaction.
// Changed rows are kept as private copies (dirty) and inserted once per
// batch in flush; additive figures (statistics counters, monthly summaries)
// are gathered as deltas and also written once per batch, so a batch of a
// thousand sales touches each counter row once. The maps are reused from
// batch to batch.
type writer struct {
	txn      *memdb.Txn
	subjects *subjectIndex

	accounts      dirty[Account]
	licenses      dirty[License]
	subscriptions dirty[Subscription]
	affiliates    dirty[Affiliate]
	sales         dirty[saleRow]
	sessions      dirty[Session]
	intents       dirty[stripeIntent]

	counters  map[counterKey]counterDelta
	summaries map[summaryKey]summaryDelta

	counterWrites []deltaWrite[counterRow]
	summaryWrites []deltaWrite[summaryRow]
}

func (w *writer) init() {
	w.accounts = newDirty(tableAccounts, func(a *Account) string { return a.ID })
	w.licenses = newDirty(tableLicenses, func(l *License) string { return l.ID })
	w.subscriptions = newDirty(tableSubscriptions, func(s *Subscription) string { return s.ID })
	w.affiliates = newDirty(tableAffiliates, func(a *Affiliate) string { return a.ID })
	w.sales = newDirty(tableSaleRows, func(r *saleRow) string { return r.RowID })
	w.sessions = newDirty(tableSessions, func(s *Session) string { return s.ID })
	w.intents = newDirty(tableIntents, func(i *stripeIntent) string { return i.ID })
	w.counters = make(map[counterKey]counterDelta)
	w.summaries = make(map[summaryKey]summaryDelta)
}

func (w *writer) begin(txn *memdb.Txn) { w.txn = txn }

// end forgets whatever the batch left (all of it after an abort).
func (w *writer) end() {
	w.txn = nil
	w.accounts.reset()
	w.licenses.reset()
	w.subscriptions.reset()
	w.affiliates.reset()
	w.sales.reset()
	w.sessions.reset()
	w.intents.reset()
	clear(w.counters)
	clear(w.summaries)
	clear(w.counterWrites)
	clear(w.summaryWrites)
	w.counterWrites, w.summaryWrites = w.counterWrites[:0], w.summaryWrites[:0]
}

// apply applies one event. Event types that no projection needs are
// ignored.
func (w *writer) apply(e domain.Event) error {
	switch e := e.(type) {
	// Accounts.
	case domain.AccountRegistered:
		return w.accountRegistered(e)
	case domain.AccountDetailsChanged:
		return w.updateAccount(e.AccountID, func(a *Account) {
			a.Name, a.Company, a.Email, a.UpdatedAt = e.Name, e.Company, e.Email, e.ChangedAt
		})
	case domain.AccountPasswordSet:
		if err := w.updateAccount(e.AccountID, func(a *Account) { a.UpdatedAt, a.PasswordSetAt = e.SetAt, e.SetAt }); err != nil {
			return err
		}
		return w.endSessions(e.AccountID, func(s *Session) bool { return !s.CredentialsAt.Before(e.SetAt) })
	case domain.MarketingConsentGiven:
		return w.updateAccount(e.AccountID, func(a *Account) {
			a.MarketingConsent, a.MarketingConsentAt, a.UpdatedAt = true, e.GivenAt, e.GivenAt
		})
	case domain.MarketingConsentWithdrawn:
		return w.updateAccount(e.AccountID, func(a *Account) {
			a.MarketingConsent, a.MarketingConsentAt, a.UpdatedAt = false, zeroTime, e.WithdrawnAt
		})
	case domain.AccountClosed:
		if err := w.updateAccount(e.AccountID, func(a *Account) {
			a.Status, a.ClosedAt, a.UpdatedAt = domain.AccountStatusClosed, e.ClosedAt, e.ClosedAt
		}); err != nil {
			return err
		}
		return w.endSessions(e.AccountID, func(*Session) bool { return false })
	case domain.AccountErasureScheduled:
		return w.updateAccount(e.AccountID, func(a *Account) { a.ErasureDueAt = e.DueAt })
	case domain.AccountErasureUnscheduled:
		return w.updateAccount(e.AccountID, func(a *Account) { a.ErasureDueAt = zeroTime })
	case domain.AccountErased:
		if err := w.accountErased(e); err != nil {
			return err
		}
		return w.endSessions(e.AccountID, func(*Session) bool { return false })

	// Sessions.
	case domain.SessionStarted:
		return w.sessionStarted(e)
	case domain.SessionTouched:
		return w.sessionTouched(e)
	case domain.SessionEnded:
		return w.sessions.remove(w.txn, e.SessionID)

	// The Stripe outbox.
	case domain.StripeIntentRecorded, domain.StripeIntentFailed, domain.StripeIntentCompleted:
		return w.stripeIntent(e)

	// Licenses.
	case domain.LicensePurchased:
		return w.licensePurchased(e)
	case domain.LicenseKeyIssued:
		return w.licenseKeyIssued(e)
	case domain.LicenseRefunded:
		return w.updateLicense(e.LicenseID, func(l *License) {
			if l.Status != domain.LicenseStatusRevoked {
				l.Status = domain.LicenseStatusRefunded
			}
			l.RefundedAt = e.RefundedAt
		})
	case domain.LicenseRevoked:
		return w.updateLicense(e.LicenseID, func(l *License) {
			l.Status, l.RevokeReason, l.RevokedAt = domain.LicenseStatusRevoked, e.Reason, e.RevokedAt
		})

	// Subscriptions: every event carries the view after it.
	case domain.SubscriptionCheckoutCompleted:
		return w.subscription(e.SubscriptionID, e.View, false)
	case domain.SubscriptionSynced:
		return w.subscription(e.SubscriptionID, e.View, false)
	case domain.SubscriptionRenewed:
		return w.subscription(e.SubscriptionID, e.View, false)
	case domain.SubscriptionPaymentFailed:
		return w.subscription(e.SubscriptionID, e.View, false)
	case domain.SubscriptionCancellationRequested:
		return w.subscription(e.SubscriptionID, e.View, false)
	case domain.SubscriptionReactivated:
		return w.subscription(e.SubscriptionID, e.View, false)
	case domain.SubscriptionCanceled:
		return w.subscription(e.SubscriptionID, e.View, false)
	case domain.SubscriptionStarted:
		return w.subscription(e.SubscriptionID, e.View, true)
	case domain.SubscriptionStripeLinked:
		// The Stripe id is not projected: the domain finds a subscription
		// by our id, derived from it.
		return nil
	case domain.SubscriptionPlanChanged:
		return w.subscription(e.SubscriptionID, e.View, false)
	case domain.SubscriptionEnded:
		return w.subscription(e.SubscriptionID, e.View, false)

	// Sales, commissions and affiliates.
	case domain.SaleRecorded:
		w.saleRecorded(e)
	case domain.SaleReclassified:
		return w.saleReclassified(e)
	case domain.CommissionEarned:
		return w.commissionEarned(e)
	case domain.CommissionWithdrawn:
		return w.sales.remove(w.txn, e.SaleID)
	case domain.CommissionApproved:
		return w.commissionApproved(e)
	case domain.CommissionReversed:
		return w.commissionReversed(e)
	case domain.CommissionReversalAdjusted:
		return w.commissionReversalAdjusted(e)
	case domain.AffiliateRegistered:
		return w.affiliateRegistered(e)
	case domain.AffiliateErased:
		a, err := w.affiliates.get(w.txn, e.AffiliateID)
		if err != nil || a == nil {
			return err
		}
		a.Name, a.Email, a.APIKeySHA256, a.ErasedAt = "", "", "", e.ErasedAt
		return nil
	}
	return nil
}

// flush writes the rows the batch changed, then the deltas they and the
// events gathered.
func (w *writer) flush() error {
	for _, f := range []func() error{
		func() error { return w.accounts.flush(w.txn, w.accountMoved) },
		func() error { return w.licenses.flush(w.txn, nil) },
		func() error { return w.subscriptions.flush(w.txn, w.subscriptionMoved) },
		func() error { return w.affiliates.flush(w.txn, nil) },
		func() error { return w.sales.flush(w.txn, w.saleMoved) },
		func() error { return w.sessions.flush(w.txn, nil) },
		func() error { return w.intents.flush(w.txn, nil) },
		w.flushCounters,
		w.flushSummaries,
	} {
		if err := f(); err != nil {
			return err
		}
	}
	return nil
}

// first returns the row of table with primary key id, or nil.
func first[T any](txn *memdb.Txn, table string, id []byte) (*T, error) {
	raw, err := txn.First(table, indexID, id)
	if err != nil || raw == nil {
		return nil, err
	}
	return raw.(*T), nil
}

// deltaWrite is a row of a table of sums (counters, monthly summaries) as it
// was (nil when new) and as it becomes (nil when it sums to zero). Flushing
// such a table looks every row up first and only then writes: a lookup in
// a table that the transaction has already written makes go-memdb clone
// the index's write transaction, which drops its cache of copied nodes, so
// lookups interleaved with writes would copy the tree's upper nodes anew
// for every write.
type deltaWrite[T any] struct {
	old, row *T
}

// writeDeltas writes the rows of table that flushCounters or flushSummaries
// looked up.
func writeDeltas[T any](txn *memdb.Txn, table string, writes []deltaWrite[T]) error {
	for _, d := range writes {
		var err error
		switch {
		case d.row != nil:
			err = txn.Insert(table, d.row)
		case d.old != nil:
			err = txn.Delete(table, d.old)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
