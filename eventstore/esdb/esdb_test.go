package esdb_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	esdbc "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/aseptsoft/subledger/eventstore"
	"github.com/aseptsoft/subledger/eventstore/esdb"
	"github.com/aseptsoft/subledger/eventstore/esdb/esdbtest"
	"github.com/aseptsoft/subledger/eventstore/storetest"
)

// TestContract runs the contract suite on the adapter against the
// in-process test server, and against a real server when
// SUBLEDGER_ESDB_URL names one (for example
// esdb://admin:changeit@localhost:2113?tls=false).
func TestContract(t *testing.T) {
	storetest.Run(t, backend("esdb", esdbtest.Start(t)))

	url := os.Getenv("SUBLEDGER_ESDB_URL")
	if url == "" {
		t.Run("esdb-server", func(t *testing.T) {
			t.Skip("SUBLEDGER_ESDB_URL is not set; set it to a KurrentDB/EventStoreDB connection string to run the suite against a real server")
		})
		return
	}
	storetest.Run(t, backend("esdb-server", url))
}

func backend(name, url string) storetest.Backend {
	open := func(t *testing.T) eventstore.Store { return open(t, url) }
	return storetest.Backend{
		Name: name,
		Open: open,
		Reopen: func(t *testing.T, s eventstore.Store) eventstore.Store {
			if err := s.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}
			return open(t)
		},
		DensePositions: false,
	}
}

// open connects to url and closes the store when t ends. Messages leave the
// URL out: it may hold a password.
func open(t *testing.T, url string) *esdb.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := esdb.Open(ctx, url)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// rawClient is the plain client on url, for arranging what the adapter
// does not write (system events, soft deletes).
func rawClient(t *testing.T, url string) *esdbc.Client {
	t.Helper()
	conf, err := esdbc.ParseConnectionString(url)
	if err != nil {
		t.Fatal(err)
	}
	conf.Logger = esdbc.NoopLogging()
	c, err := esdbc.NewClient(conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func ev(typ string) eventstore.EventData {
	return eventstore.EventData{ID: uuid.NewString(), Type: typ, Data: []byte(`{"n":1}`), Metadata: []byte(`{"actor":"test"}`)}
}

func unique(prefix string) string { return prefix + "-" + uuid.NewString()[:8] }

func TestOpenAcceptsEveryScheme(t *testing.T) {
	url := esdbtest.Start(t)
	hostAndQuery := strings.TrimPrefix(url, "esdb://")
	cases := []struct {
		name string
		conn string
	}{
		{"esdb", "esdb://" + hostAndQuery},
		{"esdb_discover_through_gossip", "esdb+discover://" + hostAndQuery},
		{"kurrentdb", "kurrentdb://" + hostAndQuery},
		{"kurrentdb_discover_through_gossip", "kurrentdb+discover://" + hostAndQuery},
		{"kurrentdb_in_capitals", "KurrentDB://" + hostAndQuery},
		{"kdb", "kdb://" + hostAndQuery},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := open(t, c.conn)
			stream := unique("scheme")
			e := ev("Opened")
			if _, err := s.Append(ctxFor(t), stream, eventstore.NoStream(), e); err != nil {
				t.Fatalf("append: %v", err)
			}
			got, err := s.ReadStream(ctxFor(t), stream, 0, 10)
			if err != nil || len(got) != 1 || got[0].ID != e.ID {
				t.Fatalf("read back %d events (err %v), want the one appended", len(got), err)
			}
		})
	}
}

func TestOpenRefusesBadOrUnreachableServers(t *testing.T) {
	// A port that nothing listens on.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := lis.Addr().String()
	lis.Close()
	cases := []struct {
		name    string
		conn    string
		wantMsg string
	}{
		{"unknown_scheme", "http://127.0.0.1:2113", "must start with"},
		{"no_scheme", "127.0.0.1:2113", "must start with"},
		{"no_host", "esdb://?tls=false", "invalid connection string"},
		{"bad_port_keeps_password_out", "esdb://admin:s3cret@127.0.0.1:notaport", "invalid connection string"},
		{"nothing_listening_keeps_password_out", "esdb://admin:s3cret@" + dead + "?tls=false&maxDiscoverAttempts=1", "connect to"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s, err := esdb.Open(ctx, c.conn)
			if err == nil {
				s.Close()
				t.Fatal("open succeeded")
			}
			if !strings.Contains(err.Error(), c.wantMsg) {
				t.Fatalf("error %q does not say %q", err, c.wantMsg)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("error %q repeats the password", err)
			}
		})
	}
}

// TestPositionIsCommitPositionPlusOne checks the mapping against what the
// plain client reports.
func TestPositionIsCommitPositionPlusOne(t *testing.T) {
	url := esdbtest.Start(t)
	s := open(t, url)
	raw := rawClient(t, url)
	stream := unique("pos")
	r, err := s.Append(ctxFor(t), stream, eventstore.NoStream(), ev("A"), ev("B"))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := raw.ReadStream(ctxFor(t), stream, esdbc.ReadStreamOptions{From: esdbc.Revision(1)}, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	last, err := rs.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if want := last.OriginalEvent().Position.Commit + 1; r.Position != want {
		t.Fatalf("append reported position %d, want commit position + 1 = %d", r.Position, want)
	}
	all, err := s.ReadAll(ctxFor(t), 0, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	var gaps int
	for i := 1; i < len(all); i++ {
		if all[i].Position > all[i-1].Position+1 {
			gaps++
		}
	}
	if gaps == 0 {
		t.Fatalf("positions of %d events are dense; the test server should make them sparse", len(all))
	}
}

// TestSystemEventsAreLeftOut arranges system events between user events and
// checks that ReadAll (across pages) and SubscribeAll skip them.
func TestSystemEventsAreLeftOut(t *testing.T) {
	url := esdbtest.Start(t)
	s := open(t, url)
	raw := rawClient(t, url)
	ctx := ctxFor(t)

	first := ev("First")
	r, err := s.Append(ctx, unique("user"), eventstore.Any(), first)
	if err != nil {
		t.Fatal(err)
	}
	before := r.Position
	for i := 0; i < 10; i++ {
		_, err := raw.AppendToStream(ctx, "$sys-test", esdbc.AppendToStreamOptions{}, esdbc.EventData{
			EventID: uuid.New(), EventType: "$sys", ContentType: esdbc.ContentTypeJson, Data: []byte(`{}`),
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	soft := unique("soft")
	if _, err := s.Append(ctx, soft, eventstore.NoStream(), ev("Soft")); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.DeleteStream(ctx, soft, esdbc.DeleteStreamOptions{}); err != nil { // writes $metadata to $$soft
		t.Fatal(err)
	}
	if err := s.Tombstone(ctx, unique("gone"), eventstore.Any()); err != nil { // writes $streamDeleted
		t.Fatal(err)
	}
	last := ev("Last")
	if _, err := s.Append(ctx, unique("user"), eventstore.Any(), last); err != nil {
		t.Fatal(err)
	}

	isSystem := func(e eventstore.Event) bool {
		return strings.HasPrefix(e.Stream, "$") || strings.HasPrefix(e.Type, "$")
	}
	t.Run("read_all_from_the_start", func(t *testing.T) {
		all, err := s.ReadAll(ctx, 0, 10_000)
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, e := range all {
			if isSystem(e) {
				t.Fatalf("system event %s/%s returned", e.Stream, e.Type)
			}
			types = append(types, e.Type)
		}
		if strings.Join(types, ",") != "First,Soft,Last" {
			t.Fatalf("read %v, want First,Soft,Last", types)
		}
	})
	t.Run("read_all_one_at_a_time_skips_pages_of_system_events", func(t *testing.T) {
		var got []string
		after := uint64(0)
		for {
			batch, err := s.ReadAll(ctx, after, 1)
			if err != nil {
				t.Fatal(err)
			}
			if len(batch) == 0 {
				break
			}
			if len(batch) != 1 || batch[0].Position <= after {
				t.Fatalf("read %d events after %d, want 1 after it", len(batch), after)
			}
			after = batch[0].Position
			got = append(got, batch[0].ID)
		}
		if len(got) != 3 || got[0] != first.ID || got[2] != last.ID {
			t.Fatalf("paged read returned %d events, want First, Soft, Last", len(got))
		}
	})
	t.Run("subscription_from_the_middle", func(t *testing.T) {
		sub, err := s.SubscribeAll(ctx, before)
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		var got []string
		for len(got) < 2 {
			batch, err := sub.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range batch {
				if isSystem(e) {
					t.Fatalf("system event %s/%s delivered", e.Stream, e.Type)
				}
				if e.Position <= before {
					t.Fatalf("event at %d delivered to a subscription after %d", e.Position, before)
				}
				got = append(got, e.Type)
			}
		}
		if strings.Join(got, ",") != "Soft,Last" {
			t.Fatalf("subscription delivered %v, want Soft,Last", got)
		}
	})
}

func TestSubscriptionEnds(t *testing.T) {
	url := esdbtest.Start(t)
	cases := []struct {
		name    string
		end     func(s *esdb.Store, cancel context.CancelFunc)
		wantCtx bool // the error also wraps context.Canceled
	}{
		{"when_the_store_closes", func(s *esdb.Store, _ context.CancelFunc) { s.Close() }, false},
		{"when_its_context_ends", func(_ *esdb.Store, cancel context.CancelFunc) { cancel() }, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := open(t, url)
			subCtx, cancel := context.WithCancel(context.Background())
			defer cancel()
			sub, err := s.SubscribeAll(subCtx, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			done := make(chan error, 1)
			go func() {
				for {
					if _, err := sub.Next(context.Background()); err != nil {
						done <- err
						return
					}
				}
			}()
			c.end(s, cancel)
			select {
			case err := <-done:
				if !errors.Is(err, eventstore.ErrClosed) {
					t.Fatalf("next: %v, want ErrClosed", err)
				}
				if c.wantCtx && !errors.Is(err, context.Canceled) {
					t.Fatalf("next: %v, want it to wrap context.Canceled", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("next did not return")
			}
		})
	}
}

// TestSubscriptionReportsAServerThatWentAway stops the server under a live
// subscription: Next must fail with the drop, not hang or report a close.
func TestSubscriptionReportsAServerThatWentAway(t *testing.T) {
	var s *esdb.Store
	var sub eventstore.Subscription
	var delivered int
	t.Run("arrange", func(t *testing.T) {
		// The server stops when this subtest ends.
		url := esdbtest.Start(t)
		var err error
		s, err = esdb.Open(ctxFor(t), url)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Append(ctxFor(t), unique("before"), eventstore.Any(), ev("Before")); err != nil {
			t.Fatal(err)
		}
		if sub, err = s.SubscribeAll(context.Background(), 0); err != nil {
			t.Fatal(err)
		}
		// The stored event is read while the server is up: delivery is
		// asynchronous, and a server stopped first would race it.
		batch, err := sub.Next(ctxFor(t))
		if err != nil {
			t.Fatal(err)
		}
		delivered += len(batch)
	})
	if s == nil || sub == nil {
		t.Fatal("arrange failed")
	}
	defer s.Close()
	defer sub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		batch, err := sub.Next(ctx)
		if err == nil {
			delivered += len(batch)
			continue
		}
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, eventstore.ErrClosed) {
			t.Fatalf("next: %v, want the dropped subscription's error", err)
		}
		break
	}
	if delivered != 1 {
		t.Fatalf("delivered %d events before the drop, want the 1 stored", delivered)
	}
}

func TestCallsAfterCloseFail(t *testing.T) {
	s := open(t, esdbtest.Start(t))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t)
	cases := []struct {
		name string
		call func() error
	}{
		{"append", func() error { _, err := s.Append(ctx, "x", eventstore.Any(), ev("X")); return err }},
		{"read_stream", func() error { _, err := s.ReadStream(ctx, "x", 0, 1); return err }},
		{"read_all", func() error { _, err := s.ReadAll(ctx, 0, 1); return err }},
		{"subscribe_all", func() error { _, err := s.SubscribeAll(ctx, 0); return err }},
		{"tombstone", func() error { return s.Tombstone(ctx, "x", eventstore.Any()) }},
		{"close_again_is_fine", func() error {
			if err := s.Close(); err != nil {
				return err
			}
			return eventstore.ErrClosed
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(); !errors.Is(err, eventstore.ErrClosed) {
				t.Fatalf("err = %v, want ErrClosed", err)
			}
		})
	}
}

func TestBadReadArgumentsAreRefused(t *testing.T) {
	s := open(t, esdbtest.Start(t))
	ctx := ctxFor(t)
	cases := []struct {
		name string
		call func() error
	}{
		{"read_stream_without_name", func() error { _, err := s.ReadStream(ctx, "", 0, 1); return err }},
		{"read_stream_from_negative_version", func() error { _, err := s.ReadStream(ctx, "x", -1, 1); return err }},
		{"read_stream_max_zero", func() error { _, err := s.ReadStream(ctx, "x", 0, 0); return err }},
		{"read_all_max_zero", func() error { _, err := s.ReadAll(ctx, 0, 0); return err }},
		{"tombstone_without_name", func() error { return s.Tombstone(ctx, "", eventstore.Any()) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(); !errors.Is(err, eventstore.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestTombstoneErrors(t *testing.T) {
	s := open(t, esdbtest.Start(t))
	ctx := ctxFor(t)
	cases := []struct {
		name     string
		existing int
		first    *eventstore.ExpectedVersion // a tombstone before the tried one
		expected eventstore.ExpectedVersion
		want     error
	}{
		{"stream_exists_on_missing_stream_conflicts", 0, nil, eventstore.StreamExists(), eventstore.ErrConflict},
		{"no_stream_on_existing_stream_conflicts", 1, nil, eventstore.NoStream(), eventstore.ErrConflict},
		{"exact_future_version_conflicts", 2, nil, eventstore.Exact(5), eventstore.ErrConflict},
		{"no_stream_on_missing_stream_succeeds", 0, nil, eventstore.NoStream(), nil},
		{"twice_is_stream_deleted", 1, ptr(eventstore.Any()), eventstore.Any(), eventstore.ErrStreamDeleted},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stream := unique("tomb")
			for i := 0; i < c.existing; i++ {
				if _, err := s.Append(ctx, stream, eventstore.Any(), ev("E")); err != nil {
					t.Fatal(err)
				}
			}
			if c.first != nil {
				if err := s.Tombstone(ctx, stream, *c.first); err != nil {
					t.Fatal(err)
				}
			}
			err := s.Tombstone(ctx, stream, c.expected)
			if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("tombstone: %v, want %v", err, c.want)
			}
			if c.want == eventstore.ErrConflict {
				got, err := s.ReadStream(ctx, stream, 0, 10)
				if err != nil || len(got) != c.existing {
					t.Fatalf("a refused tombstone changed the stream: %d events, err %v", len(got), err)
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// Example-style check that errors name what failed.
func TestConflictErrorNamesTheStream(t *testing.T) {
	s := open(t, esdbtest.Start(t))
	stream := unique("named")
	if _, err := s.Append(ctxFor(t), stream, eventstore.NoStream(), ev("A")); err != nil {
		t.Fatal(err)
	}
	_, err := s.Append(ctxFor(t), stream, eventstore.NoStream(), ev("B"))
	if !errors.Is(err, eventstore.ErrConflict) || !strings.Contains(err.Error(), fmt.Sprintf("%q", stream)) {
		t.Fatalf("err = %v, want ErrConflict naming %q", err, stream)
	}
}
