package keyring

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// ErrFenceCorrupt means a line of an erasure fence file does not read back:
// a bad checksum, bad JSON, or a record that names no valid subject.
var ErrFenceCorrupt = errors.New("keyring: erasure fence is corrupt")

// FenceFile is the erasure fence: an append-only text file, kept outside the
// data directory, with one line per erasure, so that restoring an older
// backup of the data directory cannot bring an erased person back (the
// backup's own erasure ledger is as old as the backup).
//
// A line is the CRC-32C (Castagnoli) of the JSON record in 8 hex digits, a
// space, the JSON record (an Erasure: subject id, key id, key fingerprint,
// time; no personal data) and a newline. Record appends a line and
// fdatasyncs the file before it returns. Opening reads every line: a line
// that does not check out is ErrFenceCorrupt naming the line; a last line
// without its newline is a write torn by a crash, never acknowledged (the
// erasure it belongs to had not started), and is cut.
//
// One process appends to a fence at a time; it is not locked, since a
// restore only reads it.
type FenceFile struct {
	path string
	mu   sync.Mutex
	f    *os.File
	recs []Erasure
	seen map[string]struct{}
	torn int64
	// sync makes the file's written bytes durable: fdatasync (tests
	// observe it).
	sync func(*os.File) error
}

// OpenFence opens (creating it 0600 when missing) the fence file at path and
// reads its records.
func OpenFence(path string) (*FenceFile, error) {
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, os.ErrNotExist)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("keyring: erasure fence: %w", err)
	}
	ff := &FenceFile{path: path, f: f, seen: map[string]struct{}{}, sync: fdatasync}
	if err := ff.load(); err != nil {
		f.Close()
		return nil, err
	}
	if created {
		if err := syncDir(filepath.Dir(path)); err != nil {
			f.Close()
			return nil, fmt.Errorf("keyring: erasure fence: syncing the directory of %s: %w", path, err)
		}
	}
	return ff, nil
}

func (ff *FenceFile) load() error {
	b, err := io.ReadAll(ff.f)
	if err != nil {
		return fmt.Errorf("keyring: erasure fence %s: %w", ff.path, err)
	}
	complete := bytes.LastIndexByte(b, '\n') + 1
	if complete < len(b) {
		// A torn last line: cut it, so that the next record starts a line.
		ff.torn = int64(len(b) - complete)
		if err := ff.f.Truncate(int64(complete)); err != nil {
			return fmt.Errorf("keyring: erasure fence %s: cutting a torn last line: %w", ff.path, err)
		}
		if err := ff.f.Sync(); err != nil {
			return fmt.Errorf("keyring: erasure fence %s: %w", ff.path, err)
		}
	}
	lines := bytes.Split(b[:complete], []byte{'\n'})
	for i, line := range lines[:len(lines)-1] {
		e, err := parseFenceLine(line)
		if err != nil {
			return fmt.Errorf("%w: %s line %d: %v; the fence must stay complete, so the server will not start: restore the file from a copy, or remove the line only if you know that erasure never happened", ErrFenceCorrupt, ff.path, i+1, err)
		}
		if _, dup := ff.seen[e.SubjectID]; !dup {
			ff.seen[e.SubjectID] = struct{}{}
			ff.recs = append(ff.recs, e)
		}
	}
	if _, err := ff.f.Seek(0, io.SeekEnd); err != nil {
		return fmt.Errorf("keyring: erasure fence %s: %w", ff.path, err)
	}
	return nil
}

func parseFenceLine(line []byte) (Erasure, error) {
	sum, rec, ok := bytes.Cut(line, []byte{' '})
	if !ok || len(sum) != 8 {
		return Erasure{}, errors.New("not a checksum and a record")
	}
	var want [4]byte
	if _, err := hex.Decode(want[:], sum); err != nil {
		return Erasure{}, errors.New("bad checksum digits")
	}
	if fmt.Sprintf("%08x", crc32.Checksum(rec, castagnoli)) != strings.ToLower(string(sum)) {
		return Erasure{}, errors.New("checksum mismatch")
	}
	var e Erasure
	dec := json.NewDecoder(bytes.NewReader(rec))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return Erasure{}, errors.New("bad record")
	}
	if validSubject(e.SubjectID) != nil || e.ForgottenAt.IsZero() {
		return Erasure{}, errors.New("no valid subject id or time")
	}
	return e, nil
}

func fdatasync(f *os.File) error { return unix.Fdatasync(int(f.Fd())) }

// Path is the fence file's path.
func (ff *FenceFile) Path() string { return ff.path }

// Torn is the number of bytes of a torn last line cut when the fence was
// opened (0 when there was none), for the caller to warn about.
func (ff *FenceFile) Torn() int64 { return ff.torn }

// Erasures returns the fence's records, one per subject, oldest first.
func (ff *FenceFile) Erasures() []Erasure {
	ff.mu.Lock()
	defer ff.mu.Unlock()
	return append([]Erasure(nil), ff.recs...)
}

// Has reports whether the fence holds subject.
func (ff *FenceFile) Has(subject string) bool {
	ff.mu.Lock()
	defer ff.mu.Unlock()
	_, ok := ff.seen[subject]
	return ok
}

// Record implements Fence: it appends e's line and fdatasyncs the file
// before returning; a subject already in the fence is not written again.
func (ff *FenceFile) Record(e Erasure) error {
	if err := validSubject(e.SubjectID); err != nil {
		return err
	}
	rec, err := json.Marshal(Erasure{SubjectID: e.SubjectID, KeyID: e.KeyID, KeyFingerprint: e.KeyFingerprint, ForgottenAt: e.ForgottenAt.UTC()})
	if err != nil {
		return err
	}
	line := fmt.Appendf(nil, "%08x %s\n", crc32.Checksum(rec, castagnoli), rec)
	ff.mu.Lock()
	defer ff.mu.Unlock()
	if ff.f == nil {
		return ErrClosed
	}
	if _, ok := ff.seen[e.SubjectID]; ok {
		return nil
	}
	if _, err := ff.f.Write(line); err != nil {
		return fmt.Errorf("keyring: erasure fence %s: %w", ff.path, err)
	}
	if err := ff.sync(ff.f); err != nil {
		return fmt.Errorf("keyring: erasure fence %s: %w", ff.path, err)
	}
	ff.seen[e.SubjectID] = struct{}{}
	ff.recs = append(ff.recs, e)
	return nil
}

// Close closes the file. It is safe to call more than once.
func (ff *FenceFile) Close() error {
	ff.mu.Lock()
	defer ff.mu.Unlock()
	if ff.f == nil {
		return nil
	}
	err := ff.f.Close()
	ff.f = nil
	return err
}
