package crawler

import (
	"context"
	"sync"
	"time"

	"github.com/sharestore/sharestore"
)

// lister hands a crawler each prefix's listing from one scan
// (sharestore.Scan) kept open while the crawler asks for prefixes in
// order, so a backend can list ahead and a plugin pays its round trip
// once per scan. A request out of order is answered with a direct
// listing: one for a prefix the scan has passed, a new scan for one
// beyond it. reserve and fill take the next listing out of the scan
// early, for get to return later.
type lister struct {
	b    sharestore.Backend
	opts sharestore.ScanOptions

	mu   sync.Mutex
	scan sharestore.PrefixScan
	ctx  context.Context // the scan's
	next int             // index of the prefix the scan returns next

	// pending is set from reserve to fill; filled signals its end.
	pending bool
	filled  *sync.Cond
	// peeked is the listing fill took from the scan, for prefix next-1,
	// at peekedAt (wall time).
	peeked   *sharestore.PrefixListing
	peekedAt time.Time
}

func (l *lister) get(ctx context.Context, p sharestore.Prefix) (sharestore.PrefixListing, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := p.Index()
	for l.pending {
		l.filled.Wait()
	}
	if pk := l.peeked; pk != nil {
		l.peeked = nil
		fresh := l.opts.MaxAge <= 0 || time.Since(l.peekedAt) <= l.opts.MaxAge
		if pk.Prefix == p && fresh && l.ctx.Err() == nil {
			return *pk, nil
		}
	}
	if l.scan != nil && (i > l.next || l.ctx.Err() != nil) {
		l.closeLocked()
	}
	if l.scan != nil && i < l.next {
		return sharestore.ListOne(ctx, l.b, p, l.opts.Sharesets)
	}
	if l.scan == nil {
		s, err := sharestore.Scan(ctx, l.b, p, l.opts)
		if err != nil {
			return sharestore.PrefixListing{}, err
		}
		l.scan, l.ctx, l.next = s, ctx, i
	}
	res, err := l.scan.Next()
	if err != nil {
		l.closeLocked()
		return res, err
	}
	if l.next++; l.next >= sharestore.NumPrefixes {
		l.closeLocked()
	}
	return res, nil
}

// reserve claims the listing of p for fill, if p is the prefix the open
// scan returns next and nothing else holds a listing; it never blocks.
// After it returns true, a get of p waits for fill and returns what fill
// took (if that comes within the scan's MaxAge; a later get lists p
// again). The caller must call fill.
func (l *lister) reserve(p sharestore.Prefix) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.scan == nil || l.pending || l.peeked != nil || p.Index() != l.next || l.ctx.Err() != nil {
		return false
	}
	if l.filled == nil {
		l.filled = sync.NewCond(&l.mu)
	}
	l.pending = true
	return true
}

// fill takes the listing that reserve claimed out of the scan and keeps
// it for get. It reports false if the scan has failed or ended since
// (get then lists the prefix as it would have anyway).
func (l *lister) fill() (sharestore.PrefixListing, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	defer l.filled.Broadcast()
	l.pending = false
	if l.scan == nil || l.ctx.Err() != nil {
		return sharestore.PrefixListing{}, false
	}
	res, err := l.scan.Next()
	if err != nil {
		l.closeLocked()
		return res, false
	}
	l.peeked, l.peekedAt = &res, time.Now()
	if l.next++; l.next >= sharestore.NumPrefixes {
		l.closeLocked()
	}
	return res, true
}

func (l *lister) closeLocked() {
	if l.scan != nil {
		l.scan.Close()
		l.scan = nil
	}
}

// close ends the open scan, if any, and drops a peeked listing.
func (l *lister) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closeLocked()
	l.peeked = nil
}
