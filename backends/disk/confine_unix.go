//go:build unix

package disk

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// errSyncUnsupported is what fsync of a directory returns where the file
// system cannot sync directories.
var errSyncUnsupported = unix.EINVAL

// noEINTR calls fn until it returns something other than EINTR.
func noEINTR(fn func() error) error {
	for {
		if err := fn(); err != unix.EINTR {
			return err
		}
	}
}

func isNotDir(err error) bool { return errors.Is(err, unix.ENOTDIR) }

// openDirIn opens the directory name inside the open directory d,
// without following a symbolic link: openat with O_NOFOLLOW and
// O_DIRECTORY.
func openDirIn(d *os.File, name string) (*os.File, error) {
	fd, err := openatNoFollow(int(d.Fd()), name, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, linkOr(d, name, "open", err)
	}
	return os.NewFile(uintptr(fd), pathIn(d, name)), nil
}

// openFileIn opens the file name inside the open directory d with flag
// (os.O_* values) and perm, without following a symbolic link.
func openFileIn(d *os.File, name string, flag int, perm os.FileMode) (*os.File, error) {
	fd, err := openatNoFollow(int(d.Fd()), name, flag, uint32(perm.Perm()))
	if err != nil {
		return nil, linkOr(d, name, "open", err)
	}
	return os.NewFile(uintptr(fd), pathIn(d, name)), nil
}

// openatNoFollow is openat(dirfd, name, flag|O_NOFOLLOW|O_CLOEXEC, perm).
func openatNoFollow(dirfd int, name string, flag int, perm uint32) (int, error) {
	var fd int
	err := noEINTR(func() (err error) {
		fd, err = unix.Openat(dirfd, name, flag|unix.O_NOFOLLOW|unix.O_CLOEXEC, perm)
		return err
	})
	return fd, err
}

// linkOr returns err, from an operation op on name in d, as a
// *symlinkError when name is a symbolic link (O_NOFOLLOW reports one as
// ELOOP, as EMLINK on FreeBSD, and as ENOTDIR with O_DIRECTORY on
// Linux), else as an *os.PathError. The extra fstatat happens only on
// these errors.
func linkOr(d *os.File, name, op string, err error) error {
	if err == unix.ELOOP || err == unix.EMLINK || err == unix.ENOTDIR {
		if st, serr := lstatIn(d, name); serr == nil && st.symlink {
			return &symlinkError{path: pathIn(d, name)}
		}
	}
	return &os.PathError{Op: op, Path: pathIn(d, name), Err: err}
}

// lstatIn returns what lstat reports for name in the open directory d.
func lstatIn(d *os.File, name string) (entryStat, error) {
	return fstatat(int(d.Fd()), d.Name(), name)
}

// unlinkIn removes the file name (never a directory) from d. A
// symbolic link there would be removed itself, not its target; callers
// lstat first and refuse links.
func unlinkIn(d *os.File, name string) error {
	return pathErr("unlink", d, name, noEINTR(func() error { return unix.Unlinkat(int(d.Fd()), name, 0) }))
}

// rmdirIn removes the empty directory name from d. It fails on
// anything else, a symbolic link included.
func rmdirIn(d *os.File, name string) error {
	return pathErr("rmdir", d, name, noEINTR(func() error { return unix.Unlinkat(int(d.Fd()), name, unix.AT_REMOVEDIR) }))
}

// mkdirIn makes the directory name, mode 0755, in d.
func mkdirIn(d *os.File, name string) error {
	return pathErr("mkdir", d, name, noEINTR(func() error { return unix.Mkdirat(int(d.Fd()), name, 0o755) }))
}

// renameIn renames from in the open directory fromDir to to in toDir,
// replacing a file there. Neither name is resolved through a symbolic
// link (renameat acts on the names themselves).
func renameIn(fromDir *os.File, from string, toDir *os.File, to string) error {
	err := noEINTR(func() error { return unix.Renameat(int(fromDir.Fd()), from, int(toDir.Fd()), to) })
	if err != nil {
		return &os.LinkError{Op: "rename", Old: pathIn(fromDir, from), New: pathIn(toDir, to), Err: err}
	}
	return nil
}

// tryLock takes an exclusive flock on f without waiting. It reports
// false when another open file holds one: its writer is alive. The lock
// goes with f's last close.
func tryLock(f *os.File) (bool, error) {
	err := noEINTR(func() error { return unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) })
	if err == unix.EWOULDBLOCK {
		return false, nil
	}
	if err != nil {
		return false, &os.PathError{Op: "flock", Path: f.Name(), Err: err}
	}
	return true, nil
}

// linked reports whether the open file f still has a name.
func linked(f *os.File) (bool, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return false, &os.PathError{Op: "fstat", Path: f.Name(), Err: err}
	}
	return st.Nlink > 0, nil
}

func pathErr(op string, d *os.File, name string, err error) error {
	if err == nil {
		return nil
	}
	return &os.PathError{Op: op, Path: pathIn(d, name), Err: err}
}
