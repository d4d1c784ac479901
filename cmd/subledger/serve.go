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
	"path/filepath"
	"strings"
	"time"

	"github.com/aseptsoft/subledger/api"
	"github.com/aseptsoft/subledger/eventstore"
	"github.com/aseptsoft/subledger/eventstore/embedded"
	"github.com/aseptsoft/subledger/eventstore/esdb"
	"github.com/aseptsoft/subledger/eventstore/keyring"
)

// serveConfig is the server's configuration; defaults work for a developer
// on one machine.
type serveConfig struct {
	Addr          string
	DataDir       string
	Store         string
	MasterKeyFile string

	// noCreate forbids making a master key and key ring (offline tools).
	noCreate bool
}

func (c *serveConfig) flags(fs interface {
	StringVar(p *string, name, value, usage string)
}) {
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "listen address")
	fs.StringVar(&c.DataDir, "data-dir", "./data", "the embedded store and key ring")
	fs.StringVar(&c.Store, "store", "embedded", "embedded, or an esdb:// / kurrentdb:// connection string")
	fs.StringVar(&c.MasterKeyFile, "master-key-file", "", "32 random bytes, base64, wrapping every data key (default <data-dir>/master.key, created 0600 on first start)")
}

func (c *serveConfig) masterKeyFile() string {
	if c.MasterKeyFile != "" {
		return c.MasterKeyFile
	}
	return filepath.Join(c.DataDir, "master.key")
}

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	cfg := serveConfig{}
	fs := newFlagSet("serve", stderr)
	cfg.flags(fs)
	if err := parseWithEnv(fs, args, os.Getenv); err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(stderr, nil))

	store, ring, err := openStorage(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer store.Close()
	defer ring.Close()

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

// openStorage opens the event store and the key ring that belongs with it:
// the embedded store with the slot-file ring in the data directory, or a
// KurrentDB/EventStoreDB store with the ring kept in its streams, where
// every replica reaches it.
func openStorage(ctx context.Context, cfg serveConfig, logger *slog.Logger) (eventstore.Store, keyring.Ring, error) {
	var (
		store eventstore.Store
		err   error
	)
	switch storeKind(cfg.Store) {
	case "embedded":
		store, err = embedded.Open(filepath.Join(cfg.DataDir, "events"), embedded.Config{Logger: logger})
	case "esdb", "esdb+discover", "kurrentdb", "kurrentdb+discover", "kdb", "kdb+discover":
		store, err = esdb.Open(ctx, cfg.Store)
	default:
		err = fmt.Errorf("--store: unsupported store %q (use embedded, esdb:// or kurrentdb://)", storeKind(cfg.Store))
	}
	if err != nil {
		return nil, nil, err
	}
	ring, err := openRing(ctx, cfg, store, logger)
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return store, ring, nil
}

func openRing(ctx context.Context, cfg serveConfig, store eventstore.Store, logger *slog.Logger) (keyring.Ring, error) {
	embeddedRing := storeKind(cfg.Store) == "embedded"
	ringDir := filepath.Join(cfg.DataDir, "keyring")
	var exists bool
	var err error
	if embeddedRing {
		exists, err = keyring.FileRingExists(ringDir)
	} else {
		exists, err = keyring.StoreRingExists(ctx, store)
	}
	if err != nil {
		return nil, err
	}
	// A new master key is made only for a new deployment: no key ring and no
	// events. Over existing data a missing key file is an error.
	someEvents, err := store.ReadAll(ctx, 0, 1)
	if err != nil {
		return nil, err
	}
	path := cfg.masterKeyFile()
	master, created, err := keyring.LoadOrCreateMasterKey(path, !cfg.noCreate && !exists && len(someEvents) == 0, nil)
	if err != nil {
		return nil, err
	}
	if created {
		logger.Warn("created a new master key; keep it safe and back it up apart from the data: without it no personal data can be read", "file", path)
	}
	if embeddedRing {
		return keyring.OpenFileRing(ctx, ringDir, master, store, keyring.Config{})
	}
	return keyring.OpenStoreRing(ctx, store, master, keyring.Config{})
}
