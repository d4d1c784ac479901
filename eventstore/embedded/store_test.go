package embedded_test

import (
	"testing"

	"github.com/aseptsoft/subledger/eventstore"
	"github.com/aseptsoft/subledger/eventstore/embedded"
	"github.com/aseptsoft/subledger/eventstore/storetest"
)

func TestContract(t *testing.T) {
	dirs := map[eventstore.Store]string{}
	open := func(t *testing.T, dir string) eventstore.Store {
		s, err := embedded.Open(dir, embedded.Config{})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		dirs[s] = dir
		return s
	}
	storetest.Run(t, storetest.Backend{
		Name: "embedded",
		Open: func(t *testing.T) eventstore.Store { return open(t, t.TempDir()) },
		Reopen: func(t *testing.T, s eventstore.Store) eventstore.Store {
			if err := s.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}
			return open(t, dirs[s])
		},
		DensePositions: true,
	})
}
