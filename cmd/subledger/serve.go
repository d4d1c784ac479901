package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aseptsoft/subledger/api"
	"github.com/aseptsoft/subledger/eventstore"
	"github.com/aseptsoft/subledger/eventstore/embedded"
	"github.com/aseptsoft/subledger/eventstore/esdb"
)

// serveConfig is the server's configuration; defaults work for a developer
// on one machine.
type serveConfig struct {
	Addr    string
	DataDir string
	Store   string
}

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	cfg := serveConfig{}
	fs := newFlagSet("serve", stderr)
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:8080", "listen address")
	fs.StringVar(&cfg.DataDir, "data-dir", "./data", "the embedded store and key ring")
	fs.StringVar(&cfg.Store, "store", "embedded", "embedded, or an esdb:// / kurrentdb:// connection string")
	if err := parseWithEnv(fs, args, os.Getenv); err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(stderr, nil))

	store, err := openStore(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer store.Close()

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: api.New(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("subledger serving", "addr", ln.Addr().String(), "store", storeKind(cfg.Store))

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("subledger stopping: draining requests in flight")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func storeKind(s string) string {
	if s == "embedded" || s == "" {
		return "embedded"
	}
	if i := strings.Index(s, "://"); i > 0 {
		return s[:i] // never log a connection string: it may hold credentials
	}
	return "unknown"
}

func openStore(ctx context.Context, cfg serveConfig, logger *slog.Logger) (eventstore.Store, error) {
	switch storeKind(cfg.Store) {
	case "embedded":
		return embedded.Open(cfg.DataDir, embedded.Config{Logger: logger})
	case "esdb", "esdb+discover", "kurrentdb", "kurrentdb+discover", "kdb", "kdb+discover":
		return esdb.Open(ctx, cfg.Store)
	default:
		return nil, fmt.Errorf("--store: unsupported store %q (use embedded, esdb:// or kurrentdb://)", storeKind(cfg.Store))
	}
}
