//go:build linux

package plugin

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// setParentDeathSignal asks the kernel to signal this process when the
// thread that started it exits: SIGKILL, or SIGTERM when graceful (the
// caller then handles SIGTERM).
func setParentDeathSignal(graceful bool) {
	sig := syscall.SIGKILL
	if graceful {
		sig = syscall.SIGTERM
	}
	_ = unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(sig), 0, 0, 0)
}
