package domain

import (
	"bytes"
	"testing"
)

func TestPartlyGivenArgon2idParametersTakeDefaults(t *testing.T) {
	p := Argon2id{Time: 1, MemoryKiB: 64}.withDefaults()
	want := Argon2id{Time: 1, MemoryKiB: 64, Threads: 1, KeyLen: 32, SaltLen: 16}
	if p != want {
		t.Fatalf("withDefaults = %+v, want %+v", p, want)
	}
	h, err := p.Hash("a password of some length", bytes.NewReader(make([]byte, 64)))
	if err != nil || !VerifyPassword(h, "a password of some length") {
		t.Fatalf("hash with defaulted parameters does not verify (err %v)", err)
	}
}
