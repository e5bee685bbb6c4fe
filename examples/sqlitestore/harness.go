package sqlitestore

import (
	"context"
	"path/filepath"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/cloud"
	"github.com/sharestore/sharestore/conformance"
)

// Harness is the conformance.Harness of the store, for go test
// (conformance.RunBackend, conformance.RunCrawlers) and for the plugin
// binary (plugin.WithHarness), which sharestore conformance then tests
// on backends made and planted inside the plugin's process.
//
// Every backend is a new SQLite file in t.TempDir(), opened by
// OpenBackend with Options (Create implied), so it starts empty and is
// removed when the test ends. PlantObject is conformance.CloudHarness's:
// one Put of the key, under the backend's key prefix, straight to its
// store. A Harness holds no state of its own: it is safe for concurrent
// use, as the tests of sharestore conformance --parallel N need.
type Harness struct {
	// Options are those of every backend the harness makes.
	Options Options
}

var _ conformance.Harness = Harness{}

// cloudHarness is the conformance.CloudHarness that Harness delegates
// to.
func (h Harness) cloudHarness() conformance.CloudHarness {
	return conformance.CloudHarness{New: func(ctx context.Context, t conformance.TB) (*cloud.Backend, error) {
		o := h.Options
		o.Create = true
		return OpenBackend(filepath.Join(t.TempDir(), "shares.db"), o)
	}}
}

// NewBackend implements conformance.Harness: a backend in a new file.
func (h Harness) NewBackend(ctx context.Context, t conformance.TB) (sharestore.Backend, error) {
	return h.cloudHarness().NewBackend(ctx, t)
}

// PlantObject implements conformance.Harness with one Put to b's store;
// b must be a backend that NewBackend returned.
func (h Harness) PlantObject(ctx context.Context, t conformance.TB, b sharestore.Backend, key string, data []byte) error {
	return h.cloudHarness().PlantObject(ctx, t, b, key, data)
}
