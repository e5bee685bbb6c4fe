package disk

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/sharestore/sharestore"
)

// Confinement. Every file operation of the backend starts from the
// storage directory's shares/ folder, held open for the backend's life,
// and goes down one path component at a time relative to an open
// directory: openat with O_NOFOLLOW (and O_DIRECTORY for directories),
// fstatat with AT_SYMLINK_NOFOLLOW, unlinkat, mkdirat and renameat
// relative to the directory that holds the name. No symbolic link is
// followed at any level. The platform half of it is in confine_unix.go
// (the system calls) and confine_other.go (a best effort with Lstat of
// each component where there are no *at calls).

// symlinkError reports a symbolic link met where the backend would have
// gone through it. mapErr classifies it as ErrPermissionDenied.
type symlinkError struct{ path string }

func (e *symlinkError) Error() string {
	return e.path + " is a symbolic link; the disk backend follows no symbolic link inside the storage directory"
}

// isSymlink reports whether err is, or wraps, a symlinkError.
func isSymlink(err error) bool {
	var se *symlinkError
	return errors.As(err, &se)
}

// pathIn is the path of name inside the open directory d, for messages.
func pathIn(d *os.File, name string) string { return d.Name() + string(filepath.Separator) + name }

// warnLink logs that the symbolic link at path was skipped.
func (b *fsys) warnLink(path string) {
	b.logger().Warn("disk: skipping symbolic link "+path+" (never followed, listed, counted or deleted)", "path", path)
}

// skipLink reports whether err is a symbolic link met on the way, and
// logs it if so: a read treats it as absent.
func (b *fsys) skipLink(err error) bool {
	var se *symlinkError
	if !errors.As(err, &se) {
		return false
	}
	b.warnLink(se.path)
	return true
}

// openPath opens the directory at the relative path comps (at least one
// component) below the open directory d, one component at a time and
// following no symbolic link. With create, missing directories are made
// with mode 0755. A symbolic link on the way is a *symlinkError, which is
// logged; other errors are *os.PathErrors.
func (b *fsys) openPath(d *os.File, create bool, comps ...string) (*os.File, error) {
	cur := d
	for _, c := range comps {
		next, err := openDirIn(cur, c)
		if create && errors.Is(err, fs.ErrNotExist) {
			if err = mkdirIn(cur, c); err == nil || errors.Is(err, fs.ErrExist) {
				next, err = openDirIn(cur, c)
			}
		}
		if cur != d {
			cur.Close()
		}
		if err != nil {
			b.skipLink(err)
			return nil, err
		}
		cur = next
	}
	return cur, nil
}

// absent reports whether err from openPath means there is nothing
// there for a reader: a missing directory, a file where a directory
// belongs, or a symbolic link (already logged).
func absent(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || isNotDir(err) || isSymlink(err)
}

// hold checks ctx and that b is open, and returns the open shares/
// directory. It stays open, even if Close is called meanwhile, until the
// matching release.
func (b *fsys) hold(ctx context.Context) (*os.File, error) {
	if err := sharestore.CtxErr(ctx); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "disk: backend %s is closed", b.root)
	}
	b.refs++
	return b.dir, nil
}

// holdWrite is hold for an operation that writes: a read-only backend
// refuses it.
func (b *fsys) holdWrite(ctx context.Context) (*os.File, error) {
	root, err := b.hold(ctx)
	if err != nil {
		return nil, err
	}
	if b.opts.ReadOnly {
		b.release()
		return nil, sharestore.Errorf(sharestore.ErrPermissionDenied, "disk: %s is read-only", b.root)
	}
	return root, nil
}

// release ends a hold; the last one after Close closes shares/.
func (b *fsys) release() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refs--
	if b.refs == 0 {
		b.dir.Close()
		b.dir = nil
	}
}

// openSIDir opens si's directory, shares/PP/SI, confined.
func (b *fsys) openSIDir(root *os.File, si sharestore.StorageIndex, create bool) (*os.File, error) {
	s := si.String()
	return b.openPath(root, create, s[:2], s)
}

// openIncomingDir opens si's directory under shares/incoming, confined.
func (b *fsys) openIncomingDir(root *os.File, si sharestore.StorageIndex, create bool) (*os.File, error) {
	s := si.String()
	return b.openPath(root, create, "incoming", s[:2], s)
}

// removeIfEmpty removes the directory name in d if it is empty, ignoring
// "not empty", "missing" and anything that is not a directory (a
// symbolic link is never removed). It never removes a non-empty
// directory.
func removeIfEmpty(d *os.File, name string) {
	if err := rmdirIn(d, name); err == nil {
		_ = syncDir(d)
	}
}

// syncDir fsyncs an open directory so that a rename or unlink in it is
// durable.
func syncDir(d *os.File) error {
	if err := d.Sync(); err != nil && !errors.Is(err, errSyncUnsupported) {
		return err
	}
	return nil
}
