// Package nettest helps tests with the network.
package nettest

import (
	"fmt"
	"syscall"
	"testing"
)

// ClosedAddr returns a 127.0.0.1 address ("127.0.0.1:PORT") that refuses
// connections until the test ends. Closing a listener on port 0 is not
// enough: the kernel may hand the same port to the next listener, a
// server of the same test among them. A socket bound to the port and never
// listening holds it, and connections to it are refused.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	in, ok := sa.(*syscall.SockaddrInet4)
	if !ok {
		t.Fatalf("bound to %T", sa)
	}
	return fmt.Sprintf("127.0.0.1:%d", in.Port)
}
