package crawler

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"

	"github.com/sharestore/sharestore"
)

// BucketsName is the bucket-counting crawler's name.
const BucketsName = "bucket-counter"

// Buckets is the bucket-counting crawler (Tahoe's BucketCountingCrawler):
// it counts the sharesets under each prefix, and when a cycle completes
// with all 1024 prefixes counted it publishes the total and forgets the
// per-prefix counts. The count is published only after a complete cycle.
type Buckets struct {
	b      sharestore.Backend
	lister *lister

	mu    sync.Mutex
	state BucketsState
}

// BucketsState is the bucket counter's state that outlives a cycle.
type BucketsState struct {
	// LastCompleteCount is the number of sharesets counted by the last
	// complete cycle, or nil before the first one completes.
	LastCompleteCount *int64 `json:"last-complete-bucket-count"`
	// LastCompleteCycle is the cycle that produced it.
	LastCompleteCycle *int `json:"last-complete-cycle,omitempty"`
}

// NewBuckets returns a bucket counter over b. Restore its persistent state
// with Restore when resuming from a state file. It lists sharesets up to
// PrefetchAhead prefixes ahead (see sharestore.Scan).
func NewBuckets(b sharestore.Backend) *Buckets {
	opts := sharestore.ScanOptions{Sharesets: true, Ahead: PrefetchAhead, MaxAge: PrefetchMaxAge}
	return &Buckets{b: b, lister: &lister{b: b, opts: opts}}
}

// Name implements Crawler.
func (c *Buckets) Name() string { return BucketsName }

// StartedCycle implements Crawler.
func (c *Buckets) StartedCycle(ctx context.Context, cycle Cycle) error { return nil }

// ProcessPrefix counts the prefix's sharesets; the result is the count.
func (c *Buckets) ProcessPrefix(ctx context.Context, cycle Cycle, p sharestore.Prefix) (json.RawMessage, error) {
	l, err := c.lister.get(ctx, p)
	if err != nil {
		return nil, err
	}
	return json.RawMessage(strconv.Itoa(len(l.Sharesets))), nil
}

// FinishedCycle publishes the total if every prefix was counted.
func (c *Buckets) FinishedCycle(ctx context.Context, cycle Cycle, results map[sharestore.Prefix]json.RawMessage) error {
	c.lister.close()
	if len(results) != sharestore.NumPrefixes {
		return nil
	}
	var total int64
	for _, r := range results {
		n, err := strconv.ParseInt(string(r), 10, 64)
		if err != nil {
			return sharestore.Errorf(sharestore.ErrCorrupt, "bucket counter: bad count %q in state", r)
		}
		total += n
	}
	c.mu.Lock()
	n := cycle.Number
	c.state = BucketsState{LastCompleteCount: &total, LastCompleteCycle: &n}
	c.mu.Unlock()
	return nil
}

// State returns the published state.
func (c *Buckets) State() BucketsState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// MarshalExtra and Restore move the published state in and out of the
// engine's state file.
func (c *Buckets) MarshalExtra() (json.RawMessage, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return json.Marshal(c.state)
}

// Restore loads state saved by MarshalExtra. Empty input is a no-op.
// State that does not parse, or holds a negative count or cycle, or a
// count without its cycle, is refused with an error wrapping
// sharestore.ErrCorrupt (the engine then moves the state file aside).
func (c *Buckets) Restore(extra json.RawMessage) error {
	if len(extra) == 0 {
		return nil
	}
	var s BucketsState
	if err := json.Unmarshal(extra, &s); err != nil {
		return sharestore.Errorf(sharestore.ErrCorrupt, "bucket counter state: %w", err)
	}
	switch {
	case (s.LastCompleteCount == nil) != (s.LastCompleteCycle == nil):
		return sharestore.Errorf(sharestore.ErrCorrupt, "bucket counter state: a count needs the cycle that produced it")
	case s.LastCompleteCount != nil && (*s.LastCompleteCount < 0 || *s.LastCompleteCycle < 0 || *s.LastCompleteCycle > maxCycle):
		return sharestore.Errorf(sharestore.ErrCorrupt, "bucket counter state: count %d of cycle %d is out of range", *s.LastCompleteCount, *s.LastCompleteCycle)
	}
	c.mu.Lock()
	c.state = s
	c.mu.Unlock()
	return nil
}
