package sharestore

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/sharestore/sharestore/internal/workerpool"
)

// DefaultScanMaxAge is the staleness bound of a scan whose ScanOptions
// leave MaxAge zero.
const DefaultScanMaxAge = 2 * time.Second

// ScanOptions control a scan of consecutive prefixes (see Scan).
type ScanOptions struct {
	// Sharesets asks for each prefix's storage indexes, as
	// SharesetsForPrefix returns them. Otherwise a listing holds the
	// prefix's shares, as ListPrefix reports them.
	Sharesets bool
	// Ahead is how many prefixes the scan may list before Next asks for
	// them, so that listing overlaps the caller's work and the latency
	// of a remote store is paid once per scan rather than once per
	// prefix. Zero lists each prefix when Next is called.
	Ahead int
	// MaxAge bounds how stale a listing may be: Next never returns a
	// listing that was started more than MaxAge before it returns; an
	// older one is discarded and the prefix listed again. It is wall
	// time, whatever clock the caller uses, because what it bounds is
	// the work of concurrent writers. Zero means DefaultScanMaxAge.
	MaxAge time.Duration
}

func (o ScanOptions) maxAge() time.Duration {
	if o.MaxAge <= 0 {
		return DefaultScanMaxAge
	}
	return o.MaxAge
}

// PrefixListing is one prefix's listing, as a PrefixScan returns it.
type PrefixListing struct {
	// Prefix is the prefix listed.
	Prefix Prefix
	// Shares are the prefix's shares in (SI, shnum) order, unless the
	// scan lists sharesets.
	Shares []ShareInfo
	// Sharesets are the prefix's sorted storage indexes when the scan
	// lists sharesets.
	Sharesets []StorageIndex
}

// A PrefixScan returns the listings of consecutive prefixes in order.
// It is not safe for concurrent use.
type PrefixScan interface {
	// Next returns the next prefix's listing: exactly what ListPrefix
	// (or SharesetsForPrefix) returns at some moment no more than the
	// scan's MaxAge before Next returns. After the last prefix (zz) it
	// returns io.EOF. Any other error ends the scan, and every later
	// call returns it again.
	Next() (PrefixListing, error)
	// Close stops the scan and releases what it holds. It may be
	// called at any time, more than once, and always returns nil.
	Close() error
}

// A PrefixScanner is a Backend with its own way of scanning a run of
// prefixes, cheaper than one ListPrefix call per prefix (a plugin keeps
// one stream open for the whole run). It is optional: use Scan, which
// falls back to ListPrefix for backends that are not PrefixScanners.
type PrefixScanner interface {
	// ScanPrefixes starts a scan at first that ends after the last
	// prefix. An invalid first prefix is ErrInvalidArgument. The scan
	// stops when ctx is done; Next then returns ErrCanceled.
	ScanPrefixes(ctx context.Context, first Prefix, opts ScanOptions) (PrefixScan, error)
}

// Scan starts a scan of b's prefixes from first to the last one: with
// the ScanPrefixes of the first backend in b's Unwrap chain (see
// Wrapper) that is a PrefixScanner, and otherwise with one that calls
// b's ListPrefix (or SharesetsForPrefix) for each prefix, from one
// background goroutine when opts.Ahead > 0. The caller must Close the
// scan.
func Scan(ctx context.Context, b Backend, first Prefix, opts ScanOptions) (PrefixScan, error) {
	var fast PrefixScanner
	walk(b, func(l Backend) bool {
		fast, _ = l.(PrefixScanner)
		return fast != nil
	})
	if fast != nil {
		return fast.ScanPrefixes(ctx, first, opts)
	}
	return NewListScan(ctx, first, opts, func(ctx context.Context, p Prefix) (PrefixListing, error) {
		return ListOne(ctx, b, p, opts.Sharesets)
	})
}

// ListOne lists one prefix with ListPrefix, or with SharesetsForPrefix
// when sharesets is set, and returns the whole listing.
func ListOne(ctx context.Context, b Backend, p Prefix, sharesets bool) (PrefixListing, error) {
	l := PrefixListing{Prefix: p}
	var err error
	if sharesets {
		l.Sharesets, err = b.SharesetsForPrefix(ctx, p)
		return l, err
	}
	err = b.ListPrefix(ctx, p, func(i ShareInfo) error {
		l.Shares = append(l.Shares, i)
		return nil
	})
	return l, err
}

// NewListScan returns a PrefixScan from first to the last prefix that
// lists each prefix with list. With opts.Ahead > 0 one background
// goroutine lists up to Ahead prefixes before Next asks for them; a
// listing that has grown older than opts.MaxAge is made again in Next.
// It is for implementers of PrefixScanner and for Scan.
func NewListScan(ctx context.Context, first Prefix, opts ScanOptions, list func(context.Context, Prefix) (PrefixListing, error)) (PrefixScan, error) {
	i := first.Index()
	if i < 0 {
		return nil, Errorf(ErrInvalidArgument, "invalid prefix %q", string(first))
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &listScan{ctx: ctx, cancel: cancel, list: list, next: i, maxAge: opts.maxAge()}
	if opts.Ahead > 0 {
		s.credit = make(chan time.Time, opts.Ahead+1)
		s.results = make(chan listed, opts.Ahead+1)
		s.done = make(chan struct{})
		s.ahead = opts.Ahead
		s.granted = i
		s.topUp(i + s.ahead)
		go s.produce(i)
	}
	return s, nil
}

// listed is one listing made ahead, with the time its credit was
// granted: the listing started no earlier.
type listed struct {
	l       PrefixListing
	err     error
	granted time.Time
}

type listScan struct {
	ctx     context.Context
	cancel  context.CancelFunc
	list    func(context.Context, Prefix) (PrefixListing, error)
	maxAge  time.Duration
	next    int // index of the prefix Next returns next
	granted int // index past the last prefix the producer may list
	ahead   int
	err     error
	credit  chan time.Time // one per prefix the producer may list
	results chan listed
	done    chan struct{}
	once    sync.Once
}

// topUp lets the producer list up to the prefix before index target.
// At most Ahead+1 prefixes are ever granted and not yet returned, so
// neither channel ever blocks.
func (s *listScan) topUp(target int) {
	for ; s.granted < min(target, NumPrefixes); s.granted++ {
		s.credit <- time.Now()
	}
}

func (s *listScan) produce(i int) {
	defer close(s.done)
	for ; i < NumPrefixes; i++ {
		var g time.Time
		select {
		case g = <-s.credit:
		case <-s.ctx.Done():
			return
		}
		l, err := s.list(s.ctx, PrefixAt(i))
		s.results <- listed{l: l, err: err, granted: g}
		if err != nil {
			return
		}
	}
}

func (s *listScan) Next() (PrefixListing, error) {
	if s.err != nil {
		return PrefixListing{}, s.err
	}
	if s.next >= NumPrefixes {
		return PrefixListing{}, io.EOF
	}
	if err := CtxErr(s.ctx); err != nil {
		s.err = err
		return PrefixListing{}, err
	}
	p := PrefixAt(s.next)
	var l PrefixListing
	var err error
	if s.results == nil {
		l, err = s.list(s.ctx, p)
	} else {
		s.topUp(s.next + 1)
		var r listed
		select {
		case r = <-s.results:
		case <-s.ctx.Done():
			s.err = CtxErr(s.ctx)
			return PrefixListing{}, s.err
		}
		s.topUp(s.next + 1 + s.ahead)
		l, err = r.l, r.err
		if err == nil && time.Since(r.granted) > s.maxAge {
			l, err = s.list(s.ctx, p)
		}
	}
	if err != nil {
		s.err = err
		s.Close()
		return PrefixListing{}, err
	}
	s.next++
	return l, nil
}

func (s *listScan) Close() error {
	s.once.Do(func() {
		s.cancel()
		if s.done != nil {
			<-s.done
		}
	})
	return nil
}

// A HeaderReader is a Backend that reads many shares' headers in one
// call, cheaper than one Shareset.Share call each (a plugin answers a
// whole batch on one stream). It is optional: use ReadHeaders, which
// falls back to concurrent Share calls.
type HeaderReader interface {
	// ReadHeaders calls fn once for each of ids, in any order and from
	// one goroutine at a time, with what Shareset(id.SI).Share(ctx,
	// id.Shnum) returns for it. It returns an error only when it could
	// not finish (ctx done, the store unreachable); fn may then have
	// been called for some ids.
	ReadHeaders(ctx context.Context, ids []ShareID, fn func(ShareID, Share, error)) error
}

// DefaultHeaderWorkers is how many Share calls ReadHeaders makes at once
// for callers without a reason to choose.
const DefaultHeaderWorkers = 8

// ReadHeaders reads the headers of ids from b: with the ReadHeaders of
// the first backend in b's Unwrap chain (see Wrapper) that is a
// HeaderReader, and otherwise with workers concurrent Shareset.Share
// calls on b (at least one). A wrapper made by Intercept on the way
// keeps workers for the backend it wraps. fn is called as
// HeaderReader's ReadHeaders promises.
func ReadHeaders(ctx context.Context, b Backend, ids []ShareID, workers int, fn func(ShareID, Share, error)) error {
	var fast func() error
	walk(b, func(l Backend) bool {
		switch h := l.(type) {
		case *intercepted:
			fast = func() error { return h.readHeaders(ctx, ids, workers, fn) }
		case HeaderReader:
			fast = func() error { return h.ReadHeaders(ctx, ids, fn) }
		}
		return fast != nil
	})
	if fast != nil {
		return fast()
	}
	return shareCalls(ctx, b, ids, workers, fn)
}

// shareCalls reads the headers of ids with workers concurrent
// Shareset.Share calls on b, calling fn from one goroutine at a time.
func shareCalls(ctx context.Context, b Backend, ids []ShareID, workers int, fn func(ShareID, Share, error)) error {
	var mu sync.Mutex
	err := workerpool.Each(ctx, ids, workers, func(id ShareID) {
		sh, err := b.Shareset(id.SI).Share(ctx, id.Shnum)
		mu.Lock()
		fn(id, sh, err)
		mu.Unlock()
	})
	if err != nil {
		return CtxErr(ctx)
	}
	return nil
}
