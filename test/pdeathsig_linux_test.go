package test

import (
	"os/exec"
	"syscall"
)

// setParentDeathSignal makes the kernel kill the server if the test process
// dies without running its cleanups (a panic or a -timeout).
func setParentDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
