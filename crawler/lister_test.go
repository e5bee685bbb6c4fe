package crawler

import (
	"context"
	"testing"
	"time"

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

func TestListerReserveFill(t *testing.T) {
	ctx := context.Background()
	b := &scanCounter{}
	l := &lister{b: b, opts: sharestore.ScanOptions{Ahead: 3}}
	check := func(what string, res sharestore.PrefixListing, err error, i int) {
		t.Helper()
		if err != nil || res.Prefix != sharestore.PrefixAt(i) || res.Shares[0].Shnum != i {
			t.Fatalf("%s: got %+v, %v; want the listing of prefix %d", what, res, err, i)
		}
	}
	if l.reserve(sharestore.PrefixAt(0)) {
		t.Fatal("reserve with no scan open succeeded")
	}
	res, err := l.get(ctx, sharestore.PrefixAt(0))
	check("get(0)", res, err, 0)
	if l.reserve(sharestore.PrefixAt(2)) {
		t.Fatal("reserve(2) succeeded when 1 is next")
	}
	if !l.reserve(sharestore.PrefixAt(1)) {
		t.Fatal("reserve(1) failed")
	}
	if l.reserve(sharestore.PrefixAt(1)) || l.reserve(sharestore.PrefixAt(2)) {
		t.Fatal("a second reserve succeeded while one is pending")
	}
	res, ok := l.fill()
	check("fill for 1", res, nil, 1)
	if !ok {
		t.Fatal("fill for 1 failed")
	}
	res, err = l.get(ctx, sharestore.PrefixAt(1))
	check("get(1) after fill", res, err, 1)
	if b.scans != 1 || b.direct != 0 || l.next != 2 || l.peeked != nil {
		t.Fatalf("%d scans, %d direct listings, next %d, peeked %v; want 1, 0, 2, none", b.scans, b.direct, l.next, l.peeked)
	}
	// A get that comes between reserve and fill waits for fill and
	// returns what it took.
	if !l.reserve(sharestore.PrefixAt(2)) {
		t.Fatal("reserve(2) failed")
	}
	got := make(chan sharestore.PrefixListing)
	go func() {
		res, err := l.get(ctx, sharestore.PrefixAt(2))
		if err != nil {
			t.Error(err)
		}
		got <- res
	}()
	if _, ok := l.fill(); !ok {
		t.Fatal("fill for 2 failed")
	}
	check("get(2) racing fill", <-got, nil, 2)
	if l.next != 3 || l.peeked != nil || b.direct != 0 {
		t.Fatalf("after get(2) raced fill: next %d, peeked %v, %d direct; want 3, none, 0", l.next, l.peeked, b.direct)
	}
	// A filled listing that get skips is dropped; the scan goes on.
	if !l.reserve(sharestore.PrefixAt(3)) {
		t.Fatal("reserve(3) failed")
	}
	l.fill()
	res, err = l.get(ctx, sharestore.PrefixAt(4))
	check("get(4) after fill for 3", res, err, 4)
	res, err = l.get(ctx, sharestore.PrefixAt(3))
	check("get(3) after get(4)", res, err, 3)
	if b.scans != 1 || b.direct != 1 {
		t.Fatalf("after a skipped fill: %d scans, %d direct listings; want 1, 1", b.scans, b.direct)
	}
	// One older than MaxAge is listed again.
	l.opts.MaxAge = time.Second
	if !l.reserve(sharestore.PrefixAt(5)) {
		t.Fatal("reserve(5) failed")
	}
	l.fill()
	l.peekedAt = l.peekedAt.Add(-time.Minute) // taken a minute ago
	res, err = l.get(ctx, sharestore.PrefixAt(5))
	check("stale get(5)", res, err, 5)
	if b.direct != 2 {
		t.Fatalf("stale fill: %d direct listings, want 2", b.direct)
	}
	// close drops a filled listing; fill after close reports false.
	l.opts.MaxAge = 0
	if !l.reserve(sharestore.PrefixAt(6)) {
		t.Fatal("reserve(6) failed")
	}
	l.fill()
	l.close()
	if l.peeked != nil || l.scan != nil {
		t.Fatal("close kept the scan or the filled listing")
	}
	res, err = l.get(ctx, sharestore.PrefixAt(7))
	check("get(7) after close", res, err, 7)
	if !l.reserve(sharestore.PrefixAt(8)) {
		t.Fatal("reserve(8) failed")
	}
	l.close()
	if _, ok := l.fill(); ok {
		t.Fatal("fill after close succeeded")
	}
}
