//go:build !linux && !darwin && !freebsd && !dragonfly && !windows

package disk

import (
	"errors"
	"fmt"
	"runtime"
)

// availableBytes reports that free space cannot be read on this system,
// with an error that wraps errors.ErrUnsupported (which AvailableSpace
// returns as sharestore.ErrUnimplemented).
func availableBytes(string) (int64, error) {
	return 0, fmt.Errorf("free space on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}
