//go:build !linux

package plugin

// setParentDeathSignal does nothing where there is no parent-death signal;
// the parent pid poll does the job.
func setParentDeathSignal(graceful bool) {}
