package disk

import (
	"context"
	"os"
	"strconv"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/share"
)

// SlotStore implements driver.SlotDriver: the shared slot algorithm
// edits si's mutable containers in place and fsyncs them, as Tahoe does.
func (b *fsys) SlotStore(ctx context.Context, si sharestore.StorageIndex) (share.SlotStore, share.SlotOptions, error) {
	return &slotStore{s: b.set(si)}, share.SlotOptions{NodeID: b.opts.NodeID, Version: b.opts.ContainerVersion}, nil
}

// slotStore gives the slot algorithm si's mutable containers, reached
// from shares/ without following a symbolic link. Each call holds
// shares/ open for its own duration; the files it returns keep their
// own descriptors.
type slotStore struct {
	s *shareset
}

func (st *slotStore) Shares(ctx context.Context) ([]sharestore.Share, []int, error) {
	root, err := st.s.b.hold(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer st.s.b.release()
	return st.s.sharesLocked(ctx, root)
}

func (st *slotStore) Open(ctx context.Context, shnum int) (share.MutableFile, error) {
	root, err := st.s.b.hold(ctx)
	if err != nil {
		return nil, err
	}
	defer st.s.b.release()
	d, err := st.s.b.openSIDir(root, st.s.si, false)
	if err != nil {
		return nil, mapErr(err, st.s.what(shnum))
	}
	defer d.Close()
	f, err := openFileIn(d, strconv.Itoa(shnum), os.O_RDWR, 0)
	if err != nil {
		return nil, mapErr(err, st.s.what(shnum))
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, mapErr(err, st.s.what(shnum))
	}
	return &diskFile{f: f, size: fi.Size()}, nil
}

// Create writes a new mutable container in place with O_EXCL, as Tahoe
// does; it is fsynced before the slot operation returns. A symbolic link
// as the prefix or storage index directory is ErrPermissionDenied.
func (st *slotStore) Create(ctx context.Context, shnum int, container []byte) (share.MutableFile, error) {
	root, err := st.s.b.hold(ctx)
	if err != nil {
		return nil, err
	}
	defer st.s.b.release()
	d, err := st.s.b.openSIDir(root, st.s.si, true)
	if err != nil {
		return nil, mapErr(err, "disk: create "+st.s.dirPath())
	}
	name := strconv.Itoa(shnum)
	f, err := openFileIn(d, name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		d.Close()
		return nil, mapErr(err, "disk: create "+pathIn(d, name))
	}
	if _, err := f.Write(container); err != nil {
		f.Close()
		unlinkIn(d, name)
		d.Close()
		return nil, mapErr(err, "disk: write "+pathIn(d, name))
	}
	return &diskFile{f: f, size: int64(len(container)), dir: d}, nil
}

func (st *slotStore) Delete(ctx context.Context, shnum int) error {
	root, err := st.s.b.hold(ctx)
	if err != nil {
		return err
	}
	defer st.s.b.release()
	return st.s.deleteLocked(root, shnum)
}

type diskFile struct {
	f    *os.File
	size int64
	dir  *os.File // set for new files: fsync the directory on commit
}

func (d *diskFile) ReadAt(p []byte, off int64) (int, error) { return d.f.ReadAt(p, off) }
func (d *diskFile) WriteAt(p []byte, off int64) (int, error) {
	n, err := d.f.WriteAt(p, off)
	if end := off + int64(n); end > d.size {
		d.size = end
	}
	return n, err
}
func (d *diskFile) Size() int64 { return d.size }
func (d *diskFile) Commit(ctx context.Context) error {
	if err := d.f.Sync(); err != nil {
		return mapErr(err, "disk: sync "+d.f.Name())
	}
	if d.dir != nil {
		if err := syncDir(d.dir); err != nil {
			return mapErr(err, "disk: sync "+d.dir.Name())
		}
	}
	return nil
}
func (d *diskFile) Close() error {
	if d.dir != nil {
		d.dir.Close()
	}
	return d.f.Close()
}
