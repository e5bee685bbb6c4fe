package conformance_test

import (
	"context"
	"testing"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/mem"
	"github.com/sharestore/sharestore/conformance"
)

// memHarness checks the suite itself against backends/mem.
type memHarness struct{ opts mem.Options }

func (h memHarness) NewBackend(ctx context.Context, t conformance.TB) (sharestore.Backend, error) {
	return mem.New(h.opts)
}

// PlantObject is conformance.CloudHarness's.
func (memHarness) PlantObject(ctx context.Context, t conformance.TB, b sharestore.Backend, key string, data []byte) error {
	return conformance.CloudHarness{}.PlantObject(ctx, t, b, key, data)
}

// TestMemoryBackend checks the suite itself against the in-memory
// backend.
func TestMemoryBackend(t *testing.T) {
	conformance.RunBackend(t, memHarness{})
}

// TestMemoryBackendSmallChunks checks that the suite's chunk-relative
// sizes work for a backend that declares a tiny chunk size.
func TestMemoryBackendSmallChunks(t *testing.T) {
	conformance.RunBackend(t, memHarness{mem.Options{ChunkSize: 500}})
}

// noRawHarness is a backend without a raw namespace.
type noRawHarness struct{ memHarness }

func (noRawHarness) PlantObject(ctx context.Context, t conformance.TB, b sharestore.Backend, key string, data []byte) error {
	return sharestore.Errorf(sharestore.ErrUnimplemented, "no raw namespace")
}

// TestMemoryBackendNoRawNamespace checks that tests needing PlantObject
// skip, rather than fail, when the harness cannot plant objects.
func TestMemoryBackendNoRawNamespace(t *testing.T) {
	conformance.RunBackend(t, noRawHarness{})
}

// TestMemoryCrawlers runs the crawler scenarios on the in-memory backend.
func TestMemoryCrawlers(t *testing.T) {
	conformance.RunCrawlers(t, memHarness{mem.Options{ChunkSize: 1000, PageSize: 7}})
}
