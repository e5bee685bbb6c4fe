package disk

import (
	"encoding/binary"
	"errors"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/sharestore/sharestore"
)

// direntBufs holds the getdents buffers of listings: a storage index
// directory holds a few names, so one 8 KiB read usually takes them all.
var direntBufs = sync.Pool{New: func() any { b := make([]byte, 8<<10); return &b }}

// The layout of a struct linux_dirent64 as getdents64 returns it.
const (
	direntReclen = 16 // uint16 d_reclen
	direntType   = 18 // uint8 d_type
	direntName   = 19 // NUL-terminated d_name
)

// listSharesAt lists the share files of si's directory, name, relative
// to the open directory parent (or name as a path when parent is nil),
// sorted by shnum. A directory that is missing, or a file where it
// belongs, holds no shares.
//
// It is the crawler's inner loop, so it works on the raw descriptor:
// openat, getdents64 into a pooled buffer, fstatat of each share file
// (none for a name that is not a share number or an entry that is not
// a regular file) and close, with no os.File and no allocation per
// name beyond the one fstatat needs.
func listSharesAt(parent *os.File, name string, si sharestore.StorageIndex) ([]sharestore.ShareInfo, error) {
	dirfd, dir := unix.AT_FDCWD, name
	if parent != nil {
		dirfd, dir = int(parent.Fd()), parent.Name()+"/"+name
	}
	fd, err := openDir(dirfd, name)
	if err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
			return nil, nil // removed since the prefix was read, or a stray file
		}
		return nil, mapErr(&os.PathError{Op: "open", Path: dir, Err: err}, "disk: list "+dir)
	}
	defer unix.Close(fd)
	bp := direntBufs.Get().(*[]byte)
	defer direntBufs.Put(bp)
	buf := *bp
	var out []sharestore.ShareInfo
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, mapErr(&os.PathError{Op: "readdirent", Path: dir, Err: err}, "disk: list "+dir)
		}
		if n <= 0 {
			break
		}
		for b := buf[:n]; len(b) >= direntName; {
			reclen := int(binary.NativeEndian.Uint16(b[direntReclen:]))
			if reclen < direntName || reclen > len(b) {
				return nil, sharestore.Errorf(sharestore.ErrInternal, "disk: list %s: malformed directory entry from getdents", dir)
			}
			typ, nb := b[direntType], b[direntName:reclen]
			b = b[reclen:]
			for i, c := range nb {
				if c == 0 {
					nb = nb[:i]
					break
				}
			}
			shnum, ok := parseShnumBytes(nb)
			if !ok || (typ != unix.DT_REG && typ != unix.DT_UNKNOWN) {
				continue
			}
			st, err := fstatat(fd, dir, string(nb))
			if err != nil {
				if errors.Is(err, unix.ENOENT) {
					continue // deleted since the readdir
				}
				return nil, mapErr(err, "disk: stat "+dir+"/"+string(nb))
			}
			if info, ok := shareInfo(si, shnum, st); ok {
				out = append(out, info)
			}
		}
	}
	sortByShnum(out)
	return out, nil
}

// openDir opens the directory name relative to dirfd for reading.
func openDir(dirfd int, name string) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}
