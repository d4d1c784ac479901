// Package projections keeps the read side of subledger: go-memdb tables
// built from the event store's global order, and the queries, affiliate
// reports and statistics that the API serves from them.
//
// A Projector starts empty and is rebuilt from the store by Run: it follows
// the store with SubscribeAll from its checkpoint, decodes each batch (in
// parallel when large; decoding and applying are pipelined) and applies the
// batch together with the checkpoint it reaches in one go-memdb write
// transaction, so a reader never sees half a batch. Position, WaitFor
// (read-your-writes) and CaughtUp (readiness) follow the published
// checkpoint. Nothing is persisted: the projections live in memory only, so
// no plaintext personal data reaches the disk through them.
//
// Decisions:
//
//   - Rows are never changed once inserted (go-memdb does not copy): the
//     first change of a row in a batch copies it, the batch's events change
//     that private copy, and the copy is inserted once at the end of the
//     batch (a subscription with its renewals is written once, not once per
//     event). Queries return copies.
//   - Indexes compute their keys with plain functions (keyIndex), without
//     reflection; there are few of them.
//   - Erasure: AccountErased empties the account's personal fields (name,
//     company, e-mail) and its license keys, and the e-mail index entry goes
//     with the address. Marketing consent is reset as the domain does.
//     Events decoded after the key is shredded carry zero personal fields,
//     so a rebuild gives the same tables as the live projector. The
//     password hash and the Stripe customer id are not projected at all.
//   - Affiliate report rows are stored one per sale, renewal or reversal
//     (from CommissionEarned, CommissionReversed and
//     CommissionReversalAdjusted; SaleReclassified turns a sale row into a
//     renewal, CommissionWithdrawn removes one), ordered by affiliate and
//     time. They hold
//     no customer data. The commission status is computed at query time from
//     the View's clock: reversed for reversal rows and for sales reversed in
//     full, approved once CommissionApproved was recorded or the hold has
//     passed since occurred_at, pending before; so a report never waits for
//     the approval job, and says what the Sale aggregate says at the same
//     instant (domain.Sale.CommissionStatusAt).
//   - Monthly summaries per affiliate, month and currency (one for every
//     month and currency with rows) are maintained on apply (as deltas gathered per batch); a summary over [from, to) reads
//     whole months from them and sums the rows of months cut by from or to.
//   - Statistics are counters (sign-ups per day, payments per day, product
//     and currency, subscriptions per plan and status, subscriptions
//     started and ended per day and plan, accounts per status), also
//     gathered as deltas per batch. None holds personal data, and erasure
//     changes none of them except the account status counts.
package projections
