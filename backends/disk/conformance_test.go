package disk_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/disk"
	"github.com/sharestore/sharestore/conformance"
)

// harness runs the conformance suite on a disk backend in a fresh
// temporary storage directory.
type harness struct{ opts disk.Options }

func (h harness) NewBackend(ctx context.Context, t conformance.TB) (sharestore.Backend, error) {
	root := t.TempDir()
	opts := h.opts
	if opts.ReadOnly {
		if err := os.Mkdir(filepath.Join(root, "shares"), 0o755); err != nil {
			return nil, err
		}
	} else {
		opts.Create = true
	}
	return disk.Open(root, opts)
}

func (h harness) PlantObject(ctx context.Context, t conformance.TB, b sharestore.Backend, key string, data []byte) error {
	path := filepath.Join(b.(*disk.Backend).Root(), filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

func TestConformance(t *testing.T) {
	conformance.RunBackend(t, harness{})
}

// TestConformanceContainerV2 runs the suite with new containers written
// in version 2.
func TestConformanceContainerV2(t *testing.T) {
	conformance.RunBackend(t, harness{disk.Options{ContainerVersion: 2}})
}

// TestConformanceReadOnly runs the suite on a read-only backend: every
// test that writes is skipped and every mutation must be refused.
func TestConformanceReadOnly(t *testing.T) {
	conformance.RunBackend(t, harness{disk.Options{ReadOnly: true}})
}

// TestCrawlers runs the crawler scenarios; the disk backend's results are
// the golden files every other backend must match (regenerate them with
// SHARESTORE_UPDATE_GOLDEN=1 go test -run TestCrawlers ./backends/disk/).
func TestCrawlers(t *testing.T) {
	conformance.RunCrawlers(t, harness{})
}
