package disk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/driver"
	"github.com/sharestore/sharestore/share"
)

type shareset struct {
	b  *fsys
	si sharestore.StorageIndex
}

func (s *shareset) what(shnum int) string {
	return fmt.Sprintf("disk: share %s/%d", s.si, shnum)
}

// dirPath is the path of si's directory, for messages.
func (s *shareset) dirPath() string {
	n := s.si.String()
	return filepath.Join(s.b.shares, n[:2], n)
}

// Shares implements driver.Driver.
func (b *fsys) Shares(ctx context.Context, si sharestore.StorageIndex) ([]sharestore.Share, []int, error) {
	root, err := b.hold(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer b.release()
	return b.set(si).sharesLocked(ctx, root)
}

func (s *shareset) sharesLocked(ctx context.Context, root *os.File) ([]sharestore.Share, []int, error) {
	infos, err := s.b.listShares(root, s.si)
	if err != nil || len(infos) == 0 {
		return nil, nil, err
	}
	d, err := s.b.openSIDir(root, s.si, false)
	if err != nil {
		if absent(err) {
			return nil, nil, nil // removed since listed
		}
		return nil, nil, mapErr(err, "disk: list "+s.dirPath())
	}
	defer d.Close()
	return driver.ClassifyAll(ctx, infos, func(info sharestore.ShareInfo) (sharestore.Share, error) {
		return s.classifyIn(d, info)
	})
}

// classifyIn reads the header of the share file of info in si's open
// directory d.
func (s *shareset) classifyIn(d *os.File, info sharestore.ShareInfo) (sharestore.Share, error) {
	f, err := openFileIn(d, strconv.Itoa(info.Shnum), os.O_RDONLY, 0)
	if err != nil {
		return sharestore.Share{}, s.openErr(err, info.Shnum)
	}
	defer f.Close()
	return s.classify(f, info)
}

// classify reads the header of the open share file f of info.
func (s *shareset) classify(f *os.File, info sharestore.ShareInfo) (sharestore.Share, error) {
	h, err := readHeader(f)
	if err != nil {
		return sharestore.Share{}, classifyErr(err, s.what(info.Shnum))
	}
	info.Size = h.Size
	return sharestore.Share{ShareInfo: info, Type: h.Type, Version: h.Version, DataLength: h.DataLength}, nil
}

func classifyErr(err error, what string) error {
	if sharestore.CodeOf(err) == sharestore.ErrCorrupt {
		return sharestore.Wrap(sharestore.ErrCorrupt, err, what)
	}
	return mapErr(err, what)
}

// readErr classifies err from reaching share shnum for reading: a
// missing file or directory, or a symbolic link on the way (which
// openPath has logged), is ErrNotFound.
func (s *shareset) readErr(err error, shnum int) error {
	if isSymlink(err) {
		return sharestore.Errorf(sharestore.ErrNotFound, "%s does not exist: %v", s.what(shnum), err)
	}
	if absent(err) {
		return sharestore.Errorf(sharestore.ErrNotFound, "%s does not exist", s.what(shnum))
	}
	return mapErr(err, s.what(shnum))
}

// openErr is readErr for an error from opening the share file itself,
// logging a symbolic link there.
func (s *shareset) openErr(err error, shnum int) error {
	s.b.skipLink(err)
	return s.readErr(err, shnum)
}

// Share implements driver.Driver.
func (b *fsys) Share(ctx context.Context, si sharestore.StorageIndex, shnum int) (sharestore.Share, error) {
	root, err := b.hold(ctx)
	if err != nil {
		return sharestore.Share{}, err
	}
	defer b.release()
	s := b.set(si)
	f, info, err := s.openShare(root, shnum)
	if err != nil {
		return sharestore.Share{}, err
	}
	defer f.Close()
	return s.classify(f, info)
}

// Stat implements driver.Driver with stat.
func (b *fsys) Stat(ctx context.Context, si sharestore.StorageIndex, shnum int) (sharestore.ShareInfo, error) {
	return b.set(si).stat(shnum)
}

// stat returns the listing entry of share shnum from an lstat relative
// to si's directory, reached from shares/ without following a symbolic
// link. A missing share, or one that is not a regular file (a symbolic
// link, logged), is ErrNotFound. It takes no lock; callers may hold the
// storage index's.
func (s *shareset) stat(shnum int) (sharestore.ShareInfo, error) {
	root, err := s.b.hold(context.Background())
	if err != nil {
		return sharestore.ShareInfo{}, err
	}
	defer s.b.release()
	d, err := s.b.openSIDir(root, s.si, false)
	if err != nil {
		return sharestore.ShareInfo{}, s.readErr(err, shnum)
	}
	defer d.Close()
	return s.statIn(d, shnum)
}

// statIn is stat in si's open directory d.
func (s *shareset) statIn(d *os.File, shnum int) (sharestore.ShareInfo, error) {
	st, err := lstatIn(d, strconv.Itoa(shnum))
	switch {
	case err != nil:
		return sharestore.ShareInfo{}, s.readErr(err, shnum)
	case st.symlink:
		s.b.warnLink(pathIn(d, strconv.Itoa(shnum)))
		return sharestore.ShareInfo{}, sharestore.Errorf(sharestore.ErrNotFound, "%s is a symbolic link, which is not followed", s.what(shnum))
	case !st.regular:
		return sharestore.ShareInfo{}, sharestore.Errorf(sharestore.ErrNotFound, "%s is not a regular file", s.what(shnum))
	}
	info, _ := shareInfo(s.si, shnum, st)
	return info, nil
}

// openShare opens share shnum for reading, confined, with its listing
// entry.
func (s *shareset) openShare(root *os.File, shnum int) (*os.File, sharestore.ShareInfo, error) {
	d, err := s.b.openSIDir(root, s.si, false)
	if err != nil {
		return nil, sharestore.ShareInfo{}, s.readErr(err, shnum)
	}
	defer d.Close()
	info, err := s.statIn(d, shnum)
	if err != nil {
		return nil, info, err
	}
	f, err := openFileIn(d, strconv.Itoa(shnum), os.O_RDONLY, 0)
	if err != nil {
		return nil, info, s.openErr(err, shnum)
	}
	return f, info, nil
}

// ReadShareData implements driver.Driver.
func (b *fsys) ReadShareData(ctx context.Context, si sharestore.StorageIndex, shnum int, offset, length int64) ([]byte, error) {
	root, err := b.hold(ctx)
	if err != nil {
		return nil, err
	}
	defer b.release()
	s := b.set(si)
	f, _, err := s.openShare(root, shnum)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h, err := readHeader(f)
	if err != nil {
		return nil, classifyErr(err, s.what(shnum))
	}
	data, err := share.ReadData(f, h, offset, length)
	if err != nil {
		return nil, classifyErr(err, s.what(shnum))
	}
	return data, nil
}

// Delete implements driver.Driver. It removes the share file and then
// the storage index directory if that left it empty. The disk has no
// conditional delete: expected was checked under the lock by the guard,
// from the share file's lstat (size and modification time, no Version).
func (b *fsys) Delete(ctx context.Context, si sharestore.StorageIndex, shnum int, expected *sharestore.ShareInfo) error {
	root, err := b.hold(ctx)
	if err != nil {
		return err
	}
	defer b.release()
	return b.set(si).deleteLocked(root, shnum)
}

// deleteLocked removes share shnum, relative to si's directory, and then
// si's directory, relative to the prefix directory, if that left it
// empty. Only a regular file is removed: a missing share is no error,
// and a symbolic link as the prefix directory, si's directory or the
// share is ErrPermissionDenied (logged) with nothing removed. The caller
// holds the storage index's lock.
func (s *shareset) deleteLocked(root *os.File, shnum int) error {
	n := s.si.String()
	what := "disk: delete " + filepath.Join(s.dirPath(), strconv.Itoa(shnum))
	pd, err := s.b.openPath(root, false, n[:2])
	if err != nil {
		return deleteErr(err, what)
	}
	defer pd.Close()
	d, err := s.b.openPath(pd, false, n)
	if err != nil {
		return deleteErr(err, what)
	}
	defer d.Close()
	name := strconv.Itoa(shnum)
	st, err := lstatIn(d, name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return mapErr(err, what)
	case st.symlink:
		s.b.warnLink(pathIn(d, name))
		return mapErr(&symlinkError{path: pathIn(d, name)}, what)
	case !st.regular:
		return nil // not a share
	}
	if err := unlinkIn(d, name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return mapErr(err, what)
	}
	if err := syncDir(d); err != nil {
		return mapErr(err, "disk: sync "+d.Name())
	}
	removeIfEmpty(pd, n)
	return nil
}

// deleteErr is nil when err from reaching a share's directory means
// there is nothing to delete, and the classified error otherwise: a
// symbolic link on the way is ErrPermissionDenied.
func deleteErr(err error, what string) error {
	if !isSymlink(err) && absent(err) {
		return nil
	}
	return mapErr(err, what)
}

// OpenRaw implements driver.Driver.
func (b *fsys) OpenRaw(ctx context.Context, si sharestore.StorageIndex, shnum int) (io.ReadCloser, int64, error) {
	root, err := b.hold(ctx)
	if err != nil {
		return nil, 0, err
	}
	defer b.release()
	f, info, err := b.set(si).openShare(root, shnum)
	if err != nil {
		return nil, 0, err
	}
	return f, info.Size, nil
}
