package keyring

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
)

// TestPooledBuffersAreWipedBeforeReuse checks that the buffers core pools
// for unwrapping keys and computing bindings hold no byte of a subject id,
// a wrapped key or a key once they are back in their pool, after an unwrap
// that succeeds, one that fails and one that grows the buffers, and after
// both kinds of binding.
func TestPooledBuffersAreWipedBeforeReuse(t *testing.T) {
	ctx := context.Background()
	r, err := OpenStoreRing(ctx, openStore(t, t.TempDir()), testMaster(t), Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c := r.c
	unwrap := func(subject string, tamper bool) func(t *testing.T) {
		return func(t *testing.T) {
			key := bytes.Repeat([]byte{0x5a}, keySize)
			wrapped, err := c.wrapKey(subject, "0123456789abcdef", key)
			if err != nil {
				t.Fatal(err)
			}
			if tamper {
				wrapped[nonceSize] ^= 1
			}
			if _, err := c.unwrapKey(subject, "0123456789abcdef", wrapped); (err != nil) != tamper {
				t.Fatalf("unwrap: %v", err)
			}
		}
	}
	cases := []struct {
		name string
		use  func(t *testing.T)
		pool *sync.Pool
		held func(x any) [][]byte
	}{
		{"an_unwrapped_key_leaves_no_subject_wrapped_key_or_key_in_the_pool",
			unwrap("acct-wipe-1", false), &c.scratch, scratchBuffers},
		{"a_key_that_does_not_unwrap_leaves_nothing_in_the_pool",
			unwrap("acct-wipe-2", true), &c.scratch, scratchBuffers},
		{"a_longer_subject_that_grows_the_buffers_leaves_nothing_in_the_pool",
			unwrap(strings.Repeat("s", MaxSubjectLen), false), &c.scratch, scratchBuffers},
		{"a_version_1_binding_leaves_no_subject_in_the_pool",
			func(t *testing.T) { c.bind(nil, [16]byte{1}, "acct-wipe-3", "0123456789abcdef", []byte("sealed")) },
			&c.macs, macBuffers},
		{"a_version_2_binding_leaves_no_subject_in_the_pool",
			func(t *testing.T) {
				c.bindEvent(nil, &EventBinding{EventID: [16]byte{2}, Type: "t", Stream: "s", Subject: "acct-wipe-4", KeyID: "0123456789abcdef", Plain: []byte("{}"), Sealed: []byte("sealed")})
			},
			&c.eventMacs, macBuffers},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// A pool may drop what it is given (it does so at random under
			// the race detector) or hand it out on another P: try until the
			// buffers used come back.
			seen := 0
			for range 200 {
				tc.use(t)
				x := tc.pool.Get()
				if x == nil {
					continue
				}
				used := false
				for _, b := range tc.held(x) {
					used = used || cap(b) > 0
					if b := b[:cap(b)]; len(b) > 0 && !bytes.Equal(b, make([]byte, len(b))) {
						t.Fatalf("a pooled buffer holds %q", b)
					}
					if len(b) != 0 {
						t.Fatalf("a pooled buffer has length %d, want 0", len(b))
					}
				}
				tc.pool.Put(x)
				if used {
					seen++
				}
			}
			// A buffer with no capacity is a new one, never used.
			if seen == 0 {
				t.Fatal("no used buffer came back from the pool")
			}
		})
	}
}

// scratchBuffers returns the buffers of an *unwrapScratch.
func scratchBuffers(x any) [][]byte {
	s := x.(*unwrapScratch)
	return [][]byte{s.aad, s.wrapped, s.key}
}

// macBuffers returns the buffer of a *macState.
func macBuffers(x any) [][]byte { return [][]byte{x.(*macState).buf} }
