package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/term"

	"github.com/aseptsoft/subledger/eventstore/embedded"
	"github.com/aseptsoft/subledger/eventstore/keyring"
)

// A backup directory holds the copied files under the names they have in a
// data directory, and MANIFEST.json, written last: its presence marks a
// complete backup, and it lists every file with its size and SHA-256.
const (
	manifestFile   = "MANIFEST.json"
	backupFormat   = "subledger-backup-1"
	backupLogPath  = "events/" + embedded.LogFile
	backupRingPath = "keyring/" + keyring.SlotFile
	backupSignPath = "license-signing.key"
)

// Errors of backup and restore.
var (
	errBackupTarget     = errors.New("backup: --to must name a new or empty directory")
	errBackupStore      = errors.New("backup: only the embedded store is backed up by subledger; back up a KurrentDB/EventStoreDB cluster with its own tools")
	errBackupIncomplete = errors.New("restore: the backup is incomplete")
	errBackupCorrupt    = errors.New("restore: the backup is corrupt")
)

// manifest describes a backup.
type manifest struct {
	Format    string           `json:"format"`
	CreatedAt time.Time        `json:"created_at"`
	Log       embedded.LogCopy `json:"log"`
	Keyring   keyring.RingCopy `json:"keyring"`
	Files     []manifestEntry  `json:"files"`
}

type manifestEntry struct {
	Path   string `json:"path"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// backup copies the data directory's event log (up to a commit boundary)
// and then its key ring into a new directory while serve may be running,
// with the license-signing key when it lies in the data directory; never the
// master key. See the README's "Backups and erasure".
func backup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := config{}
	fl := newFlagSet("backup", stderr)
	fl.StringVar(&cfg.DataDir, "data-dir", "./data", "the data directory to back up (serve may be running on it)")
	fl.StringVar(&cfg.Store, "store", "embedded", "the store; only embedded is backed up")
	fl.StringVar(&cfg.LicenseKeyFile, "license-key-file", "", "the license-signing key, copied when it is inside the data directory (default <data-dir>/license-signing.key)")
	to := fl.String("to", "", "the backup directory to make (new or empty)")
	if err := parseWithEnv(fl, args, os.Getenv); err != nil {
		return err
	}
	if storeKind(cfg.Store) != "embedded" {
		return errBackupStore
	}
	if *to == "" {
		return fmt.Errorf("%w (give --to DIR)", errBackupTarget)
	}
	if inside(*to, cfg.DataDir) {
		return fmt.Errorf("%w outside the data directory", errBackupTarget)
	}
	if ents, err := os.ReadDir(*to); err == nil && len(ents) > 0 {
		return fmt.Errorf("%w: %s is not empty", errBackupTarget, *to)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("backup: %w", err)
	}
	for _, p := range []string{filepath.Join(cfg.DataDir, "events", embedded.LogFile), filepath.Join(cfg.DataDir, "keyring", keyring.SlotFile)} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("backup: %s holds no store: %w", cfg.DataDir, err)
		}
	}
	start := time.Now()
	progress := newProgress(stderr)
	m := manifest{Format: backupFormat, CreatedAt: start.UTC()}
	for _, d := range []string{*to, filepath.Join(*to, "events"), filepath.Join(*to, "keyring")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
	}
	// The log first, then the ring: every key an event of the copied log
	// uses was made before that event was appended, so the ring's copy
	// holds it.
	entry, err := writeBackupFile(*to, backupLogPath, func(w io.Writer) error {
		var err error
		m.Log, err = embedded.CopyLog(ctx, filepath.Join(cfg.DataDir, "events"), w, embedded.CopyConfig{
			Progress: func(done, size int64) {
				progress("events log: %s copied (the file is %s with preallocated space)", mib(done), mib(size))
			},
		})
		return err
	})
	if err != nil {
		return err
	}
	m.Files = append(m.Files, entry)
	progress("key ring")
	entry, err = writeBackupFile(*to, backupRingPath, func(w io.Writer) error {
		var err error
		m.Keyring, err = keyring.CopyFileRing(ctx, filepath.Join(cfg.DataDir, "keyring"), w)
		return err
	})
	if err != nil {
		return err
	}
	m.Files = append(m.Files, entry)
	if sign := cfg.licenseKeyFile(); inside(sign, cfg.DataDir) {
		b, err := os.ReadFile(sign)
		if err == nil {
			entry, err = writeBackupFile(*to, backupSignPath, func(w io.Writer) error { _, err := w.Write(b); return err })
			if err != nil {
				return err
			}
			m.Files = append(m.Files, entry)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("backup: %w", err)
		}
	}
	// The manifest last, atomically: a backup without it is incomplete.
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := writeSynced(filepath.Join(*to, manifestFile+".tmp"), append(mb, '\n')); err != nil {
		return err
	}
	if err := os.Rename(filepath.Join(*to, manifestFile+".tmp"), filepath.Join(*to, manifestFile)); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	for _, d := range []string{filepath.Join(*to, "events"), filepath.Join(*to, "keyring"), *to, filepath.Dir(filepath.Clean(*to))} {
		if err := syncDir(d); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
	}
	progress("")
	fmt.Fprintf(stdout, "backup in %s: %d events up to position %d (%s), %d keys and %d erased subjects in the key ring, in %.1f s; the master key is not in it: keep it apart\n",
		*to, m.Log.Events, m.Log.LastPosition, mib(m.Log.Bytes), m.Keyring.Live, m.Keyring.Forgotten, time.Since(start).Seconds())
	return nil
}

// writeBackupFile makes dir/rel with what fill writes, synced, and returns
// its manifest entry.
func writeBackupFile(dir, rel string, fill func(io.Writer) error) (manifestEntry, error) {
	path := filepath.Join(dir, filepath.FromSlash(rel))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return manifestEntry{}, fmt.Errorf("backup: %w", err)
	}
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, h)}
	if err := fill(cw); err != nil {
		f.Close()
		return manifestEntry{}, fmt.Errorf("backup: %s: %w", rel, err)
	}
	if err := errors.Join(f.Sync(), f.Close()); err != nil {
		return manifestEntry{}, fmt.Errorf("backup: %s: %w", rel, err)
	}
	return manifestEntry{Path: rel, Bytes: cw.n, SHA256: hexSum(h)}, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

func writeSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, werr := f.Write(b)
	return errors.Join(werr, f.Sync(), f.Close())
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// newProgress returns a function that shows one line of progress on stderr
// when it is a terminal (overwritten in place; "" clears it), and does
// nothing otherwise.
func newProgress(stderr io.Writer) func(format string, args ...any) {
	f, ok := stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return func(string, ...any) {}
	}
	return func(format string, args ...any) {
		if format == "" {
			fmt.Fprint(f, "\r\033[K")
			return
		}
		fmt.Fprintf(f, "\r\033[Kbackup: "+format, args...)
	}
}
