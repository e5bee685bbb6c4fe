//go:build !linux

package plugin

// waitExited returns at once where a process cannot be waited for
// without being reaped. go-plugin waits once the plugin's stdout and
// stderr are both closed, which for a plugin means it has exited, so the
// group is still killed then, just before the leader is reaped.
func waitExited(int) {}
