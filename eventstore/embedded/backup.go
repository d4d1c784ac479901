package embedded

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// LogCopy describes a copy of the log made by CopyLog.
type LogCopy struct {
	// Bytes is the size of the copy: whole commits, no preallocated space.
	Bytes int64 `json:"bytes"`
	// Commits and Events count what it holds; LastPosition is the global
	// position of its last event (0 for none).
	Commits      int64  `json:"commits"`
	Events       int64  `json:"events"`
	LastPosition uint64 `json:"last_position"`
}

// CopyConfig tunes CopyLog. The zero value is ready to use.
type CopyConfig struct {
	// Progress, when set, is called now and then with the bytes copied so
	// far and the log file's size (preallocated space included).
	Progress func(done, size int64)
	// Settle is how long CopyLog waits before reading a commit again that
	// does not check out; 20 ms when zero.
	Settle time.Duration
}

// CopyLog writes to w a consistent copy of the log in dir (the directory
// Open takes) up to a commit boundary, while a Store may be appending to it
// in another process: it reads without the lock, and the log only ever
// grows by whole commits written with one write each. The copy holds every
// commit acknowledged before CopyLog started, each checked (checksum,
// positions following each other, well-formed records), and stops at the
// first place that holds no complete commit yet: the preallocated zeros, or
// a commit being written. The first time it meets one it reads again after
// Settle, in case the commit was caught half-written, and goes on through
// what was completed meanwhile; the second time the copy ends, so that it
// never chases the writers. Damage that valid commits follow is a corrupt-log error,
// as for Open: a backup never silently cuts acknowledged data.
func CopyLog(ctx context.Context, dir string, w io.Writer, cfg CopyConfig) (LogCopy, error) {
	if cfg.Settle <= 0 {
		cfg.Settle = 20 * time.Millisecond
	}
	path := filepath.Join(dir, LogFile)
	f, err := os.Open(path)
	if err != nil {
		return LogCopy{}, fmt.Errorf("embedded store: %w", err)
	}
	defer f.Close()
	// A scratch store to reuse the index checks of recovery.
	s := &Store{path: path, file: osFile{f}, streams: newStreamTable()}
	var (
		out  LogCopy
		off  int64
		hdr  = make([]byte, headerSize)
		buf  []byte
		last time.Time
	)
	size := func() int64 {
		st, err := f.Stat()
		if err != nil {
			return 0
		}
		return st.Size()
	}
	r := bufio.NewReaderSize(io.NewSectionReader(f, 0, 1<<62), 1<<20)
	settled := false
	for {
		if ctx.Err() != nil {
			return LogCopy{}, ctx.Err()
		}
		if cfg.Progress != nil && time.Since(last) > 200*time.Millisecond {
			cfg.Progress(off, size())
			last = time.Now()
		}
		ok, h, err := readCommit(r, hdr, &buf)
		if err == nil && ok && h.count > 0 && h.firstPos != s.committed+1 {
			return LogCopy{}, &corruptError{path, off, fmt.Sprintf("commit starts at position %d, want %d", h.firstPos, s.committed+1)}
		}
		if err == nil && ok {
			before := s.committed
			if ierr := s.indexBatch(off, buf, h.count); ierr != nil {
				return LogCopy{}, &corruptError{path, off, ierr.Error()}
			}
			if _, err := w.Write(hdr); err != nil {
				return LogCopy{}, err
			}
			if _, err := w.Write(buf); err != nil {
				return LogCopy{}, err
			}
			// The index is not needed, only its checks: keep it small.
			s.offsets, s.lengths, s.streamOf = s.offsets[:0], s.lengths[:0], s.streamOf[:0]
			out.Commits++
			out.Events += int64(s.committed - before)
			off += headerSize + int64(len(buf))
			continue
		}
		if err != nil {
			return LogCopy{}, fmt.Errorf("embedded store: reading %s: %w", path, err)
		}
		// No complete commit at off (yet). The first time, it may be one
		// being written just now: read it again after Settle, and go on
		// through whatever was completed meanwhile. The second time, the
		// copy ends here, so that it never chases the writers; it must
		// not be damage that valid commits follow.
		if !settled {
			settled = true
			time.Sleep(cfg.Settle)
			r.Reset(io.NewSectionReader(f, off, 1<<62))
			continue
		}
		if next, found := s.findValidCommit(off+1, size()); found {
			// Commits appended after the one at off, which was being
			// written: once it reads whole, off is a commit boundary.
			time.Sleep(cfg.Settle)
			r.Reset(io.NewSectionReader(f, off, 1<<62))
			if ok2, _, err2 := readCommit(r, hdr, &buf); err2 != nil || !ok2 {
				return LogCopy{}, &corruptError{path, off, fmt.Sprintf("no valid commit here, and a valid one follows at byte %d", next)}
			}
		}
		break
	}
	out.Bytes = off
	out.LastPosition = s.committed
	if cfg.Progress != nil {
		cfg.Progress(off, size())
	}
	return out, nil
}

// readCommit reads the next commit from r into hdr and *buf. ok is false
// when what follows is not a complete, valid commit (zeros, a torn or
// corrupt commit, the end of the file).
func readCommit(r *bufio.Reader, hdr []byte, buf *[]byte) (ok bool, h header, err error) {
	if _, err := io.ReadFull(r, hdr); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return false, h, nil
		}
		return false, h, err
	}
	h, zero, herr := parseHeader(hdr)
	if zero || herr != nil || h.payloadLen > 4*maxBatchBytes {
		return false, h, nil
	}
	if cap(*buf) < int(h.payloadLen) {
		*buf = make([]byte, h.payloadLen)
	}
	*buf = (*buf)[:h.payloadLen]
	if _, err := io.ReadFull(r, *buf); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return false, h, nil
		}
		return false, h, err
	}
	if checkBatch(h, hdr, *buf) != nil {
		return false, h, nil
	}
	return true, h, nil
}
