package storetest

import (
	"testing"

	"github.com/aseptsoft/subledger/eventstore"
)

// Backend describes a store under test.
type Backend struct {
	// Name is the subtest name: "embedded", "esdb", ...
	Name string
	// Open returns a store. Each call may return a store that already holds
	// events of earlier cases (a shared real server): the suite uses unique
	// stream names and only looks at its own streams in the global order.
	Open func(t *testing.T) eventstore.Store
	// Reopen closes s and opens the same store again, or is nil when the
	// backend cannot (the case is then skipped with a reason).
	Reopen func(t *testing.T, s eventstore.Store) eventstore.Store
	// DensePositions is true when global positions go 1, 2, 3, ... with no
	// gap, so that the suite checks exactly that.
	DensePositions bool
}
