// Package embedded is the default event store: one append-only log file in a
// data directory, written by a single committer that groups every append
// pending at that moment into one write and one fdatasync (group commit).
// An append is acknowledged, and becomes visible to readers and
// subscribers, only after its commit is durable. Global positions are dense:
// 1, 2, 3, ...
//
// The index (the file offset of every global position and the versions of
// every stream) lives in memory and is rebuilt by scanning the log at Open,
// which also discards a torn commit at the end of the log, left by a crash
// before it was acknowledged. Damage anywhere before the last commit makes
// Open fail with an error that names the file and the offset.
//
// Every write, sync, preallocation, truncation and lock goes through a
// small file-system interface (fs.go): the OS in use, and in the power-loss
// test a strict in-memory file system that knows on its own what is durable.
//
// The files: store.go opens and closes the store, recover.go scans the log
// at Open, commit.go takes appends and commits them, read.go and
// subscribe.go serve readers, format.go is the record format, backup.go
// copies a consistent log.
package embedded

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"
)

// LogFile is the name of the log inside the data directory.
const LogFile = "events.log"

const (
	lockFile      = "events.lock"
	preallocChunk = 64 << 20
	// maxBatchBytes bounds one commit; appends beyond it wait for the next.
	maxBatchBytes = 8 << 20
	// maxEventBytes bounds one event's data and metadata together.
	maxEventBytes = 16 << 20
	readChunk     = 8192
)

// Config tunes the store. The zero value is ready to use.
type Config struct {
	// Now is the clock that stamps recorded times; time.Now by default.
	Now func() time.Time
	// Logger receives warnings (a discarded torn tail); slog.Default by default.
	Logger *slog.Logger
	// NoPrealloc turns off preallocation of the log file (for measuring).
	NoPrealloc bool

	// fs, in tests, replaces the OS file system (osFS).
	fs fileSystem
	// prealloc, in tests, replaces the preallocation step preallocChunk.
	prealloc int64
}

// Store is the embedded event store. It is safe for concurrent use.
type Store struct {
	cfg  Config
	path string
	file file
	lock file

	mu        sync.RWMutex
	offsets   []int64  // offsets[p-1]: where the record of position p starts
	lengths   []uint32 // lengths[p-1]: its size
	streamOf  []uint32 // streamOf[p-1]: its stream's number, or noStreamNumber
	streams   *streamTable
	committed uint64        // last durable position
	notify    chan struct{} // closed and replaced on every commit
	failed    error         // set when a write or sync failed: no more appends

	queue    chan *appendReq
	closing  chan struct{}
	done     chan struct{}
	closeMu  sync.Once
	end      int64 // committer only: where the next commit goes
	alloc    int64 // committer only: bytes preallocated
	batchBuf []byte

	scratch sync.Pool // *readScratch, for readLocs
}

// Open opens (creating when needed) the store in dir.
func Open(dir string, cfg Config) (*Store, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.fs == nil {
		cfg.fs = osFS{}
	}
	if cfg.prealloc <= 0 {
		cfg.prealloc = preallocChunk
	}
	created, err := cfg.fs.MkdirAll(dir)
	if err != nil {
		return nil, fmt.Errorf("embedded store: %w", err)
	}
	// A directory made here exists after a crash only once its parent is
	// synced.
	for _, d := range created {
		if err := cfg.fs.SyncDir(filepath.Dir(d)); err != nil {
			return nil, fmt.Errorf("embedded store: %w", err)
		}
	}
	lock, err := cfg.fs.OpenFile(filepath.Join(dir, lockFile), true)
	if err != nil {
		return nil, fmt.Errorf("embedded store: %w", err)
	}
	if err := lock.Lock(); err != nil {
		lock.Close()
		return nil, fmt.Errorf("embedded store: %s is in use by another process (is another subledger serve running on this data directory?): %w", dir, err)
	}
	path := filepath.Join(dir, LogFile)
	f, err := cfg.fs.OpenFile(path, true)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("embedded store: %w", err)
	}
	s := &Store{
		cfg:     cfg,
		path:    path,
		file:    f,
		lock:    lock,
		streams: newStreamTable(),
		notify:  make(chan struct{}),
		queue:   make(chan *appendReq, 1024),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
	if err := s.recover(); err != nil {
		f.Close()
		lock.Close()
		return nil, err
	}
	// The log's name is durable before any commit is acknowledged.
	if err := cfg.fs.SyncDir(dir); err != nil {
		f.Close()
		lock.Close()
		return nil, fmt.Errorf("embedded store: %w", err)
	}
	go s.commitLoop()
	return s, nil
}

// Position returns the last durable global position.
func (s *Store) Position() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.committed
}

// Close stops the committer after the commit in progress, answers queued
// appends with ErrClosed, and releases the files.
func (s *Store) Close() error {
	var err error
	s.closeMu.Do(func() {
		close(s.closing)
		<-s.done
		err = errors.Join(s.file.Close(), s.lock.Close())
	})
	return err
}
