package cloud_test

import (
	"context"
	"testing"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/cloud"
	"github.com/sharestore/sharestore/conformance"
)

type memHarness struct{ chunk int64 }

func (h memHarness) NewBackend(ctx context.Context, t testing.TB) (sharestore.Backend, error) {
	return cloud.New(newMemStore(7), cloud.Options{Name: "mem", KeyPrefix: "srv1", ChunkSize: h.chunk})
}

func (memHarness) PlantObject(ctx context.Context, t testing.TB, b sharestore.Backend, key string, data []byte) error {
	cb := b.(*cloud.Backend)
	return cb.Store().Put(ctx, cb.KeyPrefix()+key, data)
}

// The layer passes the contract over an in-memory store with tiny pages
// and tiny chunks (so every share spans many chunks) and with the
// default chunk size.
func TestConformanceMemSmallChunks(t *testing.T) {
	conformance.RunBackend(t, memHarness{chunk: 1000})
}

func TestConformanceMemDefaultChunks(t *testing.T) {
	conformance.RunBackend(t, memHarness{})
}

func TestCrawlersMem(t *testing.T) {
	conformance.RunCrawlers(t, memHarness{chunk: 1000})
}
