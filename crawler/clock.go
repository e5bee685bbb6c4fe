package crawler

import (
	"context"
	"sync"
	"time"

	"github.com/sharestore/sharestore"
)

// Clock is the crawlers' only source of time. Production uses RealClock;
// tests use a FakeClock, so no crawler test ever sleeps for real.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// Sleep waits for d or until ctx ends, whichever is first. It returns
	// nil after a full sleep and a context error (ErrCanceled or
	// ErrDeadlineExceeded) otherwise.
	Sleep(ctx context.Context, d time.Duration) error
}

// RealClock is the wall clock.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// Sleep sleeps for d unless ctx ends first.
func (RealClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return sharestore.CtxErr(ctx)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return sharestore.CtxErr(ctx)
	}
}

// FakeClock is a deterministic clock for tests. Time moves only when the
// test calls Advance or when a crawler calls Sleep, which advances the
// clock by the requested duration at once and records it. It is safe for
// concurrent use.
type FakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
	// OnSleep, if set, is called (without the lock held) before each
	// Sleep advances the clock. A test can cancel a context from it to
	// stop a crawler at a chosen point.
	OnSleep func(d time.Duration)
}

// NewFakeClock returns a FakeClock set to start.
func NewFakeClock(start time.Time) *FakeClock { return &FakeClock{now: start} }

// Now returns the fake time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the fake time forward by d.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Sleep records d and advances the clock by it, unless ctx has already
// ended.
func (c *FakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := sharestore.CtxErr(ctx); err != nil {
		return err
	}
	if c.OnSleep != nil {
		c.OnSleep(d)
	}
	if err := sharestore.CtxErr(ctx); err != nil {
		return err
	}
	c.mu.Lock()
	c.sleeps = append(c.sleeps, d)
	if d > 0 {
		c.now = c.now.Add(d)
	}
	c.mu.Unlock()
	return nil
}

// Sleeps returns the durations passed to Sleep so far.
func (c *FakeClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// Yielding returns a Clock that tells c's time but whose Sleep does not
// move it: it only lets the other goroutines run, for about a
// millisecond of real time, or until ctx ends. It is the clock of the
// workers of a shared cycle (see Sharing) in a test, whose polls while
// they wait for each other must not age the leases the cycle judges.
// Time moves only by c.Advance.
func (c *FakeClock) Yielding() Clock { return yieldingClock{c} }

type yieldingClock struct{ *FakeClock }

func (c yieldingClock) Sleep(ctx context.Context, d time.Duration) error {
	return RealClock{}.Sleep(ctx, time.Millisecond) // a yield, not a measure of time
}
