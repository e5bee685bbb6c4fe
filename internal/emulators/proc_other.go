//go:build !unix

package emulators

import (
	"os"
	"syscall"
)

// procAttr returns no attributes: this system has no process groups.
func procAttr() *syscall.SysProcAttr { return nil }

// signalGroup kills p. Without signals the emulator gets no chance to
// shut down cleanly; its data directory is removed after it exits.
func signalGroup(p *os.Process, _ bool) { p.Kill() }

// procAttrAs returns no attributes, as procAttr.
func procAttrAs(runAs) *syscall.SysProcAttr { return nil }
