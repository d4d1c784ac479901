package keyring_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/aseptsoft/subledger/eventstore/embedded"
	"github.com/aseptsoft/subledger/eventstore/esdb"
	"github.com/aseptsoft/subledger/eventstore/esdb/esdbtest"
	"github.com/aseptsoft/subledger/eventstore/keyring"
	"github.com/aseptsoft/subledger/eventstore/keyring/keyringtest"
)

// openEmbedded opens a real embedded event store in a fresh temp directory.
func openEmbedded(t testing.TB, dir string) *embedded.Store {
	t.Helper()
	s, err := embedded.Open(dir, embedded.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestContract(t *testing.T) {
	keyringtest.Run(t, keyringtest.Backend{
		Name: "file",
		New: func(t *testing.T) keyringtest.Env {
			dir := t.TempDir()
			store := openEmbedded(t, filepath.Join(dir, "events"))
			return keyringtest.Env{
				Store: store,
				Open: func(t *testing.T, m keyring.MasterKey, cfg keyring.Config) (keyring.Ring, error) {
					return keyring.OpenFileRing(context.Background(), filepath.Join(dir, "keyring"), m, store, cfg)
				},
			}
		},
	})
	keyringtest.Run(t, keyringtest.Backend{
		Name: "store-embedded",
		New: func(t *testing.T) keyringtest.Env {
			store := openEmbedded(t, t.TempDir())
			return keyringtest.Env{
				Store:    store,
				Replicas: true,
				Open: func(t *testing.T, m keyring.MasterKey, cfg keyring.Config) (keyring.Ring, error) {
					return keyring.OpenStoreRing(context.Background(), store, m, cfg)
				},
			}
		},
	})
	keyringtest.Run(t, keyringtest.Backend{
		Name: "store-esdb",
		New: func(t *testing.T) keyringtest.Env {
			url := esdbtest.Start(t)
			return keyringtest.Env{
				Store:    openESDB(t, url),
				Replicas: true,
				// Every ring gets a client of its own, as a replica would.
				Open: func(t *testing.T, m keyring.MasterKey, cfg keyring.Config) (keyring.Ring, error) {
					return keyring.OpenStoreRing(context.Background(), openESDB(t, url), m, cfg)
				},
			}
		},
	})
}

// openESDB connects to the in-process KurrentDB test server at url.
func openESDB(t testing.TB, url string) *esdb.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := esdb.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
