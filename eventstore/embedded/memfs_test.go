package embedded

import (
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
)

// memFS is a strict in-memory fileSystem for the power-loss test, after
// Pebble's vfs.NewStrictMem and ResetToSyncedState. It keeps its own
// account of what is durable and trusts nothing the store says about it:
//
//   - bytes written to a file (and its size, grown by a write, Fallocate or
//     Truncate) are durable only after Fdatasync of that file;
//   - a name created in a directory (a file or a directory) is durable only
//     after SyncDir of that directory, and a directory's entries survive
//     only if the directory itself does.
//
// Crash cuts the power: from then on every operation fails with EIO.
// CrashAfter(n) cuts it instead of the n-th durable-state operation from
// now (MkdirAll, OpenFile, SyncDir, WriteAt, Truncate, Fdatasync,
// Fallocate). Reboot then brings the file system back as the disk has it:
// what was durable, plus, in the torn modes, some of the bytes written
// since the last sync (the page cache may have written back part of them,
// in any order). Handles opened before a reboot stay dead.
type memFS struct {
	mu      sync.Mutex
	gen     int                 // boot number; handles of an older boot are dead
	dead    bool                // the power is off
	opsLeft int                 // > 0: the power goes off at the opsLeft-th operation
	names   map[string]*memNode // the namespace as the running system sees it
	durable map[string]*memNode // the namespace as it is on the disk
	locks   map[string]*memHandle
}

type memNode struct {
	dir    bool
	data   []byte // what reads see (the page cache)
	synced []byte // what is on the disk
	dirty  []span // parts of data changed since the last Fdatasync
}

type span struct{ off, end int64 }

// rebootMode says what becomes of the bytes written since the last sync.
type rebootMode int

const (
	dropUnsynced   rebootMode = iota // all are lost
	keepPrefix                       // a prefix of them, in file order, was written
	keepSomeSector                   // each 512-byte sector of them was written or not
)

func (m rebootMode) String() string {
	return [...]string{"drop unsynced", "keep a prefix", "keep some sectors"}[m]
}

var errPowerLost = fmt.Errorf("strict mem fs: power lost: %w", syscall.EIO)

func newMemFS() *memFS {
	root := &memNode{dir: true}
	return &memFS{
		names:   map[string]*memNode{"/": root},
		durable: map[string]*memNode{"/": root},
		locks:   map[string]*memHandle{},
	}
}

// op accounts for one durable-state operation of boot gen.
func (m *memFS) op(gen int) error {
	if m.dead || gen != m.gen {
		return errPowerLost
	}
	if m.opsLeft > 0 {
		m.opsLeft--
		if m.opsLeft == 0 {
			m.dead = true
			return errPowerLost
		}
	}
	return nil
}

// Crash cuts the power now.
func (m *memFS) Crash() {
	m.mu.Lock()
	m.dead = true
	m.mu.Unlock()
}

// CrashAfter cuts the power instead of the n-th operation from now.
func (m *memFS) CrashAfter(n int) {
	m.mu.Lock()
	m.opsLeft = n
	m.mu.Unlock()
}

// Dead reports whether the power is off.
func (m *memFS) Dead() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.dead
}

// Reboot brings the file system back as the disk has it after the crash
// (Crash is implied), using rng for the torn modes.
func (m *memFS) Reboot(rng *rand.Rand, mode rebootMode) {
	m.mu.Lock()
	defer m.mu.Unlock()
	paths := make([]string, 0, len(m.durable))
	for p := range m.durable {
		paths = append(paths, p)
	}
	slices.Sort(paths) // rng is used in a fixed order
	names := map[string]*memNode{}
	for _, p := range paths {
		if !m.parentsDurable(p) {
			continue
		}
		n := m.durable[p]
		if n.dir {
			names[p] = &memNode{dir: true}
			continue
		}
		disk := slices.Clone(n.synced)
		if mode != dropUnsynced {
			disk = tornWriteback(disk, n, rng, mode)
		}
		names[p] = &memNode{data: disk, synced: slices.Clone(disk)}
	}
	m.names = names
	m.durable = maps.Clone(names)
	m.locks = map[string]*memHandle{}
	m.gen++
	m.dead = false
	m.opsLeft = 0
}

// tornWriteback lays some of n's unsynced bytes over disk.
func tornWriteback(disk []byte, n *memNode, rng *rand.Rand, mode rebootMode) []byte {
	spans := slices.Clone(n.dirty)
	slices.SortFunc(spans, func(a, b span) int { return int(a.off - b.off) })
	var budget int64 = -1 // keepPrefix: how many unsynced bytes were written
	if mode == keepPrefix {
		var total int64
		for _, s := range spans {
			total += max(0, min(s.end, int64(len(n.data)))-s.off)
		}
		budget = rng.Int64N(total + 1)
	}
	put := func(off, end int64) {
		if end > int64(len(disk)) {
			disk = append(disk, make([]byte, end-int64(len(disk)))...)
		}
		copy(disk[off:end], n.data[off:end])
	}
	for _, s := range spans {
		end := min(s.end, int64(len(n.data)))
		switch mode {
		case keepPrefix:
			if k := min(end-s.off, budget); k > 0 {
				put(s.off, s.off+k)
				budget -= k
			}
		case keepSomeSector:
			for off := s.off; off < end; {
				next := min(end, (off/512+1)*512)
				if rng.IntN(2) == 0 {
					put(off, next)
				}
				off = next
			}
		}
	}
	return disk
}

// parentsDurable reports whether every directory above p is on the disk.
func (m *memFS) parentsDurable(p string) bool {
	for d := filepath.Dir(p); ; d = filepath.Dir(d) {
		if n := m.durable[d]; n == nil || !n.dir {
			return false
		}
		if d == "/" {
			return true
		}
	}
}

func clean(name string) string { return filepath.Join("/", name) }

func (m *memFS) MkdirAll(dir string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.op(m.gen); err != nil {
		return nil, err
	}
	var missing []string
	for d := clean(dir); ; d = filepath.Dir(d) {
		if n := m.names[d]; n != nil {
			if !n.dir {
				return nil, &fs.PathError{Op: "mkdir", Path: d, Err: syscall.ENOTDIR}
			}
			break
		}
		missing = append(missing, d)
	}
	for _, d := range missing {
		m.names[d] = &memNode{dir: true}
	}
	return missing, nil
}

func (m *memFS) OpenFile(name string, create bool) (file, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.op(m.gen); err != nil {
		return nil, err
	}
	p := clean(name)
	if d := m.names[filepath.Dir(p)]; d == nil || !d.dir {
		return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
	}
	n := m.names[p]
	switch {
	case n == nil && !create:
		return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
	case n == nil:
		n = &memNode{}
		m.names[p] = n
	case n.dir:
		return nil, &fs.PathError{Op: "open", Path: p, Err: syscall.EISDIR}
	}
	return &memHandle{fs: m, gen: m.gen, n: n, path: p}, nil
}

func (m *memFS) SyncDir(dir string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.op(m.gen); err != nil {
		return err
	}
	d := clean(dir)
	if n := m.names[d]; n == nil || !n.dir {
		return &fs.PathError{Op: "fsync", Path: d, Err: fs.ErrNotExist}
	}
	for p, n := range m.names {
		if p != d && filepath.Dir(p) == d {
			m.durable[p] = n
		}
	}
	for p := range m.durable {
		if p != d && filepath.Dir(p) == d && m.names[p] == nil {
			delete(m.durable, p)
		}
	}
	return nil
}

// readFile returns what the running system sees of name.
func (m *memFS) readFile(name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.names[clean(name)]
	if n == nil || n.dir {
		return nil, fs.ErrNotExist
	}
	return slices.Clone(n.data), nil
}

type memHandle struct {
	fs     *memFS
	gen    int
	n      *memNode
	path   string
	closed bool
}

// use checks that h may be used, counting an operation when counted.
func (h *memHandle) use(counted bool) error {
	if h.closed {
		return os.ErrClosed
	}
	if counted {
		return h.fs.op(h.gen)
	}
	if h.fs.dead || h.gen != h.fs.gen {
		return errPowerLost
	}
	return nil
}

func (h *memHandle) ReadAt(p []byte, off int64) (int, error) {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	if err := h.use(false); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, syscall.EINVAL
	}
	if off >= int64(len(h.n.data)) {
		return 0, io.EOF
	}
	n := copy(p, h.n.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// grow makes data at least size bytes long, with zeros.
func (n *memNode) grow(size int64) {
	if size > int64(len(n.data)) {
		n.data = append(n.data, make([]byte, size-int64(len(n.data)))...)
	}
}

func (n *memNode) markDirty(off, end int64) {
	if off >= end {
		return
	}
	if k := len(n.dirty); k > 0 && n.dirty[k-1].end == off {
		n.dirty[k-1].end = end
		return
	}
	n.dirty = append(n.dirty, span{off, end})
}

func (h *memHandle) WriteAt(p []byte, off int64) (int, error) {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	wasDead := h.fs.dead
	if err := h.use(true); err != nil {
		if !wasDead && h.fs.dead && !h.closed && h.gen == h.fs.gen {
			// The power went off during this write: part of it may have
			// reached the page cache, and a torn reboot may keep it.
			p = p[:len(p)/2]
			h.n.grow(off + int64(len(p)))
			copy(h.n.data[off:], p)
			h.n.markDirty(off, off+int64(len(p)))
		}
		return 0, err
	}
	if off < 0 {
		return 0, syscall.EINVAL
	}
	end := off + int64(len(p))
	h.n.grow(end)
	copy(h.n.data[off:], p)
	h.n.markDirty(off, end)
	return len(p), nil
}

func (h *memHandle) Size() (int64, error) {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	if err := h.use(false); err != nil {
		return 0, err
	}
	return int64(len(h.n.data)), nil
}

func (h *memHandle) Truncate(size int64) error {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	if err := h.use(true); err != nil {
		return err
	}
	if size < 0 {
		return syscall.EINVAL
	}
	old := int64(len(h.n.data))
	if size < old {
		h.n.data = h.n.data[:size]
	} else {
		h.n.grow(size)
	}
	h.n.markDirty(min(old, size), max(old, size))
	return nil
}

func (h *memHandle) Fdatasync() error {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	if err := h.use(true); err != nil {
		return err
	}
	n := h.n
	size := int64(len(n.data))
	if int64(len(n.synced)) > size {
		n.synced = n.synced[:size]
	} else {
		n.synced = append(n.synced, make([]byte, size-int64(len(n.synced)))...)
	}
	for _, s := range n.dirty {
		if end := min(s.end, size); s.off < end {
			copy(n.synced[s.off:end], n.data[s.off:end])
		}
	}
	n.dirty = n.dirty[:0]
	return nil
}

func (h *memHandle) Fallocate(off, length int64) error {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	if err := h.use(true); err != nil {
		return err
	}
	if off < 0 || length <= 0 {
		return syscall.EINVAL
	}
	old := int64(len(h.n.data))
	h.n.grow(off + length)
	h.n.markDirty(old, int64(len(h.n.data)))
	return nil
}

func (h *memHandle) Lock() error {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	if err := h.use(false); err != nil {
		return err
	}
	if other := h.fs.locks[h.path]; other != nil && other != h {
		return syscall.EWOULDBLOCK
	}
	h.fs.locks[h.path] = h
	return nil
}

func (h *memHandle) Close() error {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	if h.closed {
		return os.ErrClosed
	}
	h.closed = true
	if h.fs.locks[h.path] == h {
		delete(h.fs.locks, h.path)
	}
	return nil
}
