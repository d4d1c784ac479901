//go:build !linux

package mailpittest

import "os/exec"

// setParentDeathSignal does nothing here: only Linux has a parent-death
// signal, so elsewhere a test process that dies hard leaves Mailpit running.
func setParentDeathSignal(*exec.Cmd) {}
