package crawler

import (
	"context"
	"time"

	"github.com/sharestore/sharestore"
)

// requestsTimeout bounds one read of the backend's request counts (an
// RPC when the backend is a plugin).
const requestsTimeout = 10 * time.Second

// requestTally is the engine's record of the backend's request counts:
// the counts when they were last added to the cycle in progress.
type requestTally struct {
	mark   sharestore.StoreRequests
	marked bool // mark is from this process, within the cycle in progress
	warned bool // a failed read was logged
}

// readRequests returns the backend's counts now, or false when the
// engine keeps none (no Config.Requests) or they could not be read (the
// failure is logged once: counting never stops a crawl).
func (e *Engine) readRequests() (sharestore.StoreRequests, bool) {
	if e.cfg.Requests == nil {
		return nil, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestsTimeout)
	defer cancel()
	r, ok, err := e.cfg.Requests(ctx)
	if err != nil {
		if !e.reqs.warned {
			e.cfg.Logger.Warn("cannot read the backend's request counts; the cycle's counts will be short", "crawler", e.c.Name(), "err", err)
			e.reqs.warned = true
		}
		return nil, false
	}
	return r, ok
}

// markRequests starts counting the cycle in progress from now: for a new
// cycle, from zero; for a cycle resumed by this process, on top of what
// the processes before it counted.
func (e *Engine) markRequests(fresh bool) {
	r, ok := e.readRequests()
	e.mu.Lock()
	defer e.mu.Unlock()
	if fresh {
		e.st.CycleRequests = nil
	}
	e.reqs.mark, e.reqs.marked = r, ok
	if ok && e.st.CycleRequests == nil {
		e.st.CycleRequests = sharestore.StoreRequests{}
	}
}

// tallyRequests adds the requests made since the last mark to the cycle
// in progress. It does nothing between cycles.
func (e *Engine) tallyRequests() {
	e.mu.Lock()
	live := e.st.CurrentCycle != nil && e.reqs.marked
	e.mu.Unlock()
	if !live {
		return
	}
	r, ok := e.readRequests()
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.st.CycleRequests = e.st.CycleRequests.Add(r.Sub(e.reqs.mark))
	e.reqs.mark = r
}
