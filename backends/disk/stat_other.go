//go:build !unix

package disk

import (
	"os"
	"path/filepath"
)

// lstatIn returns what lstat reports for name in the open directory d.
func lstatIn(d *os.File, name string) (entryStat, error) {
	fi, err := os.Lstat(filepath.Join(d.Name(), name))
	if err != nil {
		return entryStat{}, err
	}
	return entryStat{regular: fi.Mode().IsRegular(), size: fi.Size(), used: usedSpace(fi), modTime: fi.ModTime()}, nil
}

// openIn opens the directory name inside the open directory d.
func openIn(d *os.File, name string) (*os.File, error) {
	return os.Open(filepath.Join(d.Name(), name))
}

// usedSpace returns the bytes fi occupies on disk. Without block counts
// from the system this is its size.
func usedSpace(fi os.FileInfo) int64 { return fi.Size() }
