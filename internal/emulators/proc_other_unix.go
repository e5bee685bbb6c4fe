//go:build unix && !linux

package emulators

import "syscall"

// procAttr puts an emulator in its own process group, so stop reaches
// its children too. Without Pdeathsig, an emulator can outlive a test
// process that is killed outright.
func procAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// procAttrAs is procAttr for a program run as the user cred (nil: this
// process's).
func procAttrAs(cred runAs) *syscall.SysProcAttr {
	a := procAttr()
	a.Credential = cred
	return a
}
