package sharestore

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
)

// StoreOp is the kind of one request a backend sends to the store it
// keeps its shares in: what an object store bills. Its value is a stable
// lower-case name, fit for logs, JSON keys and metrics labels.
type StoreOp string

// The requests an object store is sent. One attempt is one request: a
// retried request counts once per attempt.
const (
	StoreList   StoreOp = "list"   // one page of a listing
	StoreGet    StoreOp = "get"    // a read of an object, or of a range of one
	StoreHead   StoreOp = "head"   // a read of an object's size and version
	StorePut    StoreOp = "put"    // a write of a whole object
	StoreDelete StoreOp = "delete" // a delete, conditional or not
)

// StoreOps lists every StoreOp, in the order reports show them.
var StoreOps = []StoreOp{StoreList, StoreGet, StoreHead, StorePut, StoreDelete}

// OpCounts counts the requests of one StoreOp by the class of their
// result. Every request is in exactly one of OK, NotFound, Throttled,
// Failed and Canceled; Retries counts how many of them repeated an
// earlier attempt that failed.
type OpCounts struct {
	// OK counts requests that succeeded.
	OK int64 `json:"ok,omitempty"`
	// NotFound counts requests answered with ErrNotFound (HTTP 404),
	// such as a delete of an object already gone.
	NotFound int64 `json:"not-found,omitempty"`
	// Throttled counts requests answered with ErrThrottled.
	Throttled int64 `json:"throttled,omitempty"`
	// Failed counts requests that ended with any other error: the
	// store unavailable, permission denied, a deadline passed, ….
	Failed int64 `json:"failed,omitempty"`
	// Canceled counts requests abandoned because their context was
	// canceled: the caller no longer wanted the answer, such as the
	// next page a listing had requested ahead when it stopped early,
	// or a request under way when a run was interrupted. They were
	// sent, so a store may still bill them, but they say nothing of
	// the store's health.
	Canceled int64 `json:"canceled,omitempty"`
	// Retries counts the requests, among the others, that were another
	// attempt at a request that had failed.
	Retries int64 `json:"retries,omitempty"`
}

// Total returns the number of requests: OK + NotFound + Throttled +
// Failed + Canceled.
func (c OpCounts) Total() int64 { return c.OK + c.NotFound + c.Throttled + c.Failed + c.Canceled }

func (c OpCounts) add(o OpCounts, sign int64) OpCounts {
	return OpCounts{
		OK:        c.OK + sign*o.OK,
		NotFound:  c.NotFound + sign*o.NotFound,
		Throttled: c.Throttled + sign*o.Throttled,
		Failed:    c.Failed + sign*o.Failed,
		Canceled:  c.Canceled + sign*o.Canceled,
		Retries:   c.Retries + sign*o.Retries,
	}
}

// StoreRequests counts requests by StoreOp. An op it lacks had no
// requests; a nil StoreRequests counts none. Its JSON form is an object
// keyed by op, such as {"list":{"ok":20},"get":{"ok":3,"not-found":1}}.
type StoreRequests map[StoreOp]OpCounts

// Add returns the sum of r and o, leaving both unchanged.
func (r StoreRequests) Add(o StoreRequests) StoreRequests { return r.combine(o, 1) }

// Sub returns r minus o, leaving both unchanged: the requests made
// between a snapshot o and a later snapshot r of one counter.
func (r StoreRequests) Sub(o StoreRequests) StoreRequests { return r.combine(o, -1) }

func (r StoreRequests) combine(o StoreRequests, sign int64) StoreRequests {
	out := StoreRequests{}
	for _, op := range StoreOps {
		if c := r[op].add(o[op], sign); c != (OpCounts{}) {
			out[op] = c
		}
	}
	return out
}

// Total returns the number of requests of every op.
func (r StoreRequests) Total() int64 {
	var n int64
	for _, c := range r {
		n += c.Total()
	}
	return n
}

// String returns the counts on one line, every op in StoreOps order,
// with the results other than OK and the retries in parentheses, such
// as "21 list, 3 get (1 not found), 0 head, 0 put, 0 delete".
func (r StoreRequests) String() string {
	parts := make([]string, 0, len(StoreOps))
	for _, op := range StoreOps {
		c := r[op]
		s := fmt.Sprintf("%d %s", c.Total(), op)
		var notes []string
		for _, n := range []struct {
			v    int64
			what string
		}{{c.NotFound, "not found"}, {c.Throttled, "throttled"}, {c.Failed, "failed"}, {c.Canceled, "canceled"}, {c.Retries, "retries"}} {
			if n.v != 0 {
				notes = append(notes, fmt.Sprintf("%d %s", n.v, n.what))
			}
		}
		if len(notes) > 0 {
			s += " (" + strings.Join(notes, ", ") + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

// resultClasses is the number of counters a RequestMeter keeps per op:
// OK, NotFound, Throttled, Failed, Canceled and Retries.
const resultClasses = 6

// numStoreOps is len(StoreOps).
const numStoreOps = 5

// RequestMeter counts requests as a backend makes them. Its zero value
// counts none yet and is ready to use; it is safe for concurrent use and
// must not be copied after first use.
type RequestMeter struct {
	n [numStoreOps][resultClasses]atomic.Int64
}

// Count counts one request of op that ended with err (nil for success);
// retry says it repeated an attempt that had failed. An op outside
// StoreOps is not counted.
func (m *RequestMeter) Count(op StoreOp, retry bool, err error) {
	i := opIndex(op)
	if i < 0 {
		return
	}
	class := 3
	switch {
	case err == nil:
		class = 0
	case CodeOf(err) == ErrNotFound:
		class = 1
	case CodeOf(err) == ErrThrottled:
		class = 2
	case CodeOf(err) == ErrCanceled:
		class = 4
	}
	m.n[i][class].Add(1)
	if retry {
		m.n[i][5].Add(1)
	}
}

// Snapshot returns the counts so far.
func (m *RequestMeter) Snapshot() StoreRequests {
	out := StoreRequests{}
	for i, op := range StoreOps {
		c := OpCounts{
			OK:        m.n[i][0].Load(),
			NotFound:  m.n[i][1].Load(),
			Throttled: m.n[i][2].Load(),
			Failed:    m.n[i][3].Load(),
			Canceled:  m.n[i][4].Load(),
			Retries:   m.n[i][5].Load(),
		}
		if c != (OpCounts{}) {
			out[op] = c
		}
	}
	return out
}

func opIndex(op StoreOp) int {
	for i, o := range StoreOps {
		if o == op {
			return i
		}
	}
	return -1
}

// RequestCounter is an optional interface of a Backend that counts the
// requests it sends to its store, as the object store backends do.
// Callers find it with StoreRequestsOf, which looks through wrappers.
type RequestCounter interface {
	// StoreRequests returns every request the backend has sent to its
	// store since it was opened. The counts never decrease, so the
	// requests of a span of work are the difference of two calls. A
	// backend that can tell only when asked that it keeps no counts (a
	// plugin whose backend keeps none) returns an error whose code is
	// ErrUnimplemented.
	StoreRequests(ctx context.Context) (StoreRequests, error)
}

// StoreRequestsOf returns the counts of the first backend in b's Unwrap
// chain that is a RequestCounter, and false when none is or when it
// reports ErrUnimplemented (the disk backend keeps no request counts: it
// makes system calls, not billed requests).
func StoreRequestsOf(ctx context.Context, b Backend) (StoreRequests, bool, error) {
	var rc RequestCounter
	walk(b, func(l Backend) bool {
		rc, _ = l.(RequestCounter)
		return rc != nil
	})
	if rc == nil {
		return nil, false, nil
	}
	r, err := rc.StoreRequests(ctx)
	if CodeOf(err) == ErrUnimplemented {
		return nil, false, nil
	}
	return r, err == nil, err
}
