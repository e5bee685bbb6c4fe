package cloud

import (
	"context"
	"sync"
	"time"

	"github.com/sharestore/sharestore"
)

// A header read needs a share's layout (its chunk sizes), which only a
// listing gives. A crawl lists a prefix and then reads the headers of the
// prefix's new shares; without help each header read would list its
// share again, so a first cycle would cost a LIST and a GET per share.
// The backend therefore remembers the layouts of its most recent prefix
// listings for a short while, and ReadHeaderGroup reads a remembered
// share's header with one ranged GET of chunk 0.
//
// A remembered layout is used only while it is younger than
// recentMaxAge, and never after this backend wrote or deleted an object
// of its storage index. A header read that finds chunk 0 missing or
// shorter than remembered lists the share again, as Share does.

// recentMaxAge is how long a listed layout may serve header reads.
const recentMaxAge = 5 * time.Second

// recentMaxShares bounds the shares whose layouts are remembered; the
// oldest prefix's layouts are dropped first.
const recentMaxShares = 64 << 10

// recentLayouts remembers the layouts of recent prefix listings. It is
// safe for concurrent use; its zero value is empty and ready.
type recentLayouts struct {
	mu     sync.Mutex
	bySI   map[sharestore.StorageIndex]recentSet
	order  []sharestore.Prefix // prefixes remembered, oldest first
	inPfx  map[sharestore.Prefix][]sharestore.StorageIndex
	shares int
	now    func() time.Time // time.Now unless a test sets it
}

// recentSet is one storage index's chunks as a listing showed them.
type recentSet struct {
	sl sharesetListing
	at time.Time
}

func (r *recentLayouts) clock() time.Time {
	if r.now != nil {
		return r.now()
	}
	return time.Now()
}

// remember records the listing of prefix p, started at start, replacing
// what an earlier listing of p recorded.
func (r *recentLayouts) remember(p sharestore.Prefix, start time.Time, sets map[sharestore.StorageIndex]sharesetListing) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bySI == nil {
		r.bySI, r.inPfx = map[sharestore.StorageIndex]recentSet{}, map[sharestore.Prefix][]sharestore.StorageIndex{}
	}
	r.dropLocked(p)
	sis := make([]sharestore.StorageIndex, 0, len(sets))
	for si, sl := range sets {
		r.bySI[si] = recentSet{sl: sl, at: start}
		r.shares += len(sl)
		sis = append(sis, si)
	}
	r.inPfx[p] = sis
	r.order = append(r.order, p)
	for r.shares > recentMaxShares && len(r.order) > 1 {
		r.dropLocked(r.order[0])
	}
}

// dropLocked forgets prefix p. r.mu must be held.
func (r *recentLayouts) dropLocked(p sharestore.Prefix) {
	sis, ok := r.inPfx[p]
	if !ok {
		return
	}
	for _, si := range sis {
		if s, ok := r.bySI[si]; ok {
			r.shares -= len(s.sl)
			delete(r.bySI, si)
		}
	}
	delete(r.inPfx, p)
	for i, q := range r.order {
		if q == p {
			r.order = append(r.order[:i], r.order[i+1:]...)
			break
		}
	}
}

// forget drops what is remembered of si: the backend is changing it.
func (r *recentLayouts) forget(si sharestore.StorageIndex) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.bySI[si]; ok {
		r.shares -= len(s.sl)
		delete(r.bySI, si)
	}
}

// layout returns the remembered layout of (si, shnum) while it is fresh.
// The second result is false when nothing fresh is remembered of si; the
// third is false when a fresh listing of si had no such share.
func (r *recentLayouts) layout(si sharestore.StorageIndex, shnum int) (l layout, listed, exists bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.bySI[si]
	if !ok || r.clock().Sub(s.at) > recentMaxAge {
		return layout{}, false, false
	}
	l, exists = layoutOf(s.sl[shnum])
	return l, true, exists
}

// ReadHeaderGroup implements driver.HeaderGroupReader: a share that a
// recent listing showed is read with one ranged GET of its header, and
// any other share as Share reads it. It runs under si's lock.
func (b *chunked) ReadHeaderGroup(ctx context.Context, si sharestore.StorageIndex, shnums []int) ([]sharestore.Share, []error) {
	shares := make([]sharestore.Share, len(shnums))
	errs := make([]error, len(shnums))
	s := b.set(si)
	for i, shnum := range shnums {
		if err := sharestore.CtxErr(ctx); err != nil {
			errs[i] = err
			continue
		}
		shares[i], errs[i] = s.recentHeader(ctx, shnum)
	}
	return shares, errs
}

// recentHeader reads shnum's header with its remembered layout, or as
// Share does when none is fresh, or when the object is not as listed.
func (s *shareset) recentHeader(ctx context.Context, shnum int) (sharestore.Share, error) {
	l, listed, exists := s.b.recent.layout(s.si, shnum)
	if listed && exists {
		h, err := s.classify(s.b.openChunkFile(ctx, s.si, shnum, l), shnum)
		if err == nil {
			return toShare(s.si, shnum, l, h), nil
		}
		if c := sharestore.CodeOf(err); c != sharestore.ErrNotFound && c != sharestore.ErrCorrupt {
			return sharestore.Share{}, err
		}
	}
	return s.b.Share(ctx, s.si, shnum)
}
