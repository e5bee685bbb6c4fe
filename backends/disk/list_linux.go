package disk

import (
	"encoding/binary"
	"errors"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/driver"
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

// listSharesAt lists the share files of si's directory in the open
// prefix directory pd, sorted by shnum. A directory that is missing, a
// file where it belongs or a symbolic link (logged) holds no shares; a
// share file that is a symbolic link is skipped and logged.
//
// It is the crawler's inner loop, so it works on the raw descriptor:
// openat, getdents64 into a pooled buffer, fstatat of each share file
// (none for a name that is not a share number or an entry that is not
// a regular file) and close, with no os.File and no allocation per
// name beyond the one fstatat needs.
func (b *fsys) listSharesAt(pd *os.File, si sharestore.StorageIndex) ([]sharestore.ShareInfo, error) {
	name := si.String()
	dir := pathIn(pd, name)
	fd, err := openatNoFollow(int(pd.Fd()), name, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		err = linkOr(pd, name, "open", err)
		if b.skipLink(err) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
			return nil, nil // removed since the prefix was read, a stray file, or a link
		}
		return nil, mapErr(err, "disk: list "+dir)
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
		for rest := buf[:n]; len(rest) >= direntName; {
			reclen := int(binary.NativeEndian.Uint16(rest[direntReclen:]))
			if reclen < direntName || reclen > len(rest) {
				return nil, sharestore.Errorf(sharestore.ErrInternal, "disk: list %s: malformed directory entry from getdents", dir)
			}
			typ, nb := rest[direntType], rest[direntName:reclen]
			rest = rest[reclen:]
			for i, c := range nb {
				if c == 0 {
					nb = nb[:i]
					break
				}
			}
			shnum, ok := driver.ParseShnum(string(nb))
			if !ok {
				continue
			}
			if typ == unix.DT_LNK {
				b.warnLink(dir + "/" + string(nb))
				continue
			}
			if typ != unix.DT_REG && typ != unix.DT_UNKNOWN {
				continue
			}
			st, err := fstatat(fd, dir, string(nb))
			if err != nil {
				if errors.Is(err, unix.ENOENT) {
					continue // deleted since the readdir
				}
				return nil, mapErr(err, "disk: stat "+dir+"/"+string(nb))
			}
			if st.symlink {
				b.warnLink(dir + "/" + string(nb))
				continue
			}
			if info, ok := shareInfo(si, shnum, st); ok {
				out = append(out, info)
			}
		}
	}
	sortByShnum(out)
	return out, nil
}
