package projections

import (
	"encoding/base64"
	"errors"
	"time"

	memdb "github.com/hashicorp/go-memdb"
)

// View is a consistent read-only snapshot of the projections at one
// position, with the time its statuses are computed against. Queries on one
// View see the same state; a View holds no lock and may be kept as long as
// needed (it pins the snapshot's memory). It is safe for concurrent use.
type View struct {
	txn      *memdb.Txn
	now      time.Time
	hold     time.Duration
	subjects *subjectIndex
}

// View returns a snapshot of the projections as they are now, with the
// projector's clock read once.
func (p *Projector) View() *View {
	return &View{txn: p.db.Txn(false), now: p.now().UTC(), hold: p.hold, subjects: &p.subjects}
}

// Position returns the global position the view reflects.
func (v *View) Position() uint64 {
	c, err := first[checkpoint](v.txn, tableCheckpoint, checkpointKey)
	if err != nil || c == nil {
		return 0
	}
	return c.Position
}

// Now returns the time the view's commission statuses are computed against.
func (v *View) Now() time.Time { return v.now }

// List sizes.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// ErrBadCursor means a list cursor is not one this package returned.
var ErrBadCursor = errors.New("projections: invalid cursor")

// Page is one page of a list. NextCursor is empty on the last page;
// otherwise pass it back to get the next page.
type Page[T any] struct {
	Items      []T
	NextCursor string
}

// listByAccount pages through the rows of table in the account index for
// accountID, ordered by their time and id. limit <= 0 means DefaultLimit;
// it is capped at MaxLimit. suffix returns a row's index key after the
// account prefix (its time), which go-memdb follows with the row's id.
func listByAccount[T any](v *View, table, accountID string, limit int, cursor string,
	owner func(*T) string, suffix func(*T) []byte, id func(*T) string) (Page[T], error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	start := stringKey(accountID)
	if cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || len(raw) <= timeKeyLen {
			return Page[T]{}, ErrBadCursor
		}
		start = after(append(start, raw...))
	}
	it, err := v.txn.LowerBound(table, indexAccount, start)
	if err != nil {
		return Page[T]{}, err
	}
	var page Page[T]
	for raw := it.Next(); raw != nil; raw = it.Next() {
		row := raw.(*T)
		if owner(row) != accountID {
			break
		}
		if len(page.Items) == limit {
			last := &page.Items[limit-1]
			page.NextCursor = base64.RawURLEncoding.EncodeToString(append(suffix(last), id(last)...))
			break
		}
		page.Items = append(page.Items, *row)
	}
	return page, nil
}
