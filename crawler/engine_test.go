package crawler

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/disk"
	"github.com/sharestore/sharestore/share"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// recorder is a Crawler that records calls and advances the fake clock
// by work per prefix.
type recorder struct {
	clock    *FakeClock
	work     time.Duration
	prefixes []sharestore.Prefix
	started  []int
	finished []int
	failAt   sharestore.Prefix
	failErr  error
}

func (r *recorder) Name() string { return "recorder" }
func (r *recorder) StartedCycle(ctx context.Context, c Cycle) error {
	r.started = append(r.started, c.Number)
	return nil
}
func (r *recorder) ProcessPrefix(ctx context.Context, c Cycle, p sharestore.Prefix) (json.RawMessage, error) {
	if p == r.failAt && r.failErr != nil {
		return nil, r.failErr
	}
	r.clock.Advance(r.work)
	r.prefixes = append(r.prefixes, p)
	return json.RawMessage(`"` + string(p) + `"`), nil
}
func (r *recorder) FinishedCycle(ctx context.Context, c Cycle, res map[sharestore.Prefix]json.RawMessage) error {
	if len(res) != sharestore.NumPrefixes {
		return errors.New("results missing")
	}
	r.finished = append(r.finished, c.Number)
	return nil
}

func newEngine(t *testing.T, c Crawler, clock Clock, path string, cfg Config, h Hooks) *Engine {
	t.Helper()
	e, err := New(c, path, clock, cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// Scenario 38: each prefix once per cycle, in order; 76% after "sg".
func TestPrefixOrderAndPercentage(t *testing.T) {
	clock := NewFakeClock(t0)
	r := &recorder{clock: clock, work: time.Millisecond}
	var e *Engine
	var pctAtSG float64
	e = newEngine(t, r, clock, filepath.Join(t.TempDir(), "state.json"), Config{CPUSlice: time.Hour, OneShot: true}, Hooks{
		AfterPrefix: func(cycle int, p sharestore.Prefix) {
			if p == "sg" {
				pctAtSG = e.Progress().Percentage
			}
		},
	})
	if err := e.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(r.prefixes) != 1024 {
		t.Fatalf("%d prefixes", len(r.prefixes))
	}
	for i, p := range r.prefixes {
		if p != sharestore.PrefixAt(i) {
			t.Fatalf("prefix %d is %q", i, p)
		}
	}
	if int(pctAtSG) != 76 {
		t.Fatalf("pct after sg = %v", pctAtSG)
	}
	st := e.State()
	if st.CurrentCycle != nil || st.LastCycleFinished == nil || *st.LastCycleFinished != 0 {
		t.Fatalf("state after cycle: %+v", st)
	}
	// Scenario 42: one-shot did no more work and did not sleep after.
	if len(clock.Sleeps()) != 0 || len(r.started) != 1 || len(r.finished) != 1 {
		t.Fatalf("one-shot kept working: sleeps %v started %v", clock.Sleeps(), r.started)
	}
}

// Scenario 41: the pause between slices is min(299, slice·(1/p − 1)).
func TestDutyCycle(t *testing.T) {
	clock := NewFakeClock(t0)
	r := &recorder{clock: clock, work: 300 * time.Millisecond}
	e := newEngine(t, r, clock, filepath.Join(t.TempDir(), "s"), Config{CPUSlice: time.Second, AllowedCPUProportion: 0.1}, Hooks{})
	sleep, fin, err := e.RunSlice(context.Background())
	if err != nil || fin {
		t.Fatal(err)
	}
	// 4 prefixes of 0.3 s: the slice took 1.2 s, so the pause is 10.8 s.
	if len(r.prefixes) != 4 || sleep != 10800*time.Millisecond {
		t.Fatalf("prefixes %d sleep %v", len(r.prefixes), sleep)
	}
	r.work = 40 * time.Second
	if sleep, _, _ = e.RunSlice(context.Background()); sleep != 299*time.Second {
		t.Fatalf("cap: %v", sleep)
	}
	e2 := newEngine(t, &recorder{clock: clock, work: time.Second}, clock, filepath.Join(t.TempDir(), "s"), Config{AllowedCPUProportion: 1}, Hooks{})
	if sleep, _, _ = e2.RunSlice(context.Background()); sleep != 0 {
		t.Fatalf("p=1 slept %v", sleep)
	}
}

// Scenario 39: state persists; a restart resumes after the last completed
// prefix of the same cycle, and a new engine after cycle 0 starts cycle 1.
func TestResume(t *testing.T) {
	clock := NewFakeClock(t0)
	path := filepath.Join(t.TempDir(), "state.json")
	r := &recorder{clock: clock, work: 100 * time.Millisecond}
	e := newEngine(t, r, clock, path, Config{CPUSlice: time.Second}, Hooks{})
	if _, _, err := e.RunSlice(context.Background()); err != nil {
		t.Fatal(err)
	}
	done := len(r.prefixes)
	if done != 10 {
		t.Fatalf("first slice did %d prefixes", done)
	}
	// "Crash": a new engine on the same file.
	r2 := &recorder{clock: clock, work: time.Millisecond}
	e2 := newEngine(t, r2, clock, path, Config{CPUSlice: time.Hour, OneShot: true}, Hooks{})
	if err := e2.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(r2.prefixes) != 1024-done || r2.prefixes[0] != sharestore.PrefixAt(done) {
		t.Fatalf("resumed at %q with %d prefixes", r2.prefixes[0], len(r2.prefixes))
	}
	if len(r2.started) != 0 || len(r2.finished) != 1 || r2.finished[0] != 0 {
		t.Fatalf("resume started a new cycle: %v %v", r2.started, r2.finished)
	}
	r3 := &recorder{clock: clock, work: time.Millisecond}
	e3 := newEngine(t, r3, clock, path, Config{CPUSlice: time.Hour, OneShot: true}, Hooks{})
	if err := e3.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(r3.started) != 1 || r3.started[0] != 1 || len(r3.prefixes) != 1024 {
		t.Fatalf("second engine: started %v, %d prefixes", r3.started, len(r3.prefixes))
	}
}

// Scenario 40: after a cycle the next slice waits at least the minimum
// cycle time.
func TestMinimumCycleTime(t *testing.T) {
	clock := NewFakeClock(t0)
	r := &recorder{clock: clock, work: time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	var yields []time.Duration
	e := newEngine(t, r, clock, filepath.Join(t.TempDir(), "s"), Config{CPUSlice: time.Hour, MinimumCycleTime: time.Hour, SlowStart: 5 * time.Minute}, Hooks{
		OnYield: func(d time.Duration) {
			yields = append(yields, d)
			cancel()
		},
	})
	err := e.Run(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("run: %v", err)
	}
	if len(yields) != 1 || yields[0] != time.Hour {
		t.Fatalf("yields %v", yields)
	}
	if s := clock.Sleeps(); len(s) != 1 || s[0] != 5*time.Minute {
		t.Fatalf("slow start: %v", s)
	}
	p := e.Progress()
	if p.CycleInProgress || p.RemainingWait == nil || *p.RemainingWait != time.Hour {
		t.Fatalf("progress %+v", p)
	}
	if got := FormatProgress(p); !strings.HasPrefix(got, "Next crawl in 60 minutes") {
		t.Fatalf("progress text %q", got)
	}
	clock.Advance(time.Minute + time.Second)
	if got := FormatProgress(e.Progress()); !strings.HasPrefix(got, "Next crawl in 58 minutes") {
		t.Fatalf("progress text %q", got)
	}
}

func TestFailingPrefixIsRetried(t *testing.T) {
	clock := NewFakeClock(t0)
	r := &recorder{clock: clock, work: time.Millisecond, failAt: "2a", failErr: sharestore.Errorf(sharestore.ErrUnavailable, "backend down")}
	e := newEngine(t, r, clock, filepath.Join(t.TempDir(), "s"), Config{CPUSlice: time.Hour}, Hooks{})
	_, fin, err := e.RunSlice(context.Background())
	if fin || !errors.Is(err, sharestore.ErrUnavailable) || !strings.Contains(err.Error(), "prefix 2a") {
		t.Fatalf("slice: %v", err)
	}
	if st := e.State(); st.LastCompletePrefix != 5 {
		t.Fatalf("prefixes before the failure were lost: %d", st.LastCompletePrefix)
	}
	r.failErr = nil
	if _, fin, err = e.RunSlice(context.Background()); !fin || err != nil {
		t.Fatalf("retry: %v", err)
	}
	if len(r.prefixes) != 1024 {
		t.Fatalf("%d prefixes", len(r.prefixes))
	}
}

func TestPrefixesInFlight(t *testing.T) {
	clock := NewFakeClock(t0)
	b := newDisk(t)
	plant(t, b, 40)
	c := NewBuckets(b)
	var order []sharestore.Prefix
	e := newEngine(t, c, clock, filepath.Join(t.TempDir(), "s"), Config{CPUSlice: time.Hour, PrefixesInFlight: 8, OneShot: true}, Hooks{
		AfterPrefix: func(cycle int, p sharestore.Prefix) { order = append(order, p) },
	})
	if err := e.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i, p := range order {
		if p != sharestore.PrefixAt(i) {
			t.Fatalf("completed out of order at %d: %q", i, p)
		}
	}
	if n := c.State().LastCompleteCount; n == nil || *n != 40 {
		t.Fatalf("count %v", n)
	}
}

func TestDamagedStateIsMovedAside(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	for _, bad := range []string{"{not json", `{"version": 99, "crawler": "recorder"}`, `{"version": 1, "crawler": "other"}`, `{"version":1,"crawler":"recorder","current_cycle":null,"last_complete_prefix_index":7}`} {
		os.WriteFile(path, []byte(bad), 0o644)
		clock := NewFakeClock(t0)
		e, err := New(&recorder{clock: clock}, path, clock, Config{Logger: quiet}, Hooks{})
		if err != nil {
			t.Fatal(err)
		}
		w := e.Warnings()
		if len(w) != 1 || !errors.Is(w[0], sharestore.ErrCorrupt) || !strings.Contains(w[0].Error(), "moved it to "+path+".corrupt-") {
			t.Fatalf("%q: warnings %v", bad, w)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Fatal("damaged file left in place")
		}
		matches, _ := filepath.Glob(path + ".corrupt-*")
		if len(matches) != 1 {
			t.Fatalf("aside files %v", matches)
		}
		kept, _ := os.ReadFile(matches[0])
		if string(kept) != bad {
			t.Fatal("aside copy differs")
		}
		os.Remove(matches[0])
		if st := e.State(); st.CurrentCycle != nil || st.LastCompletePrefix != -1 {
			t.Fatalf("not fresh: %+v", st)
		}
	}
}

// Scenario 43: the bucket counter reports nothing until a full cycle,
// then the exact number of sharesets.
func TestBucketCounter(t *testing.T) {
	clock := NewFakeClock(t0)
	b := newDisk(t)
	plant(t, b, 10)
	path := filepath.Join(t.TempDir(), "buckets.json")
	c := NewBuckets(b)
	e := newEngine(t, c, clock, path, Config{CPUSlice: time.Second}, Hooks{
		AfterPrefix: func(int, sharestore.Prefix) { clock.Advance(10 * time.Millisecond) },
	})
	if _, _, err := e.RunSlice(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c.State().LastCompleteCount != nil {
		t.Fatal("published before a full cycle")
	}
	for {
		_, fin, err := e.RunSlice(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if fin {
			break
		}
	}
	if n := c.State().LastCompleteCount; n == nil || *n != 10 {
		t.Fatalf("count %v", n)
	}
	// The published count survives a restart.
	c2 := NewBuckets(b)
	newEngine(t, c2, clock, path, Config{}, Hooks{})
	if n := c2.State().LastCompleteCount; n == nil || *n != 10 {
		t.Fatalf("restored count %v", n)
	}
}

func newDisk(t *testing.T) *disk.Backend {
	t.Helper()
	b, err := disk.Open(t.TempDir(), disk.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// plant stores n immutable shares (shnum 0) under distinct SIs.
func plant(t *testing.T, b sharestore.Backend, n int) []sharestore.StorageIndex {
	t.Helper()
	var out []sharestore.StorageIndex
	for i := 0; i < n; i++ {
		var si sharestore.StorageIndex
		si[0], si[1], si[15] = byte(i*37), byte(i), 0xee
		raw := append(share.NewImmutableHeader(1, 4), []byte("data")...)
		if err := b.Shareset(si).PutRaw(context.Background(), 0, strings.NewReader(string(raw)), int64(len(raw))); err != nil {
			t.Fatal(err)
		}
		out = append(out, si)
	}
	return out
}

func TestRateLimit(t *testing.T) {
	clock := NewFakeClock(t0)
	b := RateLimit(newDisk(t), 10, 1, clock)
	ctx := context.Background()
	for i := 0; i < 21; i++ {
		if err := b.ListPrefix(ctx, "aa", func(sharestore.ShareInfo) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	// 21 requests at 10/s with a burst of 1 take 2 s of (fake) time.
	if got := clock.Now().Sub(t0); got != 2*time.Second {
		t.Fatalf("21 requests took %v", got)
	}
}
