//go:build !linux

package disk

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/sharestore/sharestore"
)

// listSharesAt lists the share files of si's directory, name, relative
// to the open directory parent (or name as a path when parent is nil),
// sorted by shnum. A directory that is missing, or a file where it
// belongs, holds no shares.
func listSharesAt(parent *os.File, name string, si sharestore.StorageIndex) ([]sharestore.ShareInfo, error) {
	var d *os.File
	var err error
	if parent == nil {
		d, err = os.Open(name)
	} else {
		d, err = openIn(parent, name)
		name = filepath.Join(parent.Name(), name)
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil, nil // removed since the prefix was read
		}
		return nil, mapErr(err, "disk: list "+name)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		if errors.Is(err, syscall.ENOTDIR) {
			return nil, nil // a stray file where a directory belongs
		}
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
		if info, ok := shareInfo(si, shnum, st); ok {
			out = append(out, info)
		}
	}
	sortByShnum(out)
	return out, nil
}

// parseShnum is parseShnumBytes for a name held in a string.
func parseShnum(name string) (int, bool) { return parseShnumBytes([]byte(name)) }
