package mem_test

import (
	"context"
	"testing"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/cloud"
	"github.com/sharestore/sharestore/backends/mem"
	"github.com/sharestore/sharestore/conformance"
)

// harness gives every subtest a fresh mem backend with opts.
type harness struct{ opts mem.Options }

func (h harness) NewBackend(ctx context.Context, t testing.TB) (sharestore.Backend, error) {
	return mem.New(h.opts)
}

func (harness) PlantObject(ctx context.Context, t testing.TB, b sharestore.Backend, key string, data []byte) error {
	cb := b.(*cloud.Backend)
	return cb.Store().Put(ctx, cb.KeyPrefix()+key, data)
}

// The defaults: whole 512 KiB chunks and 1000-object pages.
func TestConformance(t *testing.T) {
	conformance.RunBackend(t, harness{})
}

// Tiny chunks and pages, under a key prefix: every share spans many
// chunks and every listing many pages.
func TestConformanceSmallChunksAndPages(t *testing.T) {
	conformance.RunBackend(t, harness{mem.Options{ChunkSize: 1000, PageSize: 7, KeyPrefix: "srv1"}})
}

// Version 2 containers.
func TestConformanceContainerV2(t *testing.T) {
	conformance.RunBackend(t, harness{mem.Options{ContainerVersion: 2}})
}

// Read-only: every mutation is refused by the shared layer, and the
// suite checks that nothing is written.
func TestConformanceReadOnly(t *testing.T) {
	conformance.RunBackend(t, harness{mem.Options{ReadOnly: true}})
}

func TestCrawlers(t *testing.T) {
	conformance.RunCrawlers(t, harness{mem.Options{ChunkSize: 1000, PageSize: 7}})
}
