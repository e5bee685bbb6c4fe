//go:build !linux

package disk

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/driver"
)

// listSharesAt lists the share files of si's directory in the open
// prefix directory pd, sorted by shnum. A directory that is missing, a
// file where it belongs or a symbolic link (logged) holds no shares; a
// share file that is a symbolic link is skipped and logged.
func (b *fsys) listSharesAt(pd *os.File, si sharestore.StorageIndex) ([]sharestore.ShareInfo, error) {
	d, err := openDirIn(pd, si.String())
	if err != nil {
		if b.skipLink(err) || errors.Is(err, fs.ErrNotExist) || isNotDir(err) {
			return nil, nil // removed since the prefix was read, a stray file, or a link
		}
		return nil, mapErr(err, "disk: list "+pathIn(pd, si.String()))
	}
	defer d.Close()
	name := d.Name()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, mapErr(err, "disk: list "+name)
	}
	out := make([]sharestore.ShareInfo, 0, len(names))
	for _, n := range names {
		shnum, ok := parseShnum(n)
		if !ok {
			continue
		}
		st, err := lstatIn(d, n)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // deleted since the readdir
			}
			return nil, mapErr(err, "disk: stat "+filepath.Join(name, n))
		}
		if st.symlink {
			b.warnLink(filepath.Join(name, n))
			continue
		}
		if info, ok := shareInfo(si, shnum, st); ok {
			out = append(out, info)
		}
	}
	sortByShnum(out)
	return out, nil
}

// parseShnum parses a share file name (driver.ParseShnum).
func parseShnum(name string) (int, bool) { return driver.ParseShnum(name) }
