package cloud_test

import (
	"context"
	"testing"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/cloud"
	"github.com/sharestore/sharestore/backends/mem"
	"github.com/sharestore/sharestore/conformance"
)

// memHarness runs the layer over backends/mem's in-memory store, with
// tiny pages. The acceptance tests run the same layer against real
// emulators.
func memHarness(chunk int64) conformance.CloudHarness {
	return conformance.CloudHarness{New: func(context.Context, conformance.TB) (*cloud.Backend, error) {
		return mem.New(mem.Options{KeyPrefix: "srv1", ChunkSize: chunk, PageSize: 7})
	}}
}

// The layer passes the contract over an in-memory store with tiny pages
// and tiny chunks (so every share spans many chunks) and with the
// default chunk size.
func TestConformanceMemSmallChunks(t *testing.T) {
	conformance.RunBackend(t, memHarness(1000))
}

func TestConformanceMemDefaultChunks(t *testing.T) {
	conformance.RunBackend(t, memHarness(0))
}

func TestCrawlersMem(t *testing.T) {
	conformance.RunCrawlers(t, memHarness(1000))
}

// ListPrefix works from listings alone: over a store with three-object
// pages, a prefix with four multi-chunk shares costs its pages of
// listing and not one Get or Head.
func TestListPrefixReadsNothing(t *testing.T) {
	ctx := context.Background()
	st := mem.NewStore()
	st.SetPageSize(3)
	b, err := mem.New(mem.Options{Store: st, ChunkSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	si, _ := sharestore.ParseStorageIndex("aaaaaaaaaaaaaaaaaaaaaaaaaa")
	for shnum := range 4 {
		for i := range int64(3) {
			st.Put(ctx, cloud.ChunkKey(si, shnum, i), make([]byte, 10-i*3))
		}
	}
	before := st.Counts()
	n := 0
	if err := b.ListPrefix(ctx, "aa", func(sharestore.ShareInfo) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	after := st.Counts()
	if n != 4 || after.Gets != before.Gets || after.Heads != before.Heads || after.Lists-before.Lists != 4 {
		t.Fatalf("ListPrefix saw %d shares with %+v more requests; want 4 shares, 4 lists (12 objects, 3 a page) and nothing else", n, mem.Counts{Lists: after.Lists - before.Lists, Gets: after.Gets - before.Gets, Heads: after.Heads - before.Heads})
	}
}
