//go:build unix

package plugin

import (
	"os"
	"os/exec"
	"syscall"
)

// ownGroup makes cmd the leader of a new process group.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// killGroup SIGKILLs the process group whose leader is pid.
func killGroup(_ *os.Process, pid int) {
	_ = syscall.Kill(-pid, syscall.SIGKILL)
}
