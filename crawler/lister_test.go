package crawler

import (
	"context"
	"testing"

	"github.com/sharestore/sharestore"
)

// scanCounter is a backend whose scans and direct listings are counted.
type scanCounter struct {
	sharestore.Backend
	scans, direct int
}

func (s *scanCounter) ListPrefix(ctx context.Context, p sharestore.Prefix, fn func(sharestore.ShareInfo) error) error {
	s.direct++
	return fn(sharestore.ShareInfo{Shnum: p.Index()})
}

func (s *scanCounter) ScanPrefixes(ctx context.Context, first sharestore.Prefix, opts sharestore.ScanOptions) (sharestore.PrefixScan, error) {
	s.scans++
	return sharestore.NewListScan(ctx, first, opts, func(ctx context.Context, p sharestore.Prefix) (sharestore.PrefixListing, error) {
		return sharestore.PrefixListing{Prefix: p, Shares: []sharestore.ShareInfo{{Shnum: p.Index()}}}, nil
	})
}

func TestListerUsesOneScanInOrder(t *testing.T) {
	ctx := context.Background()
	b := &scanCounter{}
	l := &lister{b: b, opts: sharestore.ScanOptions{Ahead: 3}}
	get := func(i int) {
		t.Helper()
		res, err := l.get(ctx, sharestore.PrefixAt(i))
		if err != nil || res.Prefix != sharestore.PrefixAt(i) || res.Shares[0].Shnum != i {
			t.Fatalf("get(%d) = %+v, %v", i, res, err)
		}
	}
	for i := 0; i < 10; i++ {
		get(i)
	}
	if b.scans != 1 || b.direct != 0 {
		t.Fatalf("in order: %d scans, %d direct listings; want 1, 0", b.scans, b.direct)
	}
	get(4) // behind the scan: listed directly, the scan stays
	get(10)
	if b.scans != 1 || b.direct != 1 {
		t.Fatalf("behind: %d scans, %d direct listings; want 1, 1", b.scans, b.direct)
	}
	get(20) // ahead of the scan: a new one from there
	get(21)
	if b.scans != 2 || b.direct != 1 {
		t.Fatalf("ahead: %d scans, %d direct listings; want 2, 1", b.scans, b.direct)
	}
	// A scan opened with a context that has ended is replaced.
	cctx, cancel := context.WithCancel(ctx)
	if _, err := l.get(cctx, sharestore.PrefixAt(30)); err != nil {
		t.Fatal(err)
	}
	cancel()
	get(31)
	if b.scans != 4 {
		t.Fatalf("after a canceled context: %d scans, want 4", b.scans)
	}
	for i := 32; i < sharestore.NumPrefixes; i++ {
		get(i)
	}
	if l.scan != nil {
		t.Fatal("scan still open after the last prefix")
	}
	l.close()
}
