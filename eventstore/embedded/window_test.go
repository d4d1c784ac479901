package embedded

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"testing"
)

// TestWindowServesTheBytesAsked reads a file through a window in the
// orders recover does (a header, then its whole commit) across the ends of
// the window, larger than a window and up to the end of the region.
func TestWindowServesTheBytesAsked(t *testing.T) {
	data := make([]byte, 3*scanWindow+12345)
	for i := range data {
		data[i] = byte(i * 31 / 7)
	}
	size := int64(len(data)) - 100 // the region ends before the file
	type read struct {
		off int64
		n   int
	}
	for _, tc := range []struct {
		name  string
		reads []read
	}{
		{"a header, then its commit, in the window", []read{{0, 32}, {0, 5000}, {5000, 32}, {5000, 100}}},
		{"a commit across the end of the window", []read{{0, 32}, {scanWindow - 10, 32}, {scanWindow - 10, 20_000}}},
		{"a commit larger than a window", []read{{100, 32}, {100, scanWindow + 1000}, {scanWindow + 1100, 32}}},
		{"up to the end of the region", []read{{size - 40, 32}, {size - 40, 40}, {size - 3, 3}}},
		{"backwards, before the window", []read{{2 * scanWindow, 32}, {10, 32}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := window{r: bytes.NewReader(data), size: size}
			for _, r := range tc.reads {
				got, err := w.at(r.off, r.n)
				if err != nil {
					t.Fatalf("at(%d, %d): %v", r.off, r.n, err)
				}
				if !bytes.Equal(got, data[r.off:r.off+int64(r.n)]) {
					t.Fatalf("at(%d, %d) returned other bytes", r.off, r.n)
				}
			}
		})
	}
}

// TestWindowReturnsReadErrors checks that a failed read is an error, and
// that the window then holds nothing stale.
func TestWindowReturnsReadErrors(t *testing.T) {
	data := make([]byte, 1000)
	w := window{r: bytes.NewReader(data), size: 2000} // the file is shorter
	if _, err := w.at(0, 32); !errors.Is(err, io.EOF) {
		t.Fatalf("read past the end of the file: %v, want io.EOF", err)
	}
	if len(w.buf) != 0 {
		t.Fatalf("the window keeps %d bytes of a failed read", len(w.buf))
	}
}

// TestIndexSlicesDoubleWhileOpenScansAndAreTrimmedAfter checks the growth
// policy of Open's index slices.
func TestIndexSlicesDoubleWhileOpenScansAndAreTrimmedAfter(t *testing.T) {
	for _, tc := range []struct {
		name             string
		len, cap, more   int
		minCap, maxCap   int // after roomFor
		trimLen, trimCap int // trimmed of a slice of trimLen elements in that capacity
	}{
		{"room enough: unchanged", 10, 20, 5, 20, 20, 10, 20},
		{"full: doubles", 1000, 1000, 3, 2000, 3000, 1000, 1024},
		{"more asked than it holds", 10, 10, 100, 110, 200, 10, 12},
		{"empty", 0, 0, 3, 3, 16, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := make([]int64, tc.len, tc.cap)
			for i := range x {
				x[i] = int64(i)
			}
			y := roomFor(x, tc.more)
			if len(y) != tc.len || cap(y) < tc.minCap || cap(y) > tc.maxCap {
				t.Fatalf("roomFor: len %d cap %d, want len %d cap in [%d, %d]", len(y), cap(y), tc.len, tc.minCap, tc.maxCap)
			}
			y = y[:tc.trimLen]
			z := trimmed(y)
			if !slices.Equal(z, y) {
				t.Fatal("trimmed changed the elements")
			}
			if cap(z) > tc.trimCap || cap(z) < len(z) {
				t.Fatalf("trimmed: cap %d for %d elements, want at most %d", cap(z), len(z), tc.trimCap)
			}
		})
	}
}
