//go:build unix

package cli

import (
	"errors"

	"golang.org/x/sys/unix"
)

// processAlive reports whether a process with this pid exists (signal 0
// reaches it, or it exists but belongs to another user).
func processAlive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}
