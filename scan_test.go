package sharestore

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
)

// countingLister lists every prefix as one share per prefix index and
// records which prefixes were listed and when.
type countingLister struct {
	mu     sync.Mutex
	listed []Prefix
	failAt Prefix
}

func (c *countingLister) list(ctx context.Context, p Prefix) (PrefixListing, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.listed = append(c.listed, p)
	if p == c.failAt {
		return PrefixListing{}, Errorf(ErrUnavailable, "listing %s failed", p)
	}
	return PrefixListing{Prefix: p, Shares: []ShareInfo{{Shnum: p.Index()}}}, nil
}

func (c *countingLister) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.listed)
}

func TestListScanOrderAndEOF(t *testing.T) {
	for _, ahead := range []int{0, 1, 3, 2000} {
		c := &countingLister{}
		s, err := NewListScan(context.Background(), PrefixAt(1000), ScanOptions{Ahead: ahead}, c.list)
		if err != nil {
			t.Fatal(err)
		}
		for i := 1000; i < NumPrefixes; i++ {
			l, err := s.Next()
			if err != nil {
				t.Fatalf("ahead %d: Next for %s: %v", ahead, PrefixAt(i), err)
			}
			if l.Prefix != PrefixAt(i) || l.Shares[0].Shnum != i {
				t.Fatalf("ahead %d: got listing %+v, want prefix %s", ahead, l, PrefixAt(i))
			}
		}
		for k := 0; k < 2; k++ {
			if _, err := s.Next(); err != io.EOF {
				t.Fatalf("ahead %d: Next after zz: %v, want io.EOF", ahead, err)
			}
		}
		s.Close()
		if got := c.count(); got != NumPrefixes-1000 {
			t.Errorf("ahead %d: %d listings, want %d (each prefix once)", ahead, got, NumPrefixes-1000)
		}
	}
}

// The producer lists at most Ahead prefixes before Next asks for them;
// Ahead 0 lists only inside Next.
func TestListScanAheadBound(t *testing.T) {
	for _, ahead := range []int{0, 1, 4} {
		c := &countingLister{}
		s, err := NewListScan(context.Background(), "22", ScanOptions{Ahead: ahead}, c.list)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 20; i++ {
			if _, err := s.Next(); err != nil {
				t.Fatal(err)
			}
			if got := c.count(); got > i+1+ahead {
				t.Fatalf("ahead %d: after %d Next calls, %d prefixes listed", ahead, i+1, got)
			}
		}
		s.Close() // waits for the producer
		if got := c.count(); got > 20+ahead {
			t.Fatalf("ahead %d: %d prefixes listed after 20 Next calls and Close", ahead, got)
		}
		if _, err := s.Next(); !errors.Is(err, context.Canceled) {
			t.Fatalf("Next after Close: %v, want canceled", err)
		}
	}
}

// An old listing made ahead is made again: with a MaxAge of 1ns every
// listing is, so each prefix is listed twice (ahead, then fresh).
func TestListScanMaxAge(t *testing.T) {
	c := &countingLister{}
	s, err := NewListScan(context.Background(), PrefixAt(1020), ScanOptions{Ahead: 2, MaxAge: 1}, c.list)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for {
		if _, err := s.Next(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if got := c.count(); got != 8 {
		t.Fatalf("%d listings of 4 prefixes with a tiny MaxAge, want 8: %v", got, c.listed)
	}
}

// An error ends the scan: Next returns it, and again on every later call.
func TestListScanError(t *testing.T) {
	for _, ahead := range []int{0, 3} {
		c := &countingLister{failAt: PrefixAt(5)}
		s, err := NewListScan(context.Background(), "22", ScanOptions{Ahead: ahead}, c.list)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 5; i++ {
			if _, err := s.Next(); err != nil {
				t.Fatal(err)
			}
		}
		for k := 0; k < 2; k++ {
			if _, err := s.Next(); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("ahead %d: Next at the failing prefix: %v", ahead, err)
			}
		}
		s.Close()
	}
}

func TestListScanInvalidAndCanceled(t *testing.T) {
	c := &countingLister{}
	if _, err := NewListScan(context.Background(), "a", ScanOptions{}, c.list); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("invalid first prefix: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := NewListScan(ctx, "22", ScanOptions{Ahead: 2}, c.list)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := s.Next(); !errors.Is(err, context.Canceled) || !errors.Is(err, ErrCanceled) {
		t.Fatalf("Next with a canceled context: %v", err)
	}
	s.Close()
}

// stubBackend is a Backend with only what the helpers below call.
type stubBackend struct {
	Backend
	shares map[ShareID]Share
	calls  int
	mu     sync.Mutex
}

type stubShareset struct {
	Shareset
	b  *stubBackend
	si StorageIndex
}

func (b *stubBackend) Shareset(si StorageIndex) Shareset { return stubShareset{b: b, si: si} }

func (s stubShareset) Share(ctx context.Context, shnum int) (Share, error) {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	s.b.calls++
	sh, ok := s.b.shares[ShareID{s.si, shnum}]
	if !ok {
		return Share{}, Errorf(ErrNotFound, "no share %s/%d", s.si, shnum)
	}
	return sh, nil
}

// batchBackend reads headers in batches.
type batchBackend struct {
	*stubBackend
	batches int
}

func (b *batchBackend) ReadHeaders(ctx context.Context, ids []ShareID, fn func(ShareID, Share, error)) error {
	b.batches++
	for _, id := range ids {
		sh, err := b.Shareset(id.SI).Share(ctx, id.Shnum)
		fn(id, sh, err)
	}
	return nil
}

func TestReadHeaders(t *testing.T) {
	stub := &stubBackend{shares: map[ShareID]Share{}}
	var ids []ShareID
	for i := 0; i < 50; i++ {
		var si StorageIndex
		si[0] = byte(i)
		id := ShareID{si, i % 3}
		if i%5 != 0 {
			stub.shares[id] = Share{ShareInfo: ShareInfo{SI: si, Shnum: id.Shnum, Size: int64(i)}}
		}
		ids = append(ids, id)
	}
	check := func(b Backend) {
		t.Helper()
		seen := map[ShareID]bool{}
		// fn is called from one goroutine at a time: the race detector
		// checks that this unguarded map is safe.
		err := ReadHeaders(context.Background(), b, ids, 7, func(id ShareID, sh Share, err error) {
			if seen[id] {
				t.Errorf("%s reported twice", id)
			}
			seen[id] = true
			want, ok := stub.shares[id]
			if ok != (err == nil) || (ok && sh.Size != want.Size) {
				t.Errorf("%s: %+v, %v", id, sh, err)
			}
			if !ok && !errors.Is(err, ErrNotFound) {
				t.Errorf("%s: %v, want ErrNotFound", id, err)
			}
		})
		if err != nil || len(seen) != len(ids) {
			t.Fatalf("ReadHeaders: %v, %d of %d reported", err, len(seen), len(ids))
		}
	}
	check(stub)
	if stub.calls != len(ids) {
		t.Fatalf("%d Share calls, want %d", stub.calls, len(ids))
	}
	bb := &batchBackend{stubBackend: stub}
	check(bb)
	if bb.batches != 1 {
		t.Fatalf("a HeaderReader was called %d times, want once", bb.batches)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := ReadHeaders(ctx, stub, ids, 2, func(ShareID, Share, error) {})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("ReadHeaders with a canceled context: %v", err)
	}
}
