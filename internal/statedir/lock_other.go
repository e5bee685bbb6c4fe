//go:build !unix

package statedir

import (
	"errors"
	"os"
)

var errLocked = errors.New("locked")

// tryLock is a no-op where flock is not available: the state directory
// is then not protected against a second process (documented in the
// README).
func tryLock(f *os.File) error { return nil }
