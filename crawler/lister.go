package crawler

import (
	"context"
	"sync"
	"time"

	"github.com/sharestore/sharestore"
)

// lister hands a crawler each prefix's listing from one scan
// (sharestore.Scan) kept open while the crawler asks for prefixes in
// order, so a backend can list ahead (a cloud backend in one range
// listing) and a plugin pays its round trip once per scan. With several
// prefixes in flight the requests of one window come in any order: a
// request at most maxSkip prefixes beyond the scan takes the listings
// before it out of the scan and keeps them for their own requests. A
// request for a prefix the scan has passed (and that it does not keep)
// is answered with a direct listing, and one further beyond with a new
// scan. reserve and fill take the next listing out of the scan early,
// for get to return later.
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
	// early holds listings taken out of the scan for requests that
	// have not come yet, by prefix index.
	early map[int]earlyListing
}

// maxSkip is how far beyond the scan a request may be and still be
// served by it: the most prefixes the engine has in flight at once.
const maxSkip = 256

// earlyListing is a listing taken out of the scan before its request.
type earlyListing struct {
	l  sharestore.PrefixListing
	at time.Time // wall time
}

// fresh reports whether a listing taken out of the scan at at may still
// be used.
func (l *lister) fresh(at time.Time) bool {
	return l.opts.MaxAge <= 0 || time.Since(at) <= l.opts.MaxAge
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
		if pk.Prefix == p && l.fresh(l.peekedAt) && l.ctx.Err() == nil {
			return *pk, nil
		}
	}
	if e, ok := l.early[i]; ok {
		delete(l.early, i)
		if l.fresh(e.at) && ctx.Err() == nil {
			return e.l, nil
		}
	}
	if l.scan != nil && l.ctx.Err() == nil && i > l.next && i-l.next <= maxSkip {
		l.skipTo(i)
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

// skipTo takes the listings before prefix index i out of the open scan
// and keeps them in early, dropping those kept too long. A failed scan
// is closed; the requests of the listings it did not give list their
// prefixes again.
func (l *lister) skipTo(i int) {
	for j, e := range l.early {
		if !l.fresh(e.at) {
			delete(l.early, j)
		}
	}
	if l.early == nil {
		l.early = map[int]earlyListing{}
	}
	for l.next < i {
		res, err := l.scan.Next()
		if err != nil {
			l.closeLocked()
			return
		}
		l.early[l.next] = earlyListing{l: res, at: time.Now()}
		l.next++
	}
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

// close ends the open scan, if any, and drops the listings it took out
// early.
func (l *lister) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closeLocked()
	l.peeked = nil
	l.early = nil
}
