package repository

import (
	"fmt"

	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/eventstore/codec"
)

// NewRegistry returns a codec registry holding every domain event type at
// its current schema version. Upcasters for older versions of a type are
// registered here when a type changes.
func NewRegistry() (*codec.Registry, error) {
	reg := codec.NewRegistry()
	for _, ev := range domain.EventTypes() {
		if err := reg.Register(codec.Type{Prototype: ev}); err != nil {
			return nil, fmt.Errorf("register %s: %w", ev.EventType(), err)
		}
	}
	return reg, nil
}
