package disk

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/sharestore/sharestore"
)

var _ sharestore.MetaStore = (*Backend)(nil)

// ReadMeta implements sharestore.MetaStore: the record is the file
// ROOT/name, next to shares/. A symlink or anything but a regular file
// there is refused, never followed.
func (b *fsys) ReadMeta(ctx context.Context, name string) ([]byte, error) {
	if _, err := b.hold(ctx); err != nil {
		return nil, err
	}
	defer b.release()
	if err := sharestore.CheckMeta(name, 0); err != nil {
		return nil, err
	}
	p := filepath.Join(b.root, name)
	st, err := os.Lstat(p)
	if err != nil {
		return nil, mapErr(err, "disk: read "+p)
	}
	if !st.Mode().IsRegular() {
		return nil, sharestore.Errorf(sharestore.ErrCorrupt, "disk: %s is not a regular file (%s); it is not read", p, st.Mode().Type())
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, mapErr(err, "disk: read "+p)
	}
	defer f.Close()
	if fst, err := f.Stat(); err != nil || !os.SameFile(st, fst) {
		return nil, sharestore.Errorf(sharestore.ErrConflict, "disk: %s changed while it was opened", p)
	}
	data, err := io.ReadAll(io.LimitReader(f, sharestore.MaxMetaSize+1))
	if err != nil {
		return nil, mapErr(err, "disk: read "+p)
	}
	if len(data) > sharestore.MaxMetaSize {
		return nil, sharestore.Errorf(sharestore.ErrCorrupt, "disk: %s is larger than %d bytes", p, sharestore.MaxMetaSize)
	}
	return data, nil
}

// WriteMeta implements sharestore.MetaStore: the bytes go to a temporary
// file in ROOT that is fsynced and renamed over ROOT/name.
func (b *fsys) WriteMeta(ctx context.Context, name string, data []byte) error {
	if _, err := b.holdWrite(ctx); err != nil {
		return err
	}
	defer b.release()
	if err := sharestore.CheckMeta(name, len(data)); err != nil {
		return err
	}
	p := filepath.Join(b.root, name)
	if st, err := os.Lstat(p); err == nil && !st.Mode().IsRegular() {
		return sharestore.Errorf(sharestore.ErrConflict, "disk: %s is not a regular file (%s); it is not replaced", p, st.Mode().Type())
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return mapErr(err, "disk: write "+p)
	}
	f, err := os.CreateTemp(b.root, "."+name+".tmp-*")
	if err != nil {
		return mapErr(err, "disk: write "+p)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return mapErr(err, "disk: write "+tmp)
	}
	if err := f.Sync(); err != nil {
		return mapErr(err, "disk: sync "+tmp)
	}
	if err := f.Close(); err != nil {
		return mapErr(err, "disk: write "+tmp)
	}
	if err := os.Rename(tmp, p); err != nil {
		return mapErr(err, "disk: write "+p)
	}
	ok = true
	d, err := os.Open(b.root)
	if err != nil {
		return mapErr(err, "disk: sync "+b.root)
	}
	defer d.Close()
	if err := syncDir(d); err != nil {
		return mapErr(err, "disk: sync "+b.root)
	}
	return nil
}
