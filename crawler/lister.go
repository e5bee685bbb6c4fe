package crawler

import (
	"context"
	"sync"

	"github.com/sharestore/sharestore"
)

// lister hands a crawler each prefix's listing from one scan
// (sharestore.Scan) kept open while the crawler asks for prefixes in
// order, so a backend can list ahead and a plugin pays its round trip
// once per scan. A request out of order is answered with a direct
// listing: one for a prefix the scan has passed, a new scan for one
// beyond it.
type lister struct {
	b    sharestore.Backend
	opts sharestore.ScanOptions

	mu   sync.Mutex
	scan sharestore.PrefixScan
	ctx  context.Context // the scan's
	next int             // index of the prefix the scan returns next
}

func (l *lister) get(ctx context.Context, p sharestore.Prefix) (sharestore.PrefixListing, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := p.Index()
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

func (l *lister) closeLocked() {
	if l.scan != nil {
		l.scan.Close()
		l.scan = nil
	}
}

// close ends the open scan, if any.
func (l *lister) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closeLocked()
}
