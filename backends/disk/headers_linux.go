package disk

import (
	"context"
	"io"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/driver"
	"github.com/sharestore/sharestore/share"
)

// ReadHeaderGroup implements driver.HeaderGroupReader, under si's lock
// (the shared layer groups a batch by storage index and reads
// sharestore.DefaultHeaderWorkers groups at a time): si's directory is
// reached from shares/ without following a symbolic link and opened
// once, and each share file is looked up and opened relative to it
// (openat with O_NOFOLLOW, fstatat).
func (b *fsys) ReadHeaderGroup(ctx context.Context, si sharestore.StorageIndex, shnums []int) ([]sharestore.Share, []error) {
	shares := make([]sharestore.Share, len(shnums))
	errs := make([]error, len(shnums))
	fail := func(err error) ([]sharestore.Share, []error) {
		for i := range errs {
			errs[i] = err
		}
		return shares, errs
	}
	root, err := b.hold(ctx)
	if err != nil {
		return fail(err)
	}
	defer b.release()
	s := b.set(si)
	d, err := b.openSIDir(root, si, false)
	if err != nil && !absent(err) {
		return fail(mapErr(err, "disk: storage index directory "+s.dirPath()))
	}
	if err == nil {
		defer d.Close()
	}
	for i, shnum := range shnums {
		if err != nil { // no directory (or a symbolic link, logged): no share
			errs[i] = s.readErr(err, shnum)
			continue
		}
		shares[i], errs[i] = s.headerAt(d, shnum)
	}
	return shares, errs
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

var _ driver.HeaderGroupReader = (*fsys)(nil)
