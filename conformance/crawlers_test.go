package conformance_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/disk"
	"github.com/sharestore/sharestore/conformance"
)

// diskHarness runs the crawler scenarios on the disk backend, which owns
// the golden files: every other backend must match them.
type diskHarness struct{}

func (diskHarness) NewBackend(ctx context.Context, t testing.TB) (sharestore.Backend, error) {
	return disk.Open(t.TempDir(), disk.Options{Create: true})
}

func (diskHarness) PlantObject(ctx context.Context, t testing.TB, b sharestore.Backend, key string, data []byte) error {
	p := filepath.Join(b.(*disk.Backend).Root(), filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, data, 0o644)
}

func TestRunCrawlersOnDisk(t *testing.T) { conformance.RunCrawlers(t, diskHarness{}) }
