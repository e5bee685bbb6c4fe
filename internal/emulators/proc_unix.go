//go:build unix

package emulators

import (
	"os"
	"syscall"
)

// signalGroup sends SIGTERM, or SIGKILL if kill is set, to the process
// group that p leads.
func signalGroup(p *os.Process, kill bool) {
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	syscall.Kill(-p.Pid, sig)
}
