package nettest_test

import (
	"net"
	"testing"
	"time"

	"github.com/aseptsoft/subledger/internal/nettest"
)

// The address refuses connections, and no listener can take it meanwhile.
func TestClosedAddrRefusesAndIsHeld(t *testing.T) {
	addr := nettest.ClosedAddr(t)
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatal("a connection to the closed address succeeded")
	}
	if l, err := net.Listen("tcp", addr); err == nil {
		l.Close()
		t.Fatal("a listener took the closed address")
	}
}
