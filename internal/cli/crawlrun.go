package cli

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/sharestore/sharestore/crawler"
	"github.com/sharestore/sharestore/leasedb"
)

// crawlRun is the crawlers of one crawl and what they did.
type crawlRun struct {
	// names[i] ("accounting", "buckets") names engines[i].
	names   []string
	engines []*crawler.Engine
	acct    *crawler.Accounting // nil without the accounting crawler
	db      *leasedb.DB         // the accounting crawler's
	buckets *crawler.Buckets    // nil without the bucket counter
	// finished[i] is the last cycle engines[i] completed in this run, or
	// -1 if it completed none.
	finished []int
}

// index returns the position of the crawler named name, or -1.
func (r *crawlRun) index(name string) int {
	for i, n := range r.names {
		if n == name {
			return i
		}
	}
	return -1
}

// run runs the engines and returns each one's error, showing progress
// in mode. With once, the engines run one after the other, in order, so
// that the bucket count comes after the accounting cycle's deletions
// (and does not compete with it for the backend); a failed or
// interrupted engine stops the ones after it. Otherwise they run side
// by side until ctx ends.
func (r *crawlRun) run(ctx context.Context, e *env, mode string, once bool, listed *atomic.Int64) []error {
	before := make([]*int, len(r.engines))
	for i, eng := range r.engines {
		before[i] = eng.State().LastCycleFinished
	}
	var current atomic.Int32
	stop := startProgress(ctx, e, mode, func() (string, *crawler.Engine) {
		i := current.Load()
		return r.names[i], r.engines[i]
	}, listed)
	errs := make([]error, len(r.engines))
	if once {
		for i, eng := range r.engines {
			current.Store(int32(i))
			if errs[i] = eng.Run(ctx); errs[i] != nil || ctx.Err() != nil {
				break
			}
		}
	} else {
		var wg sync.WaitGroup
		for i, eng := range r.engines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = eng.Run(ctx)
			}()
		}
		wg.Wait()
	}
	stop()
	r.finished = make([]int, len(r.engines))
	for i, eng := range r.engines {
		r.finished[i] = -1
		if after := eng.State().LastCycleFinished; after != nil && (before[i] == nil || *after != *before[i]) {
			r.finished[i] = *after
		}
	}
	return errs
}
