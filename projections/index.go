package projections

import (
	"encoding/binary"
	"fmt"
	"time"
)

// keyIndex is a go-memdb indexer over rows of type *T that computes its key
// with a plain function: no reflection on the apply path. key returns nil
// when the row has no entry in the index (the index must then allow
// missing values). Lookups pass the key already built, as one []byte or
// string argument.
type keyIndex[T any] struct {
	key func(*T) []byte
}

// FromObject implements memdb.SingleIndexer.
func (x keyIndex[T]) FromObject(obj any) (bool, []byte, error) {
	row, ok := obj.(*T)
	if !ok {
		return false, nil, fmt.Errorf("projections: indexing %T, want %T", obj, (*T)(nil))
	}
	k := x.key(row)
	return k != nil, k, nil
}

// FromArgs implements memdb.Indexer.
func (keyIndex[T]) FromArgs(args ...any) ([]byte, error) { return argKey(args) }

// PrefixFromArgs implements memdb.PrefixIndexer.
func (keyIndex[T]) PrefixFromArgs(args ...any) ([]byte, error) { return argKey(args) }

func argKey(args []any) ([]byte, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("projections: want one key argument, got %d", len(args))
	}
	switch a := args[0].(type) {
	case []byte:
		return a, nil
	case string:
		return []byte(a), nil
	}
	return nil, fmt.Errorf("projections: key argument of type %T", args[0])
}

// Key building. Strings end with a 0 byte (ids never contain one), so a
// string key is never a prefix of another; times are 12 bytes that sort in
// time order (seconds with the sign bit flipped, then nanoseconds).

const timeKeyLen = 12

func appendString(b []byte, s string) []byte {
	b = append(b, s...)
	return append(b, 0)
}

func appendTime(b []byte, t time.Time) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(t.Unix())^(1<<63))
	return binary.BigEndian.AppendUint32(b, uint32(t.Nanosecond()))
}

// stringTimeKey returns s, 0, t: the key of a row of s at time t in a
// non-unique index (go-memdb appends the row's id).
func stringTimeKey(s string, t time.Time) []byte {
	b := make([]byte, 0, len(s)+1+timeKeyLen)
	return appendTime(appendString(b, s), t)
}

// stringKey returns s, 0.
func stringKey(s string) []byte {
	return appendString(make([]byte, 0, len(s)+1), s)
}

// idKey returns the primary key of a row with id s.
func idKey(s string) []byte { return []byte(s) }

// after returns the smallest key greater than k.
func after(k []byte) []byte {
	return append(k[:len(k):len(k)], 0)
}
