package cloud

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/driver"
)

// ScanPrefixes implements sharestore.PrefixScanner with the plan that
// Options.ListPlan names (see ListPlan): a scan without Ahead, or under
// PlanPrefix, lists each prefix on its own; under PlanRange, one
// background goroutine pages through runs of prefixes and hands each
// prefix over as soon as a key past it (or the end of the run) shows that
// it is complete.
//
// A range listing holds at most Ahead completed prefixes and one page
// that Next has not asked for. A prefix whose listing began more than
// MaxAge before Next returns it is listed again on its own, so a range
// listing is never staler than a prefix listing would be.
func (b *chunked) ScanPrefixes(ctx context.Context, first sharestore.Prefix, opts sharestore.ScanOptions) (sharestore.PrefixScan, error) {
	i := first.Index()
	if i < 0 {
		return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "invalid prefix %q", string(first))
	}
	one := func(ctx context.Context, p sharestore.Prefix) (sharestore.PrefixListing, error) {
		return b.listOne(ctx, p, opts.Sharesets)
	}
	if opts.Ahead <= 0 || b.learned.choose(b.opts.ListPlan, i) != PlanRange {
		return sharestore.NewListScan(ctx, first, opts, one)
	}
	maxAge := opts.MaxAge
	if maxAge <= 0 {
		maxAge = sharestore.DefaultScanMaxAge
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &rangeScan{b: b, ctx: ctx, cancel: cancel, sharesets: opts.Sharesets, maxAge: maxAge, ahead: opts.Ahead, one: one, next: i}
	s.start(i)
	return s, nil
}

// start stops the scan's producer, if any, and starts one at prefix
// index i.
func (s *rangeScan) start(i int) {
	s.stop()
	ctx, cancel := context.WithCancel(s.ctx)
	s.prod = &producer{s: s, ctx: ctx, cancel: cancel, results: make(chan rangeListed, s.ahead), done: make(chan struct{})}
	go s.prod.produce(i)
}

// stop ends the scan's producer, if any, and waits for it.
func (s *rangeScan) stop() {
	if s.prod != nil {
		s.prod.cancel()
		<-s.prod.done
		s.prod = nil
	}
}

// listOne lists prefix p on its own, as sharestore.ListOne does.
func (b *chunked) listOne(ctx context.Context, p sharestore.Prefix, sharesets bool) (sharestore.PrefixListing, error) {
	var all []sharestore.ShareInfo
	err := b.ListPrefix(ctx, p, func(info sharestore.ShareInfo) error {
		all = append(all, info)
		return nil
	})
	return listingOf(p, all, sharesets), err
}

// listingOf is the PrefixListing of p's shares all, in (SI, shnum)
// order: the shares, or their storage indexes when sharesets is set.
func listingOf(p sharestore.Prefix, all []sharestore.ShareInfo, sharesets bool) sharestore.PrefixListing {
	l := sharestore.PrefixListing{Prefix: p}
	if !sharesets {
		if len(all) > 0 {
			l.Shares = all
		}
		return l
	}
	l.Sharesets = []sharestore.StorageIndex{}
	for _, info := range all {
		l.Sharesets = appendSI(l.Sharesets, info)
	}
	return l
}

// rangeScan is a scan under PlanRange.
type rangeScan struct {
	b         *chunked
	ctx       context.Context
	cancel    context.CancelFunc
	sharesets bool
	maxAge    time.Duration
	ahead     int
	one       func(context.Context, sharestore.Prefix) (sharestore.PrefixListing, error)

	next int // index of the prefix Next returns next
	err  error
	prod *producer
	once sync.Once
}

// producer is the background listing of one range scan, from one
// prefix on. A scan starts another when a listing it hands over has
// grown too old.
type producer struct {
	s       *rangeScan
	ctx     context.Context
	cancel  context.CancelFunc
	results chan rangeListed
	done    chan struct{}
}

// rangeListed is one prefix's listing from a range listing, with the
// time the request for the first page that could hold its keys began.
type rangeListed struct {
	l     sharestore.PrefixListing
	start time.Time
	err   error
}

// prefixesPerGroup is the number of prefixes that share a first
// character.
const prefixesPerGroup = sharestore.NumPrefixes / len(sharestore.Alphabet)

// produce lists every prefix from index first: the whole of shares/ in
// one listing when first is the first prefix, and otherwise the rest of
// first's group and then one listing per group.
func (s *producer) produce(first int) {
	defer close(s.done)
	var err error
	if first == 0 {
		err = s.listRun(driver.SharesDir+"/", 0, sharestore.NumPrefixes)
	} else {
		for g := first / prefixesPerGroup; g*prefixesPerGroup < sharestore.NumPrefixes && err == nil; g++ {
			lead := string(sharestore.PrefixAt(g * prefixesPerGroup)[:1])
			err = s.listRun(driver.SharesDir+"/"+lead, max(first, g*prefixesPerGroup), (g+1)*prefixesPerGroup)
		}
	}
	if err != nil {
		select {
		case s.results <- rangeListed{err: err}:
		case <-s.ctx.Done():
		}
	}
}

// listRun pages through rel, which holds exactly the prefixes before
// index end from some index at most from, and hands over the prefixes
// from index from to end in order. A prefix is complete when a key of a
// later prefix, or the end of the listing, is seen; its listing began
// with the page in which the listing reached it.
func (s *producer) listRun(rel string, from, end int) error {
	cur := from
	var opened time.Time
	var pc prefixCollector
	advance := func(at time.Time) error {
		if err := s.emit(cur, opened, &pc); err != nil {
			return err
		}
		cur, opened, pc = cur+1, at, prefixCollector{}
		return nil
	}
	last, err := s.s.b.listPages(s.ctx, rel, true, func(k string, o Object, at time.Time) error {
		if opened.IsZero() {
			opened = at
		}
		ref, ok := parseChunkKey(k)
		if !ok {
			return nil
		}
		pi := ref.SI.Prefix().Index()
		if pi < cur || pi >= end {
			return nil
		}
		for cur < pi {
			if err := advance(at); err != nil {
				return err
			}
		}
		pc.add(ref, o)
		return nil
	})
	if err != nil {
		return err
	}
	if opened.IsZero() {
		opened = last
	}
	for cur < end {
		if err := advance(last); err != nil {
			return err
		}
	}
	return nil
}

// emit hands over the listing of prefix index i, begun at start, and
// remembers its layouts for header reads.
func (s *producer) emit(i int, start time.Time, pc *prefixCollector) error {
	p := sharestore.PrefixAt(i)
	all, sets := pc.finish()
	s.s.b.recent.remember(p, start, sets)
	s.s.b.learned.sawPrefix(i, pc.objects)
	select {
	case s.results <- rangeListed{l: listingOf(p, all, s.s.sharesets), start: start}:
		return nil
	case <-s.ctx.Done():
		return sharestore.CtxErr(s.ctx)
	}
}

// Next implements sharestore.PrefixScan.
func (s *rangeScan) Next() (sharestore.PrefixListing, error) {
	if s.err != nil {
		return sharestore.PrefixListing{}, s.err
	}
	if s.next >= sharestore.NumPrefixes {
		return sharestore.PrefixListing{}, io.EOF
	}
	if err := sharestore.CtxErr(s.ctx); err != nil {
		return s.fail(err)
	}
	p := sharestore.PrefixAt(s.next)
	for restarted := false; ; restarted = true {
		var r rangeListed
		select {
		case r = <-s.prod.results:
		case <-s.ctx.Done():
			return s.fail(sharestore.CtxErr(s.ctx))
		}
		switch {
		case r.err != nil:
			return s.fail(r.err)
		case r.l.Prefix != p:
			return s.fail(sharestore.Errorf(sharestore.ErrInternal, "%s: range listing handed over prefix %s where %s was due", s.b.opts.Name, r.l.Prefix, p))
		case s.b.recent.clock().Sub(r.start) <= s.maxAge:
			s.next++
			return r.l, nil
		case restarted:
			// A listing started for this very call is already too
			// old (a slow store): list the prefix on its own.
			l, err := s.one(s.ctx, p)
			if err != nil {
				return s.fail(err)
			}
			s.start(s.next + 1)
			s.next++
			return l, nil
		}
		// Too old: list again from here. The new listing begins now,
		// and covers the following prefixes too.
		s.start(s.next)
	}
}

// fail ends the scan with err.
func (s *rangeScan) fail(err error) (sharestore.PrefixListing, error) {
	s.err = err
	s.Close()
	return sharestore.PrefixListing{}, err
}

// Close implements sharestore.PrefixScan.
func (s *rangeScan) Close() error {
	s.once.Do(func() {
		s.cancel()
		s.stop()
	})
	return nil
}
