package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"

	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/eventstore/keyring"
)

// Errors of restore.
var (
	errRestoreTarget = errors.New("restore: the data directory already holds a store; restore into a new or empty one (move the old one aside first)")
	errFenceRequired = errors.New("restore: give --erasure-fence FILE, the fence the deployment's serve appended its erasures to, so that people erased after the backup stay erased; or --no-fence to restore without one on purpose")
)

// restore checks a backup made by `subledger backup` and copies it into a
// new data directory, then re-applies the erasure fence. Nothing is written
// until every check passed: the manifest, every file's size and SHA-256, the
// fence's lines, the master key against the backed-up key ring, and an
// empty target.
func restore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := config{noCreate: true}
	fl := newFlagSet("restore", stderr)
	fl.StringVar(&cfg.DataDir, "data-dir", "", "the data directory to restore into (new or without a store)")
	fl.StringVar(&cfg.MasterKeyFile, "master-key-file", "", "the deployment's master key (default <data-dir>/master.key); a backup never holds it")
	fl.StringVar(&cfg.LicenseKeyFile, "license-key-file", "", "where the backed-up license-signing key goes (default <data-dir>/license-signing.key)")
	cfg.fenceFlag(fl)
	from := fl.String("from", "", "the backup directory")
	noFence := fl.Bool("no-fence", false, "restore without an erasure fence, on purpose: people erased after the backup was made come back")
	if err := parseWithEnv(fl, args, os.Getenv); err != nil {
		return err
	}
	if *from == "" || cfg.DataDir == "" {
		return errors.New("restore: give --from DIR and --data-dir D")
	}
	cfg.Store = "embedded"
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	m, err := verifyBackup(*from)
	if err != nil {
		return err
	}
	if cfg.ErasureFence == "" && !*noFence {
		if m.Keyring.Forgotten > 0 {
			return fmt.Errorf("%w (the backup's key ring already records %d erased subjects: this deployment erases people)", errFenceRequired, m.Keyring.Forgotten)
		}
		return errFenceRequired
	}
	if cfg.ErasureFence != "" && *noFence {
		return errors.New("restore: --erasure-fence and --no-fence exclude each other")
	}
	fence, err := openFence(cfg, logger)
	if err != nil {
		return err
	}
	if fence != nil {
		defer fence.Close()
		cfg.fence = fence
	}
	master, _, err := keyring.LoadOrCreateMasterKey(cfg.masterKeyFile(), false, nil)
	if err != nil {
		return fmt.Errorf("restore: %w (a backup holds no master key: give the deployment's --master-key-file)", err)
	}
	if err := keyring.CheckFileRingMaster(filepath.Join(*from, "keyring"), master); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	targets := map[string]string{
		backupLogPath:  filepath.Join(cfg.DataDir, "events", filepath.Base(backupLogPath)),
		backupRingPath: filepath.Join(cfg.DataDir, "keyring", filepath.Base(backupRingPath)),
		backupSignPath: cfg.licenseKeyFile(),
	}
	for _, p := range []string{targets[backupLogPath], targets[backupRingPath]} {
		if st, err := os.Stat(p); err == nil && st.Size() > 0 {
			return fmt.Errorf("%w: %s exists", errRestoreTarget, p)
		}
	}
	for _, e := range m.Files {
		if e.Path != backupSignPath {
			continue
		}
		have, err := os.ReadFile(targets[e.Path])
		if err == nil {
			backedUp, rerr := os.ReadFile(filepath.Join(*from, e.Path))
			if rerr != nil || !bytes.Equal(have, backedUp) {
				return fmt.Errorf("%w: %s exists and differs from the backed-up license-signing key", errRestoreTarget, targets[e.Path])
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("restore: %w", err)
		}
	}

	// Every check passed: write.
	for _, e := range m.Files {
		if err := restoreFile(filepath.Join(*from, filepath.FromSlash(e.Path)), targets[e.Path], e); err != nil {
			return err
		}
	}
	res := fenceResult{}
	if fence != nil {
		if res, err = reapplyOffline(ctx, cfg, fence, logger); err != nil {
			return fmt.Errorf("restore: the files are restored, but re-applying the erasure fence failed (serve with --erasure-fence re-applies it at start): %w", err)
		}
	} else {
		logger.Warn("restored without an erasure fence (--no-fence): people erased after the backup was made are readable again")
	}
	fmt.Fprintf(stdout, "restored %d events up to position %d into %s; erasure fence: %d subjects, %d forgotten again, %d accounts or affiliates erased again\n",
		m.Log.Events, m.Log.LastPosition, cfg.DataDir, res.Fenced, res.Reforgotten, res.Erased)
	return nil
}

// verifyBackup reads the manifest of the backup in dir and checks every file
// it lists: present, of its size and SHA-256. It writes nothing.
func verifyBackup(dir string) (manifest, error) {
	var m manifest
	b, err := os.ReadFile(filepath.Join(dir, manifestFile))
	if errors.Is(err, fs.ErrNotExist) {
		return m, fmt.Errorf("%w: %s has no %s (a backup writes it last, so this one was interrupted or is not a backup); nothing was written", errBackupIncomplete, dir, manifestFile)
	}
	if err != nil {
		return m, fmt.Errorf("restore: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil || m.Format != backupFormat {
		return m, fmt.Errorf("%w: %s does not read as a %s manifest; nothing was written", errBackupCorrupt, manifestFile, backupFormat)
	}
	var paths []string
	for _, e := range m.Files {
		paths = append(paths, e.Path)
	}
	for _, need := range []string{backupLogPath, backupRingPath} {
		if !slices.Contains(paths, need) {
			return m, fmt.Errorf("%w: the manifest lists no %s; nothing was written", errBackupCorrupt, need)
		}
	}
	for _, e := range m.Files {
		if !slices.Contains([]string{backupLogPath, backupRingPath, backupSignPath}, e.Path) {
			return m, fmt.Errorf("%w: the manifest lists an unknown file %q; nothing was written", errBackupCorrupt, e.Path)
		}
		sum, n, err := fileSum(filepath.Join(dir, filepath.FromSlash(e.Path)))
		if errors.Is(err, fs.ErrNotExist) {
			return m, fmt.Errorf("%w: %s is missing; nothing was written", errBackupIncomplete, e.Path)
		}
		if err != nil {
			return m, fmt.Errorf("restore: %w", err)
		}
		if n != e.Bytes || sum != e.SHA256 {
			return m, fmt.Errorf("%w: %s has %d bytes with SHA-256 %s, the manifest says %d bytes with %s; nothing was written", errBackupCorrupt, e.Path, n, sum, e.Bytes, e.SHA256)
		}
	}
	return m, nil
}

func fileSum(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hexSum(h), n, nil
}

// restoreFile copies from to to through a temporary name, checking the
// bytes against the manifest entry once more as they are copied, and syncs
// the file and its directory.
func restoreFile(from, to string, e manifestEntry) error {
	if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	src, err := os.Open(from)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer src.Close()
	tmp := to + ".restoring"
	dst, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(dst, h), src)
	if err == nil && (n != e.Bytes || hexSum(h) != e.SHA256) {
		err = fmt.Errorf("%w: %s changed while it was restored", errBackupCorrupt, e.Path)
	}
	if err = errors.Join(err, dst.Sync(), dst.Close()); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("restore: %w", err)
	}
	if err := os.Rename(tmp, to); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	return syncDir(filepath.Dir(to))
}

// reapplyOffline opens the restored data directory and applies the fence:
// the keys it names are forgotten again, and the accounts and affiliates
// erased again through the domain.
func reapplyOffline(ctx context.Context, cfg config, fence *keyring.FenceFile, logger *slog.Logger) (fenceResult, error) {
	st, err := openStack(ctx, cfg, logger)
	if err != nil {
		return fenceResult{}, err
	}
	defer st.Close()
	res, err := applyFence(ctx, fence, st)
	if err != nil {
		return res, err
	}
	signing, err := loadOrCreateSigningKey(cfg.licenseKeyFile(), false, logger)
	if err != nil {
		return res, err
	}
	svc, err := st.service(cfg, signing, domain.Argon2id{})
	if err != nil {
		return res, err
	}
	res.Erased, err = eraseFenced(ctx, fence, svc, st.ring)
	return res, err
}
