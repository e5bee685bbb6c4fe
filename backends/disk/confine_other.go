//go:build !unix

package disk

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Without the *at system calls, confinement is a best effort: every
// operation Lstats the name in the directory it was reached through and
// refuses a symbolic link (or a Windows reparse point, which Lstat
// reports as irregular) before it uses the name by its whole path. A
// link swapped in between the Lstat and the use is not detected, and
// tryLock takes no lock (Windows itself refuses to remove a file another
// process holds open, and removal errors are skipped).

// errSyncUnsupported is what Sync of a directory returns where the
// system cannot sync directories.
var errSyncUnsupported = syscall.EINVAL

func isNotDir(err error) bool { return errors.Is(err, syscall.ENOTDIR) }

// isLink reports whether fi is a symbolic link or another reparse point.
func isLink(fi fs.FileInfo) bool { return fi.Mode()&(fs.ModeSymlink|fs.ModeIrregular) != 0 }

// lstatIn returns what lstat reports for name in the open directory d.
func lstatIn(d *os.File, name string) (entryStat, error) {
	fi, err := os.Lstat(filepath.Join(d.Name(), name))
	if err != nil {
		return entryStat{}, err
	}
	return entryStat{regular: fi.Mode().IsRegular(), symlink: isLink(fi), dir: fi.IsDir(), size: fi.Size(), used: usedSpace(fi), modTime: fi.ModTime()}, nil
}

// checkName Lstats name in d and refuses a symbolic link; with wantDir
// it also refuses anything but a directory.
func checkName(d *os.File, name string, wantDir bool) (string, error) {
	p := filepath.Join(d.Name(), name)
	fi, err := os.Lstat(p)
	switch {
	case err != nil:
		return p, err
	case isLink(fi):
		return p, &symlinkError{path: p}
	case wantDir && !fi.IsDir():
		return p, &os.PathError{Op: "open", Path: p, Err: syscall.ENOTDIR}
	}
	return p, nil
}

// openDirIn opens the directory name inside the open directory d,
// refusing a symbolic link.
func openDirIn(d *os.File, name string) (*os.File, error) {
	p, err := checkName(d, name, true)
	if err != nil {
		return nil, err
	}
	return os.Open(p)
}

// openFileIn opens the file name inside the open directory d with flag
// and perm, refusing a symbolic link.
func openFileIn(d *os.File, name string, flag int, perm os.FileMode) (*os.File, error) {
	p, err := checkName(d, name, false)
	if err != nil && !(flag&os.O_CREATE != 0 && errors.Is(err, fs.ErrNotExist)) {
		return nil, err
	}
	return os.OpenFile(p, flag, perm)
}

// unlinkIn removes the file name (never a directory) from d.
func unlinkIn(d *os.File, name string) error {
	p, err := checkName(d, name, false)
	if err != nil {
		return err
	}
	if st, err := os.Lstat(p); err == nil && st.IsDir() {
		return &os.PathError{Op: "unlink", Path: p, Err: syscall.EISDIR}
	}
	return os.Remove(p)
}

// rmdirIn removes the empty directory name from d.
func rmdirIn(d *os.File, name string) error {
	p, err := checkName(d, name, true)
	if err != nil {
		return err
	}
	return syscall.Rmdir(p)
}

// mkdirIn makes the directory name, mode 0755, in d.
func mkdirIn(d *os.File, name string) error {
	return os.Mkdir(filepath.Join(d.Name(), name), 0o755)
}

// renameIn renames from in fromDir to to in toDir, replacing a file
// there.
func renameIn(fromDir *os.File, from string, toDir *os.File, to string) error {
	p, err := checkName(fromDir, from, false)
	if err != nil {
		return err
	}
	q := filepath.Join(toDir.Name(), to)
	if fi, err := os.Lstat(q); err == nil && isLink(fi) {
		return &symlinkError{path: q}
	}
	return os.Rename(p, q)
}

// tryLock takes no lock here; see above.
func tryLock(f *os.File) (bool, error) { return true, nil }

// linked reports whether the open file f still has a name.
func linked(f *os.File) (bool, error) {
	_, err := os.Lstat(f.Name())
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// usedSpace returns the bytes fi occupies on disk. Without block counts
// from the system this is its size.
func usedSpace(fi os.FileInfo) int64 { return fi.Size() }
