package disk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/share"
)

type shareset struct {
	b  *Backend
	si sharestore.StorageIndex
}

func (s *shareset) StorageIndex() sharestore.StorageIndex { return s.si }

func (s *shareset) what(shnum int) string {
	return fmt.Sprintf("disk: share %s/%d", s.si, shnum)
}

func (s *shareset) lock(ctx context.Context) (func(), error) {
	return s.b.locks.Lock(ctx, s.si)
}

// Shares implements sharestore.Shareset.
func (s *shareset) Shares(ctx context.Context) ([]sharestore.Share, []int, error) {
	if err := s.b.check(ctx); err != nil {
		return nil, nil, err
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer unlock()
	return s.sharesLocked(ctx)
}

func (s *shareset) sharesLocked(ctx context.Context) ([]sharestore.Share, []int, error) {
	infos, err := s.b.listShares(s.si)
	if err != nil {
		return nil, nil, err
	}
	var shares []sharestore.Share
	var corrupt []int
	for _, info := range infos {
		if err := sharestore.CtxErr(ctx); err != nil {
			return nil, nil, err
		}
		sh, err := s.classify(info)
		switch {
		case errors.Is(err, sharestore.ErrCorrupt):
			corrupt = append(corrupt, info.Shnum)
		case errors.Is(err, sharestore.ErrNotFound):
			// deleted since listed
		case err != nil:
			return nil, nil, err
		default:
			shares = append(shares, sh)
		}
	}
	return shares, corrupt, nil
}

func (s *shareset) classify(info sharestore.ShareInfo) (sharestore.Share, error) {
	f, err := os.Open(s.b.sharePath(s.si, info.Shnum))
	if err != nil {
		return sharestore.Share{}, mapErr(err, s.what(info.Shnum))
	}
	defer f.Close()
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

// Share implements sharestore.Shareset.
func (s *shareset) Share(ctx context.Context, shnum int) (sharestore.Share, error) {
	if err := s.b.check(ctx); err != nil {
		return sharestore.Share{}, err
	}
	if err := checkShnum(shnum); err != nil {
		return sharestore.Share{}, err
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return sharestore.Share{}, err
	}
	defer unlock()
	info, err := s.stat(shnum)
	if err != nil {
		return sharestore.Share{}, err
	}
	return s.classify(info)
}

func (s *shareset) stat(shnum int) (sharestore.ShareInfo, error) {
	fi, err := os.Lstat(s.b.sharePath(s.si, shnum))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return sharestore.ShareInfo{}, sharestore.Errorf(sharestore.ErrNotFound, "%s does not exist", s.what(shnum))
		}
		return sharestore.ShareInfo{}, mapErr(err, s.what(shnum))
	}
	if !fi.Mode().IsRegular() {
		return sharestore.ShareInfo{}, sharestore.Errorf(sharestore.ErrNotFound, "%s is not a regular file", s.what(shnum))
	}
	return sharestore.ShareInfo{SI: s.si, Shnum: shnum, Size: fi.Size(), UsedSpace: usedSpace(fi), ModTime: fi.ModTime()}, nil
}

// ReadShareData implements sharestore.Shareset.
func (s *shareset) ReadShareData(ctx context.Context, shnum int, offset, length int64) ([]byte, error) {
	if err := s.b.check(ctx); err != nil {
		return nil, err
	}
	if err := checkShnum(shnum); err != nil {
		return nil, err
	}
	if _, _, err := share.Clamp(0, offset, length); err != nil {
		return nil, err
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if _, err := s.stat(shnum); err != nil {
		return nil, err
	}
	f, err := os.Open(s.b.sharePath(s.si, shnum))
	if err != nil {
		return nil, mapErr(err, s.what(shnum))
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

// DeleteShare implements sharestore.Shareset. It removes the share file and
// then the storage index directory if that left it empty. A guard sees
// the share file's lstat under the lock (size and modification time, no
// Version); when there is no regular share file, DeleteShare returns nil
// without calling the guard or removing anything.
func (s *shareset) DeleteShare(ctx context.Context, shnum int, guard sharestore.Guard) error {
	if err := s.b.checkWrite(ctx); err != nil {
		return err
	}
	if err := checkShnum(shnum); err != nil {
		return err
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if guard != nil {
		cur, err := s.stat(shnum)
		if errors.Is(err, sharestore.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := guard(ctx, cur); err != nil {
			return err
		}
	}
	if err := sharestore.CtxErr(ctx); err != nil {
		return err
	}
	return s.deleteLocked(shnum)
}

func (s *shareset) deleteLocked(shnum int) error {
	p := s.b.sharePath(s.si, shnum)
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return mapErr(err, "disk: delete "+p)
	}
	dir := s.b.siDir(s.si)
	if err := syncDir(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return mapErr(err, "disk: sync "+dir)
	}
	removeIfEmpty(dir)
	return nil
}

// OpenRaw implements sharestore.Shareset.
func (s *shareset) OpenRaw(ctx context.Context, shnum int) (io.ReadCloser, int64, error) {
	if err := s.b.check(ctx); err != nil {
		return nil, 0, err
	}
	if err := checkShnum(shnum); err != nil {
		return nil, 0, err
	}
	info, err := s.stat(shnum)
	if err != nil {
		return nil, 0, err
	}
	f, err := os.Open(s.b.sharePath(s.si, shnum))
	if err != nil {
		return nil, 0, mapErr(err, s.what(shnum))
	}
	return f, info.Size, nil
}

// PutRaw implements sharestore.Shareset. The bytes go to an incoming file
// that is fsynced and renamed over the share, so a reader sees either the
// old share or the whole new one.
func (s *shareset) PutRaw(ctx context.Context, shnum int, r io.Reader, size int64) error {
	if err := s.b.checkWrite(ctx); err != nil {
		return err
	}
	if err := checkShnum(shnum); err != nil {
		return err
	}
	if size < 0 {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "disk: put %s/%d: negative size %d", s.si, shnum, size)
	}
	w, err := s.b.startIncoming(s.si, shnum)
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			w.abort()
		}
	}()
	n, err := io.Copy(w.f, &ctxReader{ctx: ctx, r: io.LimitReader(r, size)})
	if err != nil {
		return mapErr(err, "disk: put "+w.path)
	}
	if n != size {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "disk: put %s/%d: reader gave %d bytes, want %d", s.si, shnum, n, size)
	}
	var one [1]byte
	if m, _ := io.ReadFull(r, one[:]); m > 0 {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "disk: put %s/%d: reader has more than %d bytes", s.si, shnum, size)
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if err := w.commit(ctx, true); err != nil {
		return err
	}
	ok = true
	return nil
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := sharestore.CtxErr(c.ctx); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// WriteImmutable implements sharestore.Shareset.
func (s *shareset) WriteImmutable(ctx context.Context, shnum int, allocated int64) (sharestore.ImmutableWriter, error) {
	if err := s.b.checkWrite(ctx); err != nil {
		return nil, err
	}
	if err := checkShnum(shnum); err != nil {
		return nil, err
	}
	if allocated < 0 {
		return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "disk: write %s/%d: negative allocated size %d", s.si, shnum, allocated)
	}
	if _, err := os.Lstat(s.b.sharePath(s.si, shnum)); err == nil {
		return nil, sharestore.Errorf(sharestore.ErrConflict, "disk: share %s/%d already exists", s.si, shnum)
	}
	w, err := s.b.startIncoming(s.si, shnum)
	if err != nil {
		return nil, err
	}
	if _, err := w.f.Write(share.NewImmutableHeader(s.b.opts.ContainerVersion, allocated)); err != nil {
		w.abort()
		return nil, mapErr(err, "disk: write "+w.path)
	}
	return &immutableWriter{s: s, w: w, allocated: allocated}, nil
}

// incomingFile is an exclusive file under shares/incoming that becomes a
// share on commit.
type incomingFile struct {
	b     *Backend
	si    sharestore.StorageIndex
	shnum int
	path  string
	f     *os.File
	done  bool
}

// startIncoming creates incoming/PP/SI/N exclusively. An existing incoming
// file (an upload in progress here or by another server process, or a
// leftover) is ErrConflict.
func (b *Backend) startIncoming(si sharestore.StorageIndex, shnum int) (*incomingFile, error) {
	id := sharestore.ShareID{SI: si, Shnum: shnum}
	b.mu.Lock()
	if b.incoming[id] {
		b.mu.Unlock()
		return nil, sharestore.Errorf(sharestore.ErrConflict, "disk: share %s is already being written", id)
	}
	b.incoming[id] = true
	b.mu.Unlock()
	p := b.incomingPath(si, shnum)
	fail := func(err error) (*incomingFile, error) {
		b.mu.Lock()
		delete(b.incoming, id)
		b.mu.Unlock()
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fail(mapErr(err, "disk: create "+filepath.Dir(p)))
	}
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fail(sharestore.Errorf(sharestore.ErrConflict, "disk: share %s is already being written (%s exists; if no upload is running, `sharestore maintenance clean-incoming` removes leftovers)", id, p))
		}
		return fail(mapErr(err, "disk: create "+p))
	}
	return &incomingFile{b: b, si: si, shnum: shnum, path: p, f: f}, nil
}

func (w *incomingFile) release() {
	w.b.mu.Lock()
	delete(w.b.incoming, sharestore.ShareID{SI: w.si, Shnum: w.shnum})
	w.b.mu.Unlock()
	w.done = true
	// Tahoe removes the incoming SI and prefix directories after close
	// but keeps shares/incoming itself.
	removeIfEmpty(filepath.Dir(w.path))
	removeIfEmpty(filepath.Dir(filepath.Dir(w.path)))
}

func (w *incomingFile) abort() {
	if w.done {
		return
	}
	w.f.Close()
	os.Remove(w.path)
	w.release()
}

// commit fsyncs the file and renames it into place. Unless replace is
// set, an existing share is ErrConflict. The caller holds the SI lock.
func (w *incomingFile) commit(ctx context.Context, replace bool) error {
	if err := sharestore.CtxErr(ctx); err != nil {
		return err
	}
	if err := w.f.Sync(); err != nil {
		return mapErr(err, "disk: sync "+w.path)
	}
	if err := w.f.Close(); err != nil {
		return mapErr(err, "disk: close "+w.path)
	}
	final := w.b.sharePath(w.si, w.shnum)
	dir := filepath.Dir(final)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return mapErr(err, "disk: create "+dir)
	}
	if !replace {
		if _, err := os.Lstat(final); err == nil {
			return sharestore.Errorf(sharestore.ErrConflict, "disk: share %s/%d already exists", w.si, w.shnum)
		}
	}
	if err := os.Rename(w.path, final); err != nil {
		return mapErr(err, "disk: rename "+w.path)
	}
	if err := syncDir(dir); err != nil {
		return mapErr(err, "disk: sync "+dir)
	}
	w.release()
	return nil
}

type immutableWriter struct {
	s         *shareset
	w         *incomingFile
	allocated int64
	end       int64
}

func (iw *immutableWriter) Write(ctx context.Context, offset int64, data []byte) error {
	if iw.w.done {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "disk: write to share %s/%d after close or abort", iw.s.si, iw.w.shnum)
	}
	if err := sharestore.CtxErr(ctx); err != nil {
		return err
	}
	if offset < iw.end {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "disk: write to share %s/%d at offset %d goes backwards (data already written to %d)", iw.s.si, iw.w.shnum, offset, iw.end)
	}
	if offset > iw.allocated || int64(len(data)) > iw.allocated-offset {
		return sharestore.Errorf(sharestore.ErrOutOfRange, "disk: write of %d bytes at offset %d passes the allocated size %d of share %s/%d", len(data), offset, iw.allocated, iw.s.si, iw.w.shnum)
	}
	if _, err := iw.w.f.WriteAt(data, share.ImmutableHeaderSize+offset); err != nil {
		return mapErr(err, "disk: write "+iw.w.path)
	}
	iw.end = offset + int64(len(data))
	return nil
}

func (iw *immutableWriter) Close(ctx context.Context) error {
	if iw.w.done {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "disk: share %s/%d is already closed or aborted", iw.s.si, iw.w.shnum)
	}
	unlock, err := iw.s.lock(ctx)
	if err != nil {
		iw.w.abort()
		return err
	}
	defer unlock()
	if err := iw.w.commit(ctx, false); err != nil {
		iw.w.abort()
		return err
	}
	return nil
}

func (iw *immutableWriter) Abort(ctx context.Context) error {
	iw.w.abort()
	return nil
}

// TestAndReadAndWrite implements sharestore.Shareset with the shared slot
// algorithm of package share, under the storage index's lock. Mutable
// containers are edited in place and fsynced, as Tahoe does.
func (s *shareset) TestAndReadAndWrite(ctx context.Context, we sharestore.WriteEnabler, tw []sharestore.TestAndWrite, reads []sharestore.ReadRange) (bool, map[int][][]byte, error) {
	if err := s.b.check(ctx); err != nil {
		return false, nil, err
	}
	if s.b.opts.ReadOnly && len(tw) > 0 {
		return false, nil, sharestore.Errorf(sharestore.ErrPermissionDenied, "disk: %s is read-only", s.b.root)
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return false, nil, err
	}
	defer unlock()
	store := &slotStore{s: s}
	return share.TestAndReadAndWrite(ctx, store, share.SlotOptions{NodeID: s.b.opts.NodeID, Version: s.b.opts.ContainerVersion}, we, tw, reads)
}

type slotStore struct{ s *shareset }

func (st *slotStore) Shares(ctx context.Context) ([]sharestore.Share, []int, error) {
	return st.s.sharesLocked(ctx)
}

func (st *slotStore) Open(ctx context.Context, shnum int) (share.MutableFile, error) {
	p := st.s.b.sharePath(st.s.si, shnum)
	f, err := os.OpenFile(p, os.O_RDWR, 0)
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
// does; it is fsynced before the slot operation returns.
func (st *slotStore) Create(ctx context.Context, shnum int, container []byte) (share.MutableFile, error) {
	p := st.s.b.sharePath(st.s.si, shnum)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, mapErr(err, "disk: create "+filepath.Dir(p))
	}
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, mapErr(err, "disk: create "+p)
	}
	if _, err := f.Write(container); err != nil {
		f.Close()
		os.Remove(p)
		return nil, mapErr(err, "disk: write "+p)
	}
	return &diskFile{f: f, size: int64(len(container)), dir: filepath.Dir(p)}, nil
}

func (st *slotStore) Delete(ctx context.Context, shnum int) error {
	return st.s.deleteLocked(shnum)
}

type diskFile struct {
	f    *os.File
	size int64
	dir  string // set for new files: fsync the directory on commit
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
	if d.dir != "" {
		if err := syncDir(d.dir); err != nil {
			return mapErr(err, "disk: sync "+d.dir)
		}
	}
	return nil
}
func (d *diskFile) Close() error { return d.f.Close() }

// CleanIncoming removes leftover incoming uploads: files under
// shares/incoming whose modification time is older than olderThan and
// that this backend is not writing. It returns the paths it removed. It
// is a maintenance operation for a store that no Tahoe server is using.
func (b *Backend) CleanIncoming(ctx context.Context, olderThan time.Time) ([]string, error) {
	if err := b.checkWrite(ctx); err != nil {
		return nil, err
	}
	base := filepath.Join(b.shares, "incoming")
	var removed []string
	prefixes, err := readDirNames(base)
	if err != nil {
		return nil, mapErr(err, "disk: list "+base)
	}
	sort.Strings(prefixes)
	for _, p := range prefixes {
		sis, err := readDirNames(filepath.Join(base, p))
		if err != nil {
			return removed, mapErr(err, "disk: list "+filepath.Join(base, p))
		}
		for _, si := range sis {
			dir := filepath.Join(base, p, si)
			names, err := readDirNames(dir)
			if err != nil {
				return removed, mapErr(err, "disk: list "+dir)
			}
			for _, n := range names {
				if err := sharestore.CtxErr(ctx); err != nil {
					return removed, err
				}
				path := filepath.Join(dir, n)
				if sid, err := sharestore.ParseStorageIndex(si); err == nil {
					if shnum, err := strconv.Atoi(n); err == nil {
						b.mu.Lock()
						busy := b.incoming[sharestore.ShareID{SI: sid, Shnum: shnum}]
						b.mu.Unlock()
						if busy {
							continue
						}
					}
				}
				fi, err := os.Lstat(path)
				if err != nil || !fi.Mode().IsRegular() || !fi.ModTime().Before(olderThan) {
					continue
				}
				if err := os.Remove(path); err != nil {
					return removed, mapErr(err, "disk: remove "+path)
				}
				removed = append(removed, path)
			}
			removeIfEmpty(dir)
		}
		removeIfEmpty(filepath.Join(base, p))
	}
	return removed, nil
}
