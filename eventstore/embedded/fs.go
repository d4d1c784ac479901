package embedded

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// fileSystem is everything the store asks of the file system: every write,
// sync, preallocation, truncation and lock goes through it. The store uses
// the OS (osFS); the power-loss test gives it a strict in-memory one that
// keeps its own account of what was made durable.
type fileSystem interface {
	// MkdirAll creates dir and any missing parents, and returns the
	// directories it created, so that the store can sync their parents.
	MkdirAll(dir string) (created []string, err error)
	// OpenFile opens name for reading and writing (0600), creating it when
	// create is set. A created file's name is durable only after SyncDir of
	// its directory.
	OpenFile(name string, create bool) (file, error)
	// SyncDir makes the names in dir durable (fsync of the directory).
	SyncDir(dir string) error
}

// file is an open file of a fileSystem.
type file interface {
	ReadAt(p []byte, off int64) (int, error)
	WriteAt(p []byte, off int64) (int, error)
	Size() (int64, error)
	Truncate(size int64) error
	// Fdatasync makes the file's data and size durable.
	Fdatasync() error
	// Fallocate reserves [off, off+n), growing the file with zeros.
	Fallocate(off, n int64) error
	// Lock takes an exclusive lock without waiting (flock).
	Lock() error
	Close() error
}

// osFS is the real file system.
type osFS struct{}

func (osFS) MkdirAll(dir string) ([]string, error) {
	var missing []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); !errors.Is(err, fs.ErrNotExist) {
			break
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return missing, nil
}

func (osFS) OpenFile(name string, create bool) (file, error) {
	flag := os.O_RDWR
	if create {
		flag |= os.O_CREATE
	}
	f, err := os.OpenFile(name, flag, 0o600)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

func (osFS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// osFile is an *os.File with the system calls the store needs.
type osFile struct{ *os.File }

func (f osFile) Size() (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

func (f osFile) Fdatasync() error { return unix.Fdatasync(int(f.Fd())) }

func (f osFile) Fallocate(off, n int64) error { return unix.Fallocate(int(f.Fd()), 0, off, n) }

func (f osFile) Lock() error { return unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) }
