package conformance

import (
	"context"
	"os"
	"path/filepath"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/disk"
)

// DiskHarness is the Harness of the disk backend: each backend is a new
// storage directory in t.TempDir(), opened with Options (Create is set,
// except for a ReadOnly store, which gets an empty shares/ directory),
// and PlantObject writes a file under the store's root.
type DiskHarness struct {
	Options disk.Options
}

// NewBackend opens a disk store in a new temporary directory.
func (h DiskHarness) NewBackend(ctx context.Context, t TB) (sharestore.Backend, error) {
	root := t.TempDir()
	opts := h.Options
	if opts.ReadOnly {
		if err := os.Mkdir(filepath.Join(root, "shares"), 0o755); err != nil {
			return nil, err
		}
	} else {
		opts.Create = true
	}
	return disk.Open(root, opts)
}

// PlantObject writes data to the file key names under b's root; b must
// be a *disk.Backend.
func (DiskHarness) PlantObject(ctx context.Context, t TB, b sharestore.Backend, key string, data []byte) error {
	db, ok := b.(*disk.Backend)
	if !ok {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "conformance: DiskHarness given a %T, not a *disk.Backend", b)
	}
	path := filepath.Join(db.Root(), filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}
