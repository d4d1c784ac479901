package esdbtest_test

import (
	"context"
	"errors"
	"io"
	"net/url"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/aseptsoft/subledger/eventstore/esdb/esdbtest"
)

// client starts a server and returns the plain v4 client on it.
func client(t *testing.T) *esdb.Client {
	t.Helper()
	conf, err := esdb.ParseConnectionString(esdbtest.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	conf.Logger = esdb.NoopLogging()
	c, err := esdb.NewClient(conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func event(typ string) esdb.EventData {
	return esdb.EventData{EventID: uuid.New(), EventType: typ, ContentType: esdb.ContentTypeJson, Data: []byte(`{"a":1}`), Metadata: []byte(`{"m":2}`)}
}

func code(err error) (esdb.ErrorCode, bool) {
	var e *esdb.Error
	if errors.As(err, &e) {
		return e.Code(), true
	}
	return 0, false
}

// readStream reads a whole stream forwards, returning the error that ended it.
func readStream(t *testing.T, c *esdb.Client, stream string) ([]*esdb.RecordedEvent, error) {
	t.Helper()
	rs, err := c.ReadStream(ctxFor(t), stream, esdb.ReadStreamOptions{}, 1000)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []*esdb.RecordedEvent
	for {
		e, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, e.OriginalEvent())
	}
}

func readAll(t *testing.T, c *esdb.Client, opts esdb.ReadAllOptions, n uint64) []*esdb.RecordedEvent {
	t.Helper()
	rs, err := c.ReadAll(ctxFor(t), opts, n)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out []*esdb.RecordedEvent
	for {
		e, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e.OriginalEvent())
	}
}

func TestStartListensOnLoopbackOnly(t *testing.T) {
	u, err := url.Parse(esdbtest.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "esdb" || u.Hostname() != "127.0.0.1" || u.Port() == "" || u.Query().Get("tls") != "false" {
		t.Fatalf("connection string %s, want esdb://127.0.0.1:PORT?tls=false", u)
	}
}

func TestAppendChecksTheExpectedRevision(t *testing.T) {
	c := client(t)
	cases := []struct {
		name     string
		existing int
		expected esdb.ExpectedRevision
		wrong    bool
	}{
		{"any_on_missing_stream_appends", 0, esdb.Any{}, false},
		{"no_stream_on_missing_stream_appends", 0, esdb.NoStream{}, false},
		{"no_stream_on_existing_stream_is_wrong", 2, esdb.NoStream{}, true},
		{"stream_exists_on_missing_stream_is_wrong", 0, esdb.StreamExists{}, true},
		{"stream_exists_on_existing_stream_appends", 1, esdb.StreamExists{}, false},
		{"current_revision_appends", 3, esdb.Revision(2), false},
		{"stale_revision_is_wrong", 3, esdb.Revision(1), true},
		{"revision_on_missing_stream_is_wrong", 0, esdb.Revision(0), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stream := "s-" + uuid.NewString()
			for i := 0; i < tc.existing; i++ {
				if _, err := c.AppendToStream(ctxFor(t), stream, esdb.AppendToStreamOptions{}, event("Seed")); err != nil {
					t.Fatal(err)
				}
			}
			res, err := c.AppendToStream(ctxFor(t), stream, esdb.AppendToStreamOptions{ExpectedRevision: tc.expected}, event("Tried"), event("Tried"))
			if tc.wrong {
				if got, ok := code(err); !ok || got != esdb.ErrorCodeWrongExpectedVersion {
					t.Fatalf("err = %v, want a wrong expected version", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.NextExpectedVersion != uint64(tc.existing+1) {
				t.Fatalf("next expected version %d, want %d", res.NextExpectedVersion, tc.existing+1)
			}
			got, err := readStream(t, c, stream)
			if err != nil || len(got) != tc.existing+2 {
				t.Fatalf("stream holds %d events (err %v), want %d", len(got), err, tc.existing+2)
			}
			if res.CommitPosition != got[len(got)-1].Position.Commit {
				t.Fatalf("append reported commit position %d, the last event is at %d", res.CommitPosition, got[len(got)-1].Position.Commit)
			}
		})
	}
}

func TestAppendRefusesEventsWithoutType(t *testing.T) {
	c := client(t)
	_, err := c.AppendToStream(ctxFor(t), "untyped", esdb.AppendToStreamOptions{}, esdb.EventData{EventID: uuid.New()})
	if err == nil {
		t.Fatal("append of an event without a type succeeded")
	}
}

func TestEventsReadBackWithTheirSystemMetadata(t *testing.T) {
	c := client(t)
	in := event("Thing")
	if _, err := c.AppendToStream(ctxFor(t), "meta", esdb.AppendToStreamOptions{}, in); err != nil {
		t.Fatal(err)
	}
	got, err := readStream(t, c, "meta")
	if err != nil || len(got) != 1 {
		t.Fatalf("read %d events (err %v)", len(got), err)
	}
	e := got[0]
	if e.EventID != in.EventID || e.EventType != "Thing" || e.ContentType != "application/json" ||
		string(e.Data) != string(in.Data) || string(e.UserMetadata) != string(in.Metadata) || e.EventNumber != 0 {
		t.Fatalf("read back %+v, want %+v", e, in)
	}
	for _, k := range []string{"type", "content-type", "created"} {
		if e.SystemMetadata[k] == "" {
			t.Fatalf("system metadata lacks %q: %v", k, e.SystemMetadata)
		}
	}
	if d := time.Since(e.CreatedDate); d < 0 || d > time.Minute {
		t.Fatalf("created %v, want about now", e.CreatedDate)
	}
}

func TestReadOfMissingStreamIsNotFound(t *testing.T) {
	c := client(t)
	_, err := readStream(t, c, "never-written")
	if got, ok := code(err); !ok || got != esdb.ErrorCodeResourceNotFound {
		t.Fatalf("err = %v, want resource not found", err)
	}
}

// TestTombstonedStreamIsReportedDeleted checks that the client sees what a
// real server sends: its StreamDeleted error code, on every operation.
func TestTombstonedStreamIsReportedDeleted(t *testing.T) {
	c := client(t)
	if _, err := c.AppendToStream(ctxFor(t), "doomed", esdb.AppendToStreamOptions{}, event("E")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TombstoneStream(ctxFor(t), "doomed", esdb.TombstoneStreamOptions{ExpectedRevision: esdb.Revision(0)}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		call func() error
	}{
		{"read", func() error { _, err := readStream(t, c, "doomed"); return err }},
		{"append", func() error {
			_, err := c.AppendToStream(ctxFor(t), "doomed", esdb.AppendToStreamOptions{}, event("Late"))
			return err
		}},
		{"tombstone_again", func() error {
			_, err := c.TombstoneStream(ctxFor(t), "doomed", esdb.TombstoneStreamOptions{})
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got, ok := code(tc.call()); !ok || got != esdb.ErrorCodeStreamDeleted {
				t.Fatalf("got code %v, want stream deleted", got)
			}
		})
	}
	last := readAll(t, c, esdb.ReadAllOptions{Direction: esdb.Backwards, From: esdb.End{}}, 1)
	if len(last) != 1 || last[0].EventType != "$streamDeleted" || last[0].StreamID != "doomed" {
		t.Fatalf("$all does not end with the tombstone marker: %+v", last)
	}
}

func TestTombstoneWithWrongRevisionFailsAndKeepsTheStream(t *testing.T) {
	c := client(t)
	if _, err := c.AppendToStream(ctxFor(t), "kept", esdb.AppendToStreamOptions{}, event("E")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TombstoneStream(ctxFor(t), "kept", esdb.TombstoneStreamOptions{ExpectedRevision: esdb.Revision(7)}); err == nil {
		t.Fatal("tombstone with a wrong revision succeeded")
	}
	if got, err := readStream(t, c, "kept"); err != nil || len(got) != 1 {
		t.Fatalf("stream after a refused tombstone: %d events, err %v", len(got), err)
	}
}

func TestSoftDeleteHidesEventsAndAppendsContinue(t *testing.T) {
	c := client(t)
	if _, err := c.AppendToStream(ctxFor(t), "soft", esdb.AppendToStreamOptions{}, event("Old"), event("Old")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteStream(ctxFor(t), "soft", esdb.DeleteStreamOptions{ExpectedRevision: esdb.Revision(1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := readStream(t, c, "soft"); err == nil {
		t.Fatal("soft-deleted stream still readable")
	}
	res, err := c.AppendToStream(ctxFor(t), "soft", esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}, event("New"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := readStream(t, c, "soft")
	if err != nil || len(got) != 1 || got[0].EventType != "New" || got[0].EventNumber != 2 || res.NextExpectedVersion != 2 {
		t.Fatalf("after soft delete and append: %d events, err %v, next %d", len(got), err, res.NextExpectedVersion)
	}
}

func TestAllPositionsIncreaseSparselyAndReadBothWays(t *testing.T) {
	c := client(t)
	for i := 0; i < 5; i++ {
		if _, err := c.AppendToStream(ctxFor(t), "p", esdb.AppendToStreamOptions{}, event("P")); err != nil {
			t.Fatal(err)
		}
	}
	fwd := readAll(t, c, esdb.ReadAllOptions{}, 100)
	if len(fwd) != 6 || fwd[0].StreamID != "$settings" {
		t.Fatalf("$all holds %d events, want the system event and 5 more", len(fwd))
	}
	for i := 1; i < len(fwd); i++ {
		if fwd[i].Position.Commit <= fwd[i-1].Position.Commit+1 {
			t.Fatalf("positions %d then %d: want increasing with gaps", fwd[i-1].Position.Commit, fwd[i].Position.Commit)
		}
		if fwd[i].Position.Prepare != fwd[i].Position.Commit {
			t.Fatalf("prepare position %d differs from commit %d", fwd[i].Position.Prepare, fwd[i].Position.Commit)
		}
	}
	bwd := readAll(t, c, esdb.ReadAllOptions{Direction: esdb.Backwards, From: esdb.End{}}, 100)
	if len(bwd) != len(fwd) || bwd[0].EventID != fwd[len(fwd)-1].EventID {
		t.Fatalf("backwards read of %d events does not mirror the forwards one", len(bwd))
	}
	from := fwd[3].Position
	inclusive := readAll(t, c, esdb.ReadAllOptions{From: from}, 100)
	if len(inclusive) != 3 || inclusive[0].EventID != fwd[3].EventID {
		t.Fatalf("read from a position returned %d events, want 3 starting at it", len(inclusive))
	}
	before := readAll(t, c, esdb.ReadAllOptions{Direction: esdb.Backwards, From: from}, 100)
	if len(before) != 3 || before[0].EventID != fwd[2].EventID {
		t.Fatalf("backwards read from a position returned %d events, want the 3 before it", len(before))
	}
}

// TestSubscriptionSendsCatchUpThenLive follows a subscription to $all from a
// position: stored events after it (not it), a checkpoint, caught up, then
// a live event.
func TestSubscriptionSendsCatchUpThenLive(t *testing.T) {
	c := client(t)
	var stored []esdb.EventData
	for i := 0; i < 3; i++ {
		e := event("Stored")
		stored = append(stored, e)
		if _, err := c.AppendToStream(ctxFor(t), "sub", esdb.AppendToStreamOptions{}, e); err != nil {
			t.Fatal(err)
		}
	}
	all := readAll(t, c, esdb.ReadAllOptions{}, 100)
	start := all[len(all)-3].Position // the first stored event
	sub, err := c.SubscribeToAll(ctxFor(t), esdb.SubscribeToAllOptions{From: start})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	var seq []string
	var ids []uuid.UUID
	live := event("Live")
	for len(ids) < 3 {
		m := sub.Recv()
		switch {
		case m.SubscriptionDropped != nil:
			t.Fatalf("dropped: %v", m.SubscriptionDropped.Error)
		case m.EventAppeared != nil:
			seq = append(seq, "event")
			ids = append(ids, m.EventAppeared.OriginalEvent().EventID)
		case m.CheckPointReached != nil:
			seq = append(seq, "checkpoint")
		case m.CaughtUp != nil:
			seq = append(seq, "caught-up")
			if _, err := c.AppendToStream(ctxFor(t), "sub", esdb.AppendToStreamOptions{}, live); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := []string{"event", "event", "checkpoint", "caught-up", "event"}
	if len(seq) != len(want) {
		t.Fatalf("subscription sent %v, want %v", seq, want)
	}
	for i := range want {
		if seq[i] != want[i] {
			t.Fatalf("subscription sent %v, want %v", seq, want)
		}
	}
	if ids[0] != stored[1].EventID || ids[1] != stored[2].EventID || ids[2] != live.EventID {
		t.Fatalf("subscription delivered %v, want the 2 stored after the start then the live one", ids)
	}
}
