package emulators

import "syscall"

// procAttr puts an emulator in its own process group, so stop reaches
// its children too, and has the kernel kill it if the test process dies.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
