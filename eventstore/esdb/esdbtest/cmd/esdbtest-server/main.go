// Command esdbtest-server runs the in-process KurrentDB/EventStoreDB test
// double of package esdbtest as a process of its own, so that end-to-end
// tests can point several `subledger serve --store esdb://...` replicas at
// one store. It is our test double, not KurrentDB: it keeps everything in
// memory, has no authentication, TLS or durability, and listens on
// 127.0.0.1 only. For tests only.
//
//	go run ./eventstore/esdb/esdbtest/cmd/esdbtest-server --addr 127.0.0.1:0
//
// It prints its connection string (esdb://127.0.0.1:PORT?tls=false) as the
// first line on stdout once it accepts connections, and runs until SIGINT or
// SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/aseptsoft/subledger/eventstore/esdb/esdbtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "esdbtest-server:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("esdbtest-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "listen address, on 127.0.0.1 only (port 0 picks a free one)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	srv, err := esdbtest.Listen(*addr)
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Fprintln(stdout, srv.URL())
	<-ctx.Done()
	return nil
}
