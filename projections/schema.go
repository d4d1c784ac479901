package projections

import (
	memdb "github.com/hashicorp/go-memdb"
)

// Table and index names.
const (
	tableCheckpoint    = "checkpoint"
	tableAccounts      = "accounts"
	tableLicenses      = "licenses"
	tableSubscriptions = "subscriptions"
	tableAffiliates    = "affiliates"
	tableSaleRows      = "sale_rows"
	tableSummaries     = "summaries"
	tableCounters      = "counters"
	tableSessions      = "sessions"
	tableIntents       = "stripe_intents"

	indexID          = "id"
	indexEmail       = "email"
	indexErasureDue  = "erasure_due"
	indexAccount     = "account"
	indexCode        = "code"
	indexAPIKey      = "api_key"
	indexAffTime     = "affiliate_time"
	indexPendingTime = "pending_time"
	indexToken       = "token"
	indexMarketing   = "marketing"
	indexDue         = "due"
)

// checkpoint is the one row of the checkpoint table: the global position
// the tables reflect.
type checkpoint struct {
	Position uint64
}

var checkpointKey = []byte("projector")

// schema returns the go-memdb schema of the projections. Every index is a
// keyIndex (no reflection); non-unique indexes get the row's id appended by
// go-memdb, which keeps their keys unique and orders ties by id.
func schema() *memdb.DBSchema {
	id := func(key memdb.Indexer) map[string]*memdb.IndexSchema {
		return map[string]*memdb.IndexSchema{indexID: {Name: indexID, Unique: true, Indexer: key}}
	}
	with := func(m map[string]*memdb.IndexSchema, name string, key memdb.Indexer) map[string]*memdb.IndexSchema {
		m[name] = &memdb.IndexSchema{Name: name, AllowMissing: true, Indexer: key}
		return m
	}
	return &memdb.DBSchema{Tables: map[string]*memdb.TableSchema{
		tableCheckpoint: {Name: tableCheckpoint, Indexes: id(keyIndex[checkpoint]{func(*checkpoint) []byte { return checkpointKey }})},
		tableAccounts: {Name: tableAccounts, Indexes: with(with(with(
			id(keyIndex[Account]{func(a *Account) []byte { return idKey(a.ID) }}),
			indexEmail, keyIndex[Account]{accountEmailKey}),
			indexErasureDue, keyIndex[Account]{accountErasureDueKey}),
			indexMarketing, keyIndex[Account]{accountMarketingKey})},
		tableIntents: {Name: tableIntents, Indexes: with(
			id(keyIndex[stripeIntent]{func(i *stripeIntent) []byte { return idKey(i.ID) }}),
			indexDue, keyIndex[stripeIntent]{intentDueKey})},
		tableSessions: {Name: tableSessions, Indexes: with(
			map[string]*memdb.IndexSchema{
				indexID:    {Name: indexID, Unique: true, Indexer: keyIndex[Session]{func(s *Session) []byte { return idKey(s.ID) }}},
				indexToken: {Name: indexToken, Unique: true, Indexer: keyIndex[Session]{sessionTokenKey}},
			},
			indexAccount, keyIndex[Session]{sessionAccountKey})},
		tableLicenses: {Name: tableLicenses, Indexes: with(
			id(keyIndex[License]{func(l *License) []byte { return idKey(l.ID) }}),
			indexAccount, keyIndex[License]{licenseAccountKey})},
		tableSubscriptions: {Name: tableSubscriptions, Indexes: with(
			id(keyIndex[Subscription]{func(s *Subscription) []byte { return idKey(s.ID) }}),
			indexAccount, keyIndex[Subscription]{subscriptionAccountKey})},
		tableAffiliates: {Name: tableAffiliates, Indexes: with(with(
			id(keyIndex[Affiliate]{func(a *Affiliate) []byte { return idKey(a.ID) }}),
			indexCode, keyIndex[Affiliate]{affiliateCodeKey}),
			indexAPIKey, keyIndex[Affiliate]{affiliateAPIKeyKey})},
		tableSaleRows: {Name: tableSaleRows, Indexes: with(with(
			id(keyIndex[saleRow]{func(r *saleRow) []byte { return idKey(r.RowID) }}),
			indexAffTime, keyIndex[saleRow]{saleRowAffiliateKey}),
			indexPendingTime, keyIndex[saleRow]{saleRowPendingKey})},
		tableSummaries: {Name: tableSummaries, Indexes: id(keyIndex[summaryRow]{func(s *summaryRow) []byte { return s.key.bytes() }})},
		tableCounters:  {Name: tableCounters, Indexes: id(keyIndex[counterRow]{func(c *counterRow) []byte { return c.key.bytes() }})},
	}}
}
