package keyring

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"time"
)

// RingCopy describes a copy of a FileRing's slot file made by CopyFileRing.
type RingCopy struct {
	// Bytes is the size of the copy.
	Bytes int64 `json:"bytes"`
	// Live and Forgotten count the slots holding a wrapped key and those
	// holding a tombstone.
	Live      int `json:"live"`
	Forgotten int `json:"forgotten"`
}

// copyRetries is how often CopyFileRing reads a slot again whose checksum
// fails, before it calls the file corrupt: a slot being written while it is
// read (a key made, a key forgotten) reads torn for a moment.
const copyRetries = 50

// CopyFileRing writes to w a consistent copy of the FileRing's slot file in
// dir, while a server may be using the ring. It needs no master key and
// takes no lock. Every slot is copied only once its checksum checks out; a
// slot read torn, because the ring was writing it at that moment, is read
// again. Slots are written whole and in place, so the copy holds every key
// made before CopyFileRing started (a key is made before any event that
// uses it is appended: copy the event log first, then the ring), and each
// slot as it was at some moment during the copy: a key forgotten meanwhile
// may be copied as a tombstone, which only erases more. A slot appended at
// the file's end after the copy started may be left out.
func CopyFileRing(ctx context.Context, dir string, w io.Writer) (RingCopy, error) {
	path := filepath.Join(dir, SlotFile)
	f, err := os.Open(path)
	if err != nil {
		return RingCopy{}, fmt.Errorf("keyring: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return RingCopy{}, fmt.Errorf("keyring: %w", err)
	}
	n := (st.Size() - headerSize) / slotSize
	if n < 0 {
		return RingCopy{}, fmt.Errorf("%w: %s is shorter than its header", ErrCorrupt, path)
	}
	h := make([]byte, headerSize)
	if _, err := f.ReadAt(h, 0); err != nil {
		return RingCopy{}, fmt.Errorf("%w: %s: reading the header: %v", ErrCorrupt, path, err)
	}
	if string(h[0:8]) != fileMagic || crc32.Checksum(h[:100], castagnoli) != binary.LittleEndian.Uint32(h[100:104]) {
		return RingCopy{}, fmt.Errorf("%w: %s: not a key ring file, or its header checksum fails", ErrCorrupt, path)
	}
	if _, err := w.Write(h); err != nil {
		return RingCopy{}, err
	}
	out := RingCopy{Bytes: headerSize}
	var zero [slotSize]byte
	p := make([]byte, slotSize)
	for i := int64(0); i < n; i++ {
		if i%4096 == 0 && ctx.Err() != nil {
			return RingCopy{}, ctx.Err()
		}
		off := headerSize + i*slotSize
		var state byte
		for try := 0; ; try++ {
			if _, err := f.ReadAt(p, off); err != nil {
				return RingCopy{}, fmt.Errorf("keyring: reading %s: %w", path, err)
			}
			if bytes.Equal(p, zero[:]) {
				state = slotEmpty
				break
			}
			if st, err := checkSlot(p); err == nil {
				state = st
				break
			} else if try == copyRetries {
				return RingCopy{}, fmt.Errorf("%w: %s: slot %d at offset %d: %v", ErrCorrupt, path, i, off, err)
			}
			time.Sleep(time.Millisecond)
		}
		switch state {
		case slotLive:
			out.Live++
		case slotForgotten:
			out.Forgotten++
		}
		if _, err := w.Write(p); err != nil {
			return RingCopy{}, err
		}
		out.Bytes += slotSize
	}
	return out, nil
}

// CheckFileRingMaster reads the header of the slot file in dir, without
// opening the ring, and reports ErrWrongMasterKey when master does not open
// it (ErrCorrupt when the header does not read back).
func CheckFileRingMaster(dir string, master MasterKey) error {
	path := filepath.Join(dir, SlotFile)
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	defer f.Close()
	h := make([]byte, headerSize)
	if _, err := f.ReadAt(h, 0); err != nil {
		return fmt.Errorf("%w: %s: reading the header: %v", ErrCorrupt, path, err)
	}
	if string(h[0:8]) != fileMagic || crc32.Checksum(h[:100], castagnoli) != binary.LittleEndian.Uint32(h[100:104]) {
		return fmt.Errorf("%w: %s: not a key ring file, or its header checksum fails", ErrCorrupt, path)
	}
	if !hmac.Equal(h[16:32], master.kcv()) {
		return fmt.Errorf("%w: the %s does not open the key ring %s (key check value)", ErrWrongMasterKey, master, path)
	}
	return nil
}
