package keyring

import (
	"bytes"
	"crypto/hmac"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
)

// SlotFile is the name of a FileRing's only file inside its directory.
//
// Layout: a 4096-byte header (magic, format version, slot size, the master
// key's key-check value, the wrapped binding secret, creation time, CRC-32C),
// then fixed-size 256-byte slots, one per subject ever seen, each with its
// own CRC-32C. A live slot holds the subject id, the key id, the key's
// fingerprint and the wrapped key; Forget overwrites the whole slot in place
// with a tombstone (subject id, key id, fingerprint, times, zeros where the
// wrapped key was) and fsyncs before it returns. The file is never copied,
// compacted or journaled by the ring, so once Forget returns the wrapped key
// exists in no file of the ring's directory. (A copy-on-write file system
// such as btrfs or ZFS, or a file system journaling data blocks, may keep
// the old block on the device below the file level; keep the data
// directory on ext4/xfs with the default ordered data mode, or on an
// encrypted volume.)
//
// Format version 2 (written since event bindings have version 2) has the
// same layout; its binding secret is wrapped with a label of its own, and
// it says that every event of the ring's store carries a version 2 binding
// (MinBindingVersion). Version 1 rings still open, as MinBindingVersion 1.
const SlotFile = "keys.slots"

const (
	headerSize  = 4096
	slotSize    = 256
	fileMagic   = "SUBLKEYR"
	fileVersion = 2 // written; version 1 is still read

	slotEmpty     = 0
	slotLive      = 1
	slotForgotten = 2

	// slot field offsets
	offState     = 0
	offSubjLen   = 1
	offCreated   = 2
	offForgotten = 10
	offKeyID     = 18
	offFP        = 26
	offWrapped   = 42
	offSubject   = offWrapped + wrappedSize // 102
	offSlotCRC   = slotSize - 4
	fpBytes      = 16
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// create writes the header of a new ring, with a new binding secret.
func (r *FileRing) create(dir string) error {
	secret := make([]byte, keySize)
	if err := r.c.read(secret); err != nil {
		return fmt.Errorf("keyring: generating the binding secret: %w", err)
	}
	wrapped, err := r.c.wrap(secret, bindingLabel(fileVersion))
	if err != nil {
		return err
	}
	h := make([]byte, headerSize)
	copy(h[0:8], fileMagic)
	binary.LittleEndian.PutUint32(h[8:12], fileVersion)
	binary.LittleEndian.PutUint32(h[12:16], slotSize)
	copy(h[16:32], r.c.master.kcv())
	copy(h[32:32+wrappedSize], wrapped)
	binary.LittleEndian.PutUint64(h[92:100], uint64(r.c.now().UnixNano()))
	binary.LittleEndian.PutUint32(h[100:104], crc32.Checksum(h[:100], castagnoli))
	if _, err := r.f.WriteAt(h, 0); err != nil {
		return fmt.Errorf("keyring: writing %s: %w", r.path, err)
	}
	if err := r.f.Sync(); err != nil {
		return fmt.Errorf("keyring: syncing %s: %w", r.path, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("keyring: syncing %s: %w", dir, err)
	}
	r.c.setBinding(secret, fileVersion)
	return nil
}

// readHeader checks the header (magic, version, slot size, CRC, the
// master key's check value) and takes its binding secret.
func (r *FileRing) readHeader() error {
	h := make([]byte, headerSize)
	if _, err := r.f.ReadAt(h, 0); err != nil {
		return fmt.Errorf("%w: %s: reading the header: %v", ErrCorrupt, r.path, err)
	}
	if string(h[0:8]) != fileMagic {
		return fmt.Errorf("%w: %s is not a key ring file", ErrCorrupt, r.path)
	}
	if crc32.Checksum(h[:100], castagnoli) != binary.LittleEndian.Uint32(h[100:104]) {
		return fmt.Errorf("%w: %s: header checksum mismatch", ErrCorrupt, r.path)
	}
	// The format version is the binding version the ring requires.
	v := binary.LittleEndian.Uint32(h[8:12])
	if v != 1 && v != fileVersion {
		return fmt.Errorf("%w: %s: unknown format version %d", ErrCorrupt, r.path, v)
	}
	if s := binary.LittleEndian.Uint32(h[12:16]); s != slotSize {
		return fmt.Errorf("%w: %s: unknown slot size %d", ErrCorrupt, r.path, s)
	}
	if !hmac.Equal(h[16:32], r.c.master.kcv()) {
		return fmt.Errorf("%w: the %s does not open the key ring %s", ErrWrongMasterKey, r.c.master, r.path)
	}
	secret, err := r.c.unwrap(h[32:32+wrappedSize], bindingLabel(int(v)))
	if err != nil {
		return fmt.Errorf("%w: %s: the binding secret does not unwrap (or the format version was changed)", ErrCorrupt, r.path)
	}
	r.c.setBinding(secret, int(v))
	return nil
}

// readSlots reads every slot into the index.
func (r *FileRing) readSlots() error {
	st, err := r.f.Stat()
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	size := st.Size() - headerSize
	if size < 0 || size%slotSize != 0 {
		return fmt.Errorf("%w: %s: size %d is not a header plus whole slots", ErrCorrupt, r.path, st.Size())
	}
	r.n = int(size / slotSize)
	r.slots = newSlotIndex(r.n)
	r.slots.mask = r.slotMask
	buf := make([]byte, 1024*slotSize)
	defer clear(buf)
	var zero [slotSize]byte
	for first := 0; first < r.n; first += 1024 {
		cnt := min(1024, r.n-first)
		b := buf[:cnt*slotSize]
		if _, err := r.f.ReadAt(b, headerSize+int64(first)*slotSize); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrCorrupt, r.path, err)
		}
		for i := 0; i < cnt; i++ {
			p := b[i*slotSize : (i+1)*slotSize]
			idx := first + i
			if bytes.Equal(p, zero[:]) {
				r.free = append(r.free, idx)
				continue
			}
			if _, err := checkSlot(p); err != nil {
				return fmt.Errorf("%w: %s: slot %d at offset %d: %v", ErrCorrupt, r.path, idx, headerSize+int64(idx)*slotSize, err)
			}
			subject := p[offSubject : offSubject+int(p[offSubjLen])]
			if r.slots.lookupBytes(subject) >= 0 {
				return fmt.Errorf("%w: %s: subject %s has two slots", ErrCorrupt, r.path, subject)
			}
			r.slots.add(p, idx)
		}
	}
	return nil
}

// checkSlot checks one non-empty slot (its CRC, subject length and state)
// and returns its state.
func checkSlot(p []byte) (byte, error) {
	if crc32.Checksum(p[:offSlotCRC], castagnoli) != binary.LittleEndian.Uint32(p[offSlotCRC:]) {
		return 0, errors.New("checksum mismatch")
	}
	if n := int(p[offSubjLen]); n == 0 || n > MaxSubjectLen {
		return 0, errors.New("bad subject length")
	}
	if st := p[offState]; st != slotLive && st != slotForgotten {
		return 0, fmt.Errorf("bad state %d", st)
	}
	return p[offState], nil
}

// liveSlot returns the image of a new live slot, without its checksum.
func liveSlot(subject, keyID string, fp [fpBytes]byte, created int64, wrapped []byte) ([slotSize]byte, error) {
	var p [slotSize]byte
	p[offState] = slotLive
	p[offSubjLen] = byte(len(subject))
	binary.LittleEndian.PutUint64(p[offCreated:], uint64(created))
	if n, err := hex.Decode(p[offKeyID:offKeyID+keyIDBytes], []byte(keyID)); err != nil || n != keyIDBytes {
		return p, fmt.Errorf("keyring: bad key id %q", keyID)
	}
	copy(p[offFP:], fp[:])
	copy(p[offWrapped:offWrapped+wrappedSize], wrapped)
	copy(p[offSubject:offSubject+MaxSubjectLen], subject)
	return p, nil
}

// writeSlot sets the checksum of the slot image p and writes it at index
// in the file, without syncing. The caller holds wmu.
func (r *FileRing) writeSlot(p []byte, index int) error {
	binary.LittleEndian.PutUint32(p[offSlotCRC:], crc32.Checksum(p[:offSlotCRC], castagnoli))
	if _, err := r.f.WriteAt(p, headerSize+int64(index)*slotSize); err != nil {
		return fmt.Errorf("keyring: writing %s: %w", r.path, err)
	}
	return nil
}

// allocSlot returns the index of a slot to write. The caller holds wmu.
func (r *FileRing) allocSlot() int {
	if n := len(r.free); n > 0 {
		i := r.free[0]
		r.free = r.free[1:]
		return i
	}
	r.n++
	return r.n - 1
}

// writeTombstone replaces subject's slot (or a new one) by a tombstone,
// without syncing: the subject id, key id, fingerprint and creation time
// stay, the wrapped key becomes zeros, in the file and in the index. The
// caller holds wmu.
func (r *FileRing) writeTombstone(subject string, now int64) error {
	var p [slotSize]byte
	index := -1
	r.imu.RLock()
	i := r.slots.lookup(subject)
	if i >= 0 {
		r.slots.image(p[:], i)
		index = r.slots.fileIndex(i)
	}
	r.imu.RUnlock()
	if i >= 0 && p[offState] == slotForgotten {
		return nil
	}
	if i < 0 {
		index = r.allocSlot()
		p[offSubjLen] = byte(len(subject))
		copy(p[offSubject:offSubject+MaxSubjectLen], subject)
	}
	p[offState] = slotForgotten
	binary.LittleEndian.PutUint64(p[offForgotten:], uint64(now))
	clear(p[offWrapped : offWrapped+wrappedSize])
	if err := r.writeSlot(p[:], index); err != nil {
		return err
	}
	r.imu.Lock()
	if i >= 0 {
		r.slots.update(i, p[:])
	} else {
		r.slots.add(p[:], index)
	}
	r.imu.Unlock()
	return nil
}
