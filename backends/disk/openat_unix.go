//go:build unix && !linux

package disk

import (
	"os"

	"golang.org/x/sys/unix"
)

// lstatIn returns what lstat reports for name in the open directory d.
func lstatIn(d *os.File, name string) (entryStat, error) {
	return fstatat(int(d.Fd()), d.Name(), name)
}

// openIn opens the directory name inside the open directory d, with
// openat relative to d.
func openIn(d *os.File, name string) (*os.File, error) {
	for {
		fd, err := unix.Openat(int(d.Fd()), name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: d.Name() + "/" + name, Err: err}
		}
		return os.NewFile(uintptr(fd), d.Name()+"/"+name), nil
	}
}
