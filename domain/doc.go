// Package domain holds subledger's business: the aggregates (account, e-mail
// and affiliate-code reservations, license, subscription, sale with its
// affiliate commission, affiliate), their commands, events and rules, and the
// command handling that loads an aggregate's stream, folds it, decides and
// appends with the expected version (Service; on a version conflict it
// reloads and decides again, at most Config.MaxAttempts times, then returns a
// KindConflict error).
//
// Every aggregate has one shape: a state struct, a single apply method that
// is the only place state changes, its event types, and command methods that
// check rules and record events (record = apply + keep as uncommitted).
// Errors are *Error with a Kind from one closed set and a stable Code.
//
// # Stripe facts and order
//
// Stripe delivers at least once and in any order. The API layer turns each
// verified webhook into a plain command (RecordCheckoutPaid,
// RecordSubscriptionCheckout, RecordSubscriptionChange, RecordInvoicePaid,
// RecordInvoicePaymentFailed, RecordRefund, RecordDispute). Each fact lands on
// a stream whose id is derived, with HMAC-SHA256 under the server secret,
// from a Stripe object id, so the id reveals nothing of the Stripe id:
//
//   - license-<id(payment intent)>: a paid Checkout Session in payment mode;
//   - subscription-<id(Stripe subscription)>: its checkout, every snapshot
//     (created/updated/deleted), paid and failed invoices, and the customer's
//     own cancel/reactivate requests;
//   - sale-<id(payment intent)>: one payment (a license checkout or a paid
//     invoice), its refunds (by charge and cumulative refunded total) and
//     disputes (by dispute id), and the affiliate's commission on it.
//
// Facts are kept in sets keyed by digests of their Stripe ids (never the
// webhook event id alone), so a duplicate changes nothing, and a fact about
// something not yet known (a refund before its sale, an invoice of a
// subscription not yet started) waits on its stream until the rest arrives.
// Derived results (a subscription's status, plan, period and cancellation
// flag; a sale's reversal rows; a license's refunded state; an account's
// erasure schedule) are pure functions of those sets (latest by Stripe time,
// earliest, union), and each handler reconciles what is recorded with what
// the facts now call for. A handler brings the other aggregates in line with
// the current state rather than with its own change, and every step is
// idempotent, so when a handler fails half way, Stripe's redelivery
// completes it. The property test in order_test.go checks that facts applied
// in time order, shuffled, duplicated and concurrently give equal states.
//
// # Decisions
//
//   - An e-mail address is unique among accounts that are not erased (a
//     closed account keeps its address). The reservation stream is named by a
//     keyed digest of the normalised address and holds the owner's account
//     id. A reservation is taken over when its holder was erased, or, after
//     Config.ReservationGrace, when the holder does not exist or no longer
//     uses the address (a registration or change that failed half way).
//   - The first subscription payment is counted by its invoice only; the
//     subscription-mode checkout starts the subscription and makes no sale.
//     Invoices of zero amount (trials) make no sale. The earliest paid
//     invoice with an amount above 0 is the sale; the others are renewals.
//   - Recurring commission runs while a renewal is paid no later than
//     RecurringMonths calendar months (end-of-month clamped) after the first
//     payment; a subscription's affiliate is the smallest non-empty
//     affiliate id its facts carry (they all carry the same one, from the
//     checkout metadata). A payment that Stripe delivers after a later one
//     corrects the later one's kind and commission (subscription_sales.go).
//   - A refund row is the change in the charge's refunded total. Reversals
//     are applied in Stripe time order; each row reverses the difference of
//     the rounded commissions of the cumulative amounts after and before it,
//     so a full refund reverses exactly the whole commission, and the total
//     reversed never exceeds the sale. A refund
//     reported late that changes the split is corrected with
//     CommissionReversalAdjusted; an adjustment to zero removes the row.
//   - A dispute reverses its amount unless it is an inquiry (warning_*) or
//     the merchant won it; a won dispute takes its reversal back (adjusted to
//     zero). A dispute does not revoke the license; an operator may.
//   - A license is refunded when its payment is refunded in full; a partial
//     refund leaves it active.
//   - Subscription status: ended once Stripe deleted or cancelled it or the
//     customer cancelled now; past due when the latest health signal (a
//     snapshot's status, a paid invoice, an unpaid failure) is bad; else
//     active. A failed payment never shortens the period already paid
//     (HasAccess). Stripe's subscription id, which the API needs to cancel
//     at Stripe, is kept encrypted under the account's key
//     (SubscriptionStripeLinked).
//   - Erasure is scheduled Config.ErasureGrace after the latest end once every
//     subscription of the account has ended and at least one was paid,
//     whatever licenses it holds (the privacy policy's wording); a new
//     subscription unschedules it. EraseIfDue carries it out; RequestErasure
//     erases at once. The caller shreds the data key after the AccountErased
//     event is appended. No license key is issued for an erased account.
//   - A commission's status is a function of the time: approved from the
//     instant Config.CommissionHold has passed since the sale
//     (Sale.CommissionStatusAt). ApproveCommission records the approval for
//     the record; ApprovedAt is the sale's time plus the hold.
//
// The package imports nothing of subledger's other packages.
package domain
