package projections

import (
	"slices"

	memdb "github.com/hashicorp/go-memdb"
)

// dirty holds the rows of one table that the current batch changes. The
// first change of a row takes a private copy of the stored row (orig stays
// untouched, as go-memdb requires); later events of the batch change the
// copy in place, and flush inserts each changed row once. Events of one
// aggregate usually arrive together, so a batch writes a subscription with
// its renewals, or a license with its key, once instead of once per event.
type dirty[T comparable] struct {
	table string
	id    func(*T) string
	rows  map[string]change[T]
	ids   []string // flush's, reused
}

// change is a row before the batch (nil when new) and after it so far (nil
// when deleted).
type change[T any] struct {
	orig *T
	row  *T
}

func newDirty[T comparable](table string, id func(*T) string) dirty[T] {
	return dirty[T]{table: table, id: id, rows: make(map[string]change[T])}
}

// entry returns the change of row id, loading the stored row at the first
// use in the batch. No row has an empty id: events without one change
// nothing.
func (d *dirty[T]) entry(txn *memdb.Txn, id string) (change[T], error) {
	if id == "" {
		return change[T]{}, nil
	}
	if c, ok := d.rows[id]; ok {
		return c, nil
	}
	orig, err := first[T](txn, d.table, idKey(id))
	if err != nil {
		return change[T]{}, err
	}
	c := change[T]{orig: orig}
	if orig != nil {
		cp := *orig
		c.row = &cp
	}
	d.rows[id] = c
	return c, nil
}

// get returns the batch's private copy of row id to change in place, or
// nil when there is no such row.
func (d *dirty[T]) get(txn *memdb.Txn, id string) (*T, error) {
	c, err := d.entry(txn, id)
	return c.row, err
}

// peek returns row id as the batch has it so far, not to be changed.
func (d *dirty[T]) peek(txn *memdb.Txn, id string) (*T, error) {
	if id == "" {
		return nil, nil
	}
	if c, ok := d.rows[id]; ok {
		return c.row, nil
	}
	return first[T](txn, d.table, idKey(id))
}

// put sets row as the new state of its id.
func (d *dirty[T]) put(txn *memdb.Txn, row *T) error {
	id := d.id(row)
	c, err := d.entry(txn, id)
	if err != nil || id == "" {
		return err
	}
	c.row = row
	d.rows[id] = c
	return nil
}

// remove deletes row id.
func (d *dirty[T]) remove(txn *memdb.Txn, id string) error {
	c, err := d.entry(txn, id)
	if err != nil || id == "" {
		return err
	}
	c.row = nil
	d.rows[id] = c
	return nil
}

// flush writes the changed rows, calling moved(orig, row) first for each
// row that changed (either may be nil), and forgets them. It writes them
// in the order of their ids, which is the order of the table's primary
// index: consecutive inserts go down the same upper nodes of its tree.
func (d *dirty[T]) flush(txn *memdb.Txn, moved func(orig, row *T)) error {
	ids := d.ids[:0]
	for id := range d.rows {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	d.ids = ids
	for _, id := range ids {
		c := d.rows[id]
		switch {
		case c.row == nil && c.orig == nil:
			continue
		case c.row != nil && c.orig != nil && *c.row == *c.orig:
			continue
		}
		if moved != nil {
			moved(c.orig, c.row)
		}
		var err error
		if c.row == nil {
			err = txn.Delete(d.table, c.orig)
		} else {
			err = txn.Insert(d.table, c.row)
		}
		if err != nil {
			return err
		}
	}
	clear(d.rows)
	return nil
}

// reset forgets the changes (after an aborted batch).
func (d *dirty[T]) reset() { clear(d.rows) }
