package crawler

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
)

// listingCrawler is a recorder whose every prefix makes one LIST request
// on a meter, as a crawl of a sparse object store does, and which keeps
// the requests FinishedCycle is handed.
type listingCrawler struct {
	recorder
	meter    *sharestore.RequestMeter
	finished []sharestore.StoreRequests
}

func (c *listingCrawler) ProcessPrefix(ctx context.Context, cy Cycle, p sharestore.Prefix) (json.RawMessage, error) {
	c.meter.Count(sharestore.StoreList, false, nil)
	return c.recorder.ProcessPrefix(ctx, cy, p)
}

func (c *listingCrawler) FinishedCycle(ctx context.Context, cy Cycle, res map[sharestore.Prefix]json.RawMessage) error {
	c.finished = append(c.finished, cy.Requests)
	return c.recorder.FinishedCycle(ctx, cy, res)
}

func countingConfig(cfg Config, m *sharestore.RequestMeter) Config {
	cfg.Requests = func(context.Context) (sharestore.StoreRequests, bool, error) { return m.Snapshot(), true, nil }
	return cfg
}

// A cycle's requests are counted across the processes that work on it:
// what a process made before the cycle resumed in it is not the cycle's,
// and what the first process made before its last save is kept. The next
// cycle counts from zero.
func TestCycleRequestsAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	clock := NewFakeClock(t0)
	path := filepath.Join(t.TempDir(), "state.json")
	first := &sharestore.RequestMeter{}
	c1 := &listingCrawler{recorder: recorder{clock: clock, work: 100 * time.Millisecond}, meter: first}
	e1 := newEngine(t, c1, clock, path, countingConfig(Config{CPUSlice: time.Second}, first), Hooks{})
	if _, _, err := e1.RunSlice(ctx); err != nil {
		t.Fatal(err)
	}
	done := len(c1.prefixes)
	if got := e1.State().CycleRequests[sharestore.StoreList].OK; got != int64(done) {
		t.Fatalf("after %d prefixes the state counts %d LISTs", done, got)
	}

	// A new process, whose backend has already made 500 requests for
	// other work when the cycle resumes.
	second := &sharestore.RequestMeter{}
	for range 500 {
		second.Count(sharestore.StoreGet, false, nil)
	}
	c2 := &listingCrawler{recorder: recorder{clock: clock, work: time.Millisecond}, meter: second}
	e2 := newEngine(t, c2, clock, path, countingConfig(Config{CPUSlice: time.Hour, OneShot: true}, second), Hooks{})
	if err := e2.Run(ctx); err != nil {
		t.Fatal(err)
	}
	want := sharestore.StoreRequests{sharestore.StoreList: {OK: sharestore.NumPrefixes}}
	if got := e2.State().LastCycleRequests; len(got.Sub(want)) != 0 || len(got) != 1 {
		t.Errorf("the resumed cycle recorded %v, want %v", got, want)
	}
	if len(c2.finished) != 1 || len(c2.finished[0].Sub(want)) != 0 {
		t.Errorf("FinishedCycle was handed %v, want %v", c2.finished, want)
	}
	if got := e2.State().CycleRequests; got != nil {
		t.Errorf("between cycles the state still counts %v for a cycle in progress", got)
	}

	// The next cycle counts its own requests only.
	c3 := &listingCrawler{recorder: recorder{clock: clock, work: time.Millisecond}, meter: second}
	e3 := newEngine(t, c3, clock, path, countingConfig(Config{CPUSlice: time.Hour, OneShot: true}, second), Hooks{})
	if err := e3.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e3.State().LastCycleRequests; len(got.Sub(want)) != 0 {
		t.Errorf("the next cycle recorded %v, want %v", got, want)
	}
}

// Without Config.Requests nothing is recorded.
func TestCycleRequestsUncounted(t *testing.T) {
	clock := NewFakeClock(t0)
	path := filepath.Join(t.TempDir(), "state.json")
	r := &recorder{clock: clock, work: time.Millisecond}
	e := newEngine(t, r, clock, path, Config{CPUSlice: time.Hour, OneShot: true}, Hooks{})
	if err := e.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := e.State().LastCycleRequests; got != nil {
		t.Errorf("an engine without Requests recorded %v", got)
	}
}
