package emulators

import "syscall"

// procAttr puts an emulator in its own process group, so stop reaches
// its children too, and has the kernel kill it if the test process dies.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// procAttrAs is procAttr for a program run as the user cred (nil: this
// process's). Go sets the parent-death signal after the user changes,
// which would otherwise clear it.
func procAttrAs(cred runAs) *syscall.SysProcAttr {
	a := procAttr()
	a.Credential = cred
	return a
}
