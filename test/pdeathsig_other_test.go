//go:build !linux

package test

import "os/exec"

// setParentDeathSignal does nothing here: only Linux has a parent-death
// signal.
func setParentDeathSignal(*exec.Cmd) {}
