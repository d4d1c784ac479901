package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/eventstore"
	"github.com/aseptsoft/subledger/eventstore/codec"
	"github.com/aseptsoft/subledger/eventstore/embedded"
	"github.com/aseptsoft/subledger/eventstore/esdb"
	"github.com/aseptsoft/subledger/eventstore/keyring"
	"github.com/aseptsoft/subledger/eventstore/repository"
)

// config is the configuration shared by serve and the operator's commands;
// defaults work for a developer on one machine.
type config struct {
	Addr           string
	DataDir        string
	Store          string
	MasterKeyFile  string
	LicenseKeyFile string
	ErasureGrace   time.Duration
	CommissionHold time.Duration
	JobsInterval   time.Duration
	// ErasureFence is the erasure fence file (--erasure-fence), outside
	// the data directory; none when empty.
	ErasureFence string

	// fence, when set, is told of every erasure before the ring records it.
	fence *keyring.FenceFile
	// noCreate forbids making a master key and key ring (offline tools).
	noCreate bool
	// now is the clock; time.Now when nil (tests set it).
	now func() time.Time
}

type flagSetter interface {
	StringVar(p *string, name, value, usage string)
	DurationVar(p *time.Duration, name string, value time.Duration, usage string)
}

func (c *config) storageFlags(fs flagSetter) {
	fs.StringVar(&c.DataDir, "data-dir", "./data", "the embedded store and key ring")
	fs.StringVar(&c.Store, "store", "embedded", "embedded, or an esdb:// / kurrentdb:// connection string")
	fs.StringVar(&c.MasterKeyFile, "master-key-file", "", "32 random bytes, base64, wrapping every data key (default <data-dir>/master.key, created 0600 on first start)")
}

func (c *config) serveFlags(fs flagSetter) {
	c.storageFlags(fs)
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "listen address")
	fs.StringVar(&c.LicenseKeyFile, "license-key-file", "", "Ed25519 license-signing key (default <data-dir>/license-signing.key, created 0600 on first start)")
	fs.DurationVar(&c.ErasureGrace, "erasure-grace", 720*time.Hour, "wait between the end of the last paid subscription and erasure")
	fs.DurationVar(&c.CommissionHold, "commission-hold", 720*time.Hour, "wait before a commission is approved")
	fs.DurationVar(&c.JobsInterval, "jobs-interval", time.Minute, "how often due erasures and commission approvals are carried out")
	c.fenceFlag(fs)
}

func (c *config) fenceFlag(fs flagSetter) {
	fs.StringVar(&c.ErasureFence, "erasure-fence", "", "file outside the data directory that every erasure is also appended and fsynced to (subject ids, times, key fingerprints), re-applied at start so that a restored backup cannot bring an erased person back")
}

// commissionHold returns --commission-hold for the domain's and the
// projector's Config, where 0 takes their default of 720 h and a negative
// value means none: a hold of 0 asked for here means none.
func (c *config) commissionHold() time.Duration {
	if c.CommissionHold == 0 {
		return -1
	}
	return c.CommissionHold
}

func (c *config) masterKeyFile() string {
	if c.MasterKeyFile != "" {
		return c.MasterKeyFile
	}
	return filepath.Join(c.DataDir, "master.key")
}

func (c *config) licenseKeyFile() string {
	if c.LicenseKeyFile != "" {
		return c.LicenseKeyFile
	}
	return filepath.Join(c.DataDir, "license-signing.key")
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

// inside reports whether path lies in dir (both made absolute).
func inside(path, dir string) bool {
	p, err1 := filepath.Abs(path)
	d, err2 := filepath.Abs(dir)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(d, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// stack is the storage every subcommand stands on: the event store, the key
// ring that belongs with it, and the repository that encodes domain events
// through the codec.
type stack struct {
	store  eventstore.Store
	ring   keyring.Ring
	master keyring.MasterKey
	repo   *repository.Repository
	// fresh is true for a new deployment: no key ring and no event before
	// this start.
	fresh bool
}

// openStack opens the event store and its key ring: the embedded store with
// the slot-file ring in the data directory, or a KurrentDB/EventStoreDB
// store with the ring kept in its streams, where every replica reaches it.
func openStack(ctx context.Context, cfg config, logger *slog.Logger) (*stack, error) {
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
		return nil, err
	}
	s := &stack{store: store}
	if err := s.openRing(ctx, cfg, logger); err != nil {
		store.Close()
		return nil, err
	}
	reg, err := repository.NewRegistry()
	if err != nil {
		s.Close()
		return nil, err
	}
	s.repo = repository.New(store, codec.New(reg, s.ring, codec.Config{}))
	return s, nil
}

func (s *stack) openRing(ctx context.Context, cfg config, logger *slog.Logger) error {
	embeddedRing := storeKind(cfg.Store) == "embedded"
	ringDir := filepath.Join(cfg.DataDir, "keyring")
	var exists bool
	var err error
	if embeddedRing {
		exists, err = keyring.FileRingExists(ringDir)
	} else {
		exists, err = keyring.StoreRingExists(ctx, s.store)
	}
	if err != nil {
		return err
	}
	// A new master key is made only for a new deployment: no key ring and no
	// events. Over existing data a missing key file is an error.
	someEvents, err := s.store.ReadAll(ctx, 0, 1)
	if err != nil {
		return err
	}
	s.fresh = !exists && len(someEvents) == 0
	if !exists && !s.fresh {
		where := ringDir
		if !embeddedRing {
			where = "the store's key-ring streams"
		}
		return fmt.Errorf("the key ring (%s) is missing while the event store holds events: restore it from a backup; a new key ring could read none of the personal data", where)
	}
	path := cfg.masterKeyFile()
	var created bool
	s.master, created, err = keyring.LoadOrCreateMasterKey(path, !cfg.noCreate && s.fresh, nil)
	if err != nil {
		return err
	}
	if created {
		logger.Warn("created a new master key; keep it safe and back it up apart from the data: without it no personal data can be read", "file", path)
	}
	if inside(path, cfg.DataDir) {
		logger.Warn("the master key file is inside the data directory: every copy of the directory (a backup, a disk image) can then read every personal datum not yet erased; in production keep it elsewhere (--master-key-file)", "file", path)
	}
	var rcfg keyring.Config
	if cfg.fence != nil {
		rcfg.Fence = cfg.fence
	}
	if embeddedRing {
		s.ring, err = keyring.OpenFileRing(ctx, ringDir, s.master, s.store, rcfg)
	} else {
		s.ring, err = keyring.OpenStoreRing(ctx, s.store, s.master, rcfg)
	}
	return err
}

// service returns the domain service on this stack.
func (s *stack) service(cfg config, signing ed25519.PrivateKey, passwords domain.Argon2id) (*domain.Service, error) {
	return s.serviceOn(s.repo, cfg, signing, passwords)
}

// serviceOn returns the domain service writing through store (the
// repository, or a wrapper of it).
func (s *stack) serviceOn(store domain.Store, cfg config, signing ed25519.PrivateKey, passwords domain.Argon2id) (*domain.Service, error) {
	return domain.NewService(domain.Config{
		Store: store,
		// The server secret (keyed ids and digests: e-mail reservations,
		// Stripe ids) is derived from the master key, so that a deployment
		// has one secret to keep and every replica agrees on it.
		Secret:            s.master.Derive("server-secret"),
		LicenseSigningKey: signing,
		Passwords:         passwords,
		ErasureGrace:      cfg.ErasureGrace,
		CommissionHold:    cfg.commissionHold(),
		Now:               cfg.now,
		Pseudonyms:        repository.Pseudonyms{Ring: s.ring},
	})
}

// Close closes the key ring, then the store.
func (s *stack) Close() error {
	var err error
	if s.ring != nil {
		err = s.ring.Close()
	}
	return errors.Join(err, s.store.Close())
}
