package repository_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/eventstore/repository"
)

// TestCacheNeverServesErasedData: a cached account's personal fields are
// gone once its key is forgotten, whether the cache saw the erasure's
// events or not.
func TestCacheNeverServesErasedData(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	cached := e.repo.WithCache(e.ring, 100)
	stream := domain.AccountStream("a1")
	reg := domain.AccountRegistered{AccountID: "a1", Name: "Cached Person", Email: "cached@example.com", PasswordHash: "h"}
	if _, err := cached.Append(ctx, stream, domain.NoStream, []domain.Event{reg}, domain.Meta{}); err != nil {
		t.Fatal(err)
	}
	events, _, err := cached.Load(ctx, stream)
	if err != nil || len(events) != 1 || events[0].(domain.AccountRegistered).Name != "Cached Person" {
		t.Fatalf("first load: %v %v", events, err)
	}
	// The key is forgotten behind the cache's back (as on another replica).
	if err := e.ring.Forget(ctx, "a1"); err != nil {
		t.Fatal(err)
	}
	events, _, err = cached.Load(ctx, stream)
	if err != nil || len(events) != 1 {
		t.Fatalf("load after Forget: %v %v", events, err)
	}
	if got := events[0].(domain.AccountRegistered); got.Name != "" || got.Email != "" {
		t.Fatalf("the cache served erased data: %+v", got)
	}
}

// TestCacheReadsTheTail: events appended by anyone (another repository,
// as another replica would) are seen, in order, and the cache stays
// within its bound.
func TestCacheReadsTheTail(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	cached := e.repo.WithCache(e.ring, 40)
	for s := range 5 {
		stream := fmt.Sprintf("account-c%d", s)
		version := domain.NoStream
		for i := range 10 {
			ev := domain.AccountClosed{AccountID: fmt.Sprint(i)}
			w := e.repo
			if i%2 == 0 {
				w = cached
			}
			if _, err := w.Append(ctx, stream, version, []domain.Event{ev}, domain.Meta{}); err != nil {
				t.Fatal(err)
			}
			version++
			events, v, err := cached.Load(ctx, stream)
			if err != nil || v != version || len(events) != i+1 {
				t.Fatalf("load %s after %d appends: %d events at %d, %v", stream, i+1, len(events), v, err)
			}
			for j, got := range events {
				if got.(domain.AccountClosed).AccountID != fmt.Sprint(j) {
					t.Fatalf("event %d is %+v", j, got)
				}
			}
		}
	}
	_ = repository.DefaultCacheEvents
}
