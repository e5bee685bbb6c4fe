package disk

import (
	"context"
	"io"
	"os"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/internal/workerpool"
	"github.com/sharestore/sharestore/share"
)

// ReadHeaders implements sharestore.HeaderReader: for each id, what
// Shareset(id.SI).Share(ctx, id.Shnum) returns. The ids are grouped by
// storage index; each group is read under its storage index's lock,
// with the directory reached from shares/ without following a symbolic
// link and opened once, and each share file looked up and opened
// relative to it (openat with O_NOFOLLOW, fstatat), with
// sharestore.DefaultHeaderWorkers groups at a time. It returns an error
// only if ctx ends or the backend is closed; fn has then been called for
// some of ids.
func (b *Backend) ReadHeaders(ctx context.Context, ids []sharestore.ShareID, fn func(sharestore.ShareID, sharestore.Share, error)) error {
	root, err := b.hold(ctx)
	if err != nil {
		return err
	}
	defer b.release()
	var groups [][]sharestore.ShareID
	at := map[sharestore.StorageIndex]int{}
	for _, id := range ids {
		g, ok := at[id.SI]
		if !ok {
			g = len(groups)
			at[id.SI] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], id)
	}
	var mu sync.Mutex
	report := func(id sharestore.ShareID, sh sharestore.Share, err error) {
		mu.Lock()
		fn(id, sh, err)
		mu.Unlock()
	}
	if err := workerpool.Each(ctx, groups, sharestore.DefaultHeaderWorkers, func(g []sharestore.ShareID) {
		b.readGroup(ctx, root, g, report)
	}); err != nil {
		return sharestore.CtxErr(ctx)
	}
	return b.check(ctx)
}

// readGroup reads the headers of ids, which share one storage index,
// and reports them once the storage index's lock is released (fn may
// call the backend).
func (b *Backend) readGroup(ctx context.Context, root *os.File, ids []sharestore.ShareID, report func(sharestore.ShareID, sharestore.Share, error)) {
	shares := make([]sharestore.Share, len(ids))
	errs := make([]error, len(ids))
	b.readGroupLocked(ctx, root, ids, shares, errs)
	for i, id := range ids {
		report(id, shares[i], errs[i])
	}
}

// readGroupLocked fills shares and errs for ids under their storage
// index's lock.
func (b *Backend) readGroupLocked(ctx context.Context, root *os.File, ids []sharestore.ShareID, shares []sharestore.Share, errs []error) {
	s := &shareset{b: b, si: ids[0].SI}
	fail := func(err error) {
		for i := range errs {
			errs[i] = err
		}
	}
	if err := b.check(ctx); err != nil {
		fail(err)
		return
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		fail(err)
		return
	}
	defer unlock()
	d, err := b.openSIDir(root, s.si, false)
	if err != nil && !absent(err) {
		fail(mapErr(err, "disk: storage index directory "+s.dirPath()))
		return
	}
	if err == nil {
		defer d.Close()
	}
	for i, id := range ids {
		switch {
		case id.Shnum < 0:
			errs[i] = checkShnum(id.Shnum)
		case err != nil: // no directory (or a symbolic link, logged): no share
			errs[i] = s.readErr(err, id.Shnum)
		default:
			shares[i], errs[i] = s.headerAt(d, id.Shnum)
		}
	}
}

// headerAt is Share for the share file shnum in si's open directory d.
func (s *shareset) headerAt(d *os.File, shnum int) (sharestore.Share, error) {
	info, err := s.statIn(d, shnum)
	if err != nil {
		return sharestore.Share{}, err
	}
	name := strconv.Itoa(shnum)
	fd, err := openatNoFollow(int(d.Fd()), name, unix.O_RDONLY, 0)
	if err != nil {
		return sharestore.Share{}, s.openErr(linkOr(d, name, "open", err), shnum)
	}
	defer unix.Close(fd)
	h, err := readHeaderFd(fd, pathIn(d, name))
	if err != nil {
		return sharestore.Share{}, classifyErr(err, s.what(shnum))
	}
	info.Size = h.Size
	return sharestore.Share{ShareInfo: info, Type: h.Type, Version: h.Version, DataLength: h.DataLength}, nil
}

// readHeaderFd is readHeader for a raw descriptor; path names it in
// errors and for headerReadHook.
func readHeaderFd(fd int, path string) (share.Header, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return share.Header{}, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	head := make([]byte, min(st.Size, share.HeaderReadSize))
	if headerReadHook != nil {
		headerReadHook(path, len(head))
	}
	for off := 0; off < len(head); {
		n, err := unix.Pread(fd, head[off:], int64(off))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return share.Header{}, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return share.Header{}, &os.PathError{Op: "read", Path: path, Err: io.ErrUnexpectedEOF}
		}
		off += n
	}
	return share.Classify(head, st.Size)
}

var _ sharestore.HeaderReader = (*Backend)(nil)
