package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aseptsoft/subledger/eventstore"
	"github.com/aseptsoft/subledger/eventstore/esdb"
	"github.com/aseptsoft/subledger/eventstore/esdb/esdbtest"
)

// TestServerProcess runs the command as main would, reads the connection
// string it prints, and appends and reads an event through the adapter.
func TestServerProcess(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	out, w := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"--addr", "127.0.0.1:0"}, w, io.Discard); w.Close() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the connection string: %v", err)
	}
	url := strings.TrimSpace(line)
	if !strings.HasPrefix(url, "esdb://127.0.0.1:") || !strings.HasSuffix(url, "?tls=false") {
		t.Fatalf("printed %q, want esdb://127.0.0.1:PORT?tls=false", url)
	}
	octx, ocancel := context.WithTimeout(ctx, 20*time.Second)
	defer ocancel()
	st, err := esdb.Open(octx, url)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if _, err := st.Append(octx, "s-1", eventstore.NoStream(), eventstore.EventData{ID: uuid.NewString(), Type: "t", Data: []byte(`{"a":1}`), Metadata: []byte(`{}`)}); err != nil {
		t.Fatalf("append: %v", err)
	}
	evs, err := st.ReadStream(octx, "s-1", 0, 10)
	if err != nil || len(evs) != 1 || string(evs[0].Data) != `{"a":1}` {
		t.Fatalf("read back %v, %v; want the one event", evs, err)
	}
	st.Close()
	cancel()
	go io.Copy(io.Discard, out)
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}

func TestListenAddress(t *testing.T) {
	cases := []struct {
		name, addr string
		want       error
	}{
		{"loopback_served", "127.0.0.1:0", nil},
		{"any_address_refused", "0.0.0.0:0", esdbtest.ErrNotLoopback},
		{"hostname_refused", "localhost:0", esdbtest.ErrNotLoopback},
		{"ipv6_refused", "[::]:0", esdbtest.ErrNotLoopback},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, err := esdbtest.Listen(c.addr)
			if err == nil {
				srv.Close()
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("Listen(%q) = %v, want %v", c.addr, err, c.want)
			}
		})
	}
}
