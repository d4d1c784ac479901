// Package stripe connects subledger to Stripe through stripe-go v76: it
// verifies webhook events ([Verifier]), says what each one means to the
// domain ([Translator], [Fact]), applies it ([Applier]) and makes the
// outbound calls ([Client]). It holds no package-level state: keys, secrets
// and the base URL are injected, never read from stripe-go's globals.
//
// # Decisions
//
// API version. The vendor's Stripe account is pinned to the library's own
// API version, 2023-10-16 (stripeapi.APIVersion). An event of another
// api_version is refused as malformed ([ErrAPIVersion], which is an
// [ErrMalformedEvent]), after its signature was verified, so that Stripe
// retries it and shows the failures on the endpoint: the shapes changed
// between versions (current_period_end, invoice.subscription and
// charge.invoice moved in later versions) and reading another version with
// these types would not fail loudly, it would silently see fields as empty
// and so ignore events or record wrong periods.
//
// Verified events the domain refuses. A verified event whose object cannot
// be read, or that the domain refuses as invalid (a missing amount, a
// quantity that is not a number, ...), is an [ErrMalformedEvent] (the API
// answers 400 malformed_event) and changes nothing: its receipt is not
// recorded. Stripe then retries it for up to three days and lists it as
// failing on the endpoint, where an operator sees it; should the cause be a
// bug in subledger, the fixed server applies a later retry. Acknowledging
// it with 200 instead would lose it for good. Any other failure (the store,
// a conflict after the domain's retries) is returned as it is, and the API
// answers 5xx so that Stripe retries.
//
// What is "ours". The Stripe account may serve other systems too, so an
// event is applied only when its object ties to subledger ([Tie]):
//
//   - Checkout Sessions and subscriptions: by our account_id metadata, which
//     subledger's checkout sets on the session and on subscription_data. A
//     subscription without it is still ours when subledger already knows
//     the subscription (a started subscription in the domain).
//   - Invoices: by the subscription's metadata that Stripe copies onto the
//     invoice (subscription_details.metadata, and the metadata of a
//     subscription line item), else when subledger already knows the
//     invoice's subscription. An invoice without a subscription is not ours.
//   - Refunds (charge.refunded): by the charge's account_id metadata (a
//     Checkout payment intent's metadata is copied onto its charge), else by
//     the charge's payment intent. A charge without our metadata (an
//     invoice's charge: an invoice's payment intent carries none) may be of
//     a payment subledger will only learn of later, since Stripe keeps no
//     order, so it is kept on the sale of its payment intent, as the domain
//     keeps refunds before their sale.
//   - Disputes carry no metadata of their own and are kept the same way,
//     by payment intent.
//   - A charge or dispute without a payment intent is not ours (every
//     payment subledger takes goes through a Checkout payment intent), nor
//     is an event of a connected account (event.account set).
//
// A refund or dispute of another system's payment thus stays a fact on a
// sale stream (named by a keyed digest; nothing personal in plain) that no
// recorded sale, view or report ever reads: the price of never dropping a
// fact that arrived before its sale.
//
// Everything that is not ours, and every type that is not handled, is
// acknowledged and changes nothing but its receipt.
//
// Receipts. [Applier.Apply] records the receipt of every verified event it
// does not refuse (domain.RecordStripeEvent), ignored ones included, after
// the fact was applied (see the domain's comment): facts are idempotent, so
// a duplicate is applied again harmlessly, and a receipt recorded before a
// failed apply would hide the redelivery's work.
//
// Personal data. No error of this package holds personal data or a Stripe
// id: webhook errors never echo the payload, and outbound errors carry
// Stripe's status, type, code and request id but not its message (which
// names customers and payment methods). stripe-go's own logger is silenced
// for the same reason.
package stripe
