package crawler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/leasedb"
)

// within fails the test if fn has not returned after d of real time: the
// bound a test needs where the code before the fix hung for ever. It
// never waits when fn returns.
func within(t *testing.T, d time.Duration, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not return within %v: it hangs", what, d)
	}
}

// crashState is a state file as a crash leaves it mid-cycle: cycle 0 in
// progress, prefixes up to index last complete, and (Results being
// omitempty) no prefix_results at all.
func crashState(crawler string, last int) string {
	return fmt.Sprintf(`{"version":1,"crawler":%q,"current_cycle":0,"cycle_id":%q,"cycle_start":%q,"last_complete_prefix_index":%d,"last_cycle_finished":null}`,
		crawler, cycleID(0, t0), t0.Format(time.RFC3339Nano), last)
}

// Why 3 of issue 11: a bucket-counter state file without results made
// completePrefix write into a nil map under e.mu; the panic's deferred
// Save then waited for e.mu for ever.
func TestBucketCounterCrashStateCompletes(t *testing.T) {
	b := newDisk(t)
	plant(t, b, 5)
	path := filepath.Join(t.TempDir(), "bucket_counter.state.json")
	if err := os.WriteFile(path, []byte(crashState(BucketsName, 5)), 0o644); err != nil {
		t.Fatal(err)
	}
	clock := NewFakeClock(t0)
	e := newEngine(t, NewBuckets(b), clock, path, Config{CPUSlice: time.Hour, OneShot: true, Logger: quiet}, Hooks{})
	if w := e.Warnings(); len(w) != 0 {
		t.Fatalf("a crash-time state is not damaged: %v", w)
	}
	var err error
	within(t, 30*time.Second, "Run on a crash-time state", func() { err = e.Run(context.Background()) })
	if err != nil {
		t.Fatal(err)
	}
	if st := e.State(); st.CurrentCycle != nil || st.LastCycleFinished == nil || *st.LastCycleFinished != 0 {
		t.Fatalf("cycle 0 did not complete: %+v", st)
	}
}

// State loading rebuilds every field for every crawler: the loaded
// state of a crash-time file is ready to be written to.
func TestLoadStateRebuildsFields(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.json")
	for _, name := range []string{BucketsName, AccountingName, "recorder"} {
		os.WriteFile(path, []byte(crashState(name, 3)), 0o644)
		st, err := LoadState(path, name, t0)
		if err != nil {
			t.Fatal(err)
		}
		if st.Results == nil {
			t.Fatalf("%s: Results is nil after loading", name)
		}
		rs, ok, err := ReadState(path, name)
		if err != nil || !ok || rs.Results == nil {
			t.Fatalf("%s: ReadState %v %v %+v", name, ok, err, rs)
		}
	}
}

// panicker panics in the method named by where (for prefix at, in
// ProcessPrefix), and otherwise behaves as a recorder.
type panicker struct {
	recorder
	where string
	at    sharestore.Prefix
}

func (p *panicker) StartedCycle(ctx context.Context, c Cycle) error {
	if p.where == "StartedCycle" {
		panic("boom in StartedCycle")
	}
	return p.recorder.StartedCycle(ctx, c)
}

func (p *panicker) ProcessPrefix(ctx context.Context, c Cycle, pr sharestore.Prefix) (json.RawMessage, error) {
	if p.where == "ProcessPrefix" && pr == p.at {
		var m map[string]int
		m["boom"]++ // the nil-map write of Why 3
	}
	return json.RawMessage(`"` + string(pr) + `"`), nil
}

func (p *panicker) FinishedCycle(ctx context.Context, c Cycle, res map[sharestore.Prefix]json.RawMessage) error {
	if p.where == "FinishedCycle" {
		panic("boom in FinishedCycle")
	}
	return nil
}

// A panic in a crawler surfaces as an error, with its stack in the log,
// and leaves no lock held.
func TestCrawlerPanicIsAnError(t *testing.T) {
	for _, c := range []struct {
		where    string
		inFlight int
	}{{"StartedCycle", 1}, {"ProcessPrefix", 1}, {"ProcessPrefix", 4}, {"FinishedCycle", 1}} {
		t.Run(fmt.Sprintf("%s/%d", c.where, c.inFlight), func(t *testing.T) {
			clock := NewFakeClock(t0)
			var logs bytes.Buffer
			var mu sync.Mutex
			logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelError}))
			p := &panicker{recorder: recorder{clock: clock}, where: c.where, at: "2a"}
			e := newEngine(t, p, clock, filepath.Join(t.TempDir(), "s"), Config{CPUSlice: time.Hour, OneShot: true, PrefixesInFlight: c.inFlight, Logger: logger}, Hooks{})
			var err error
			within(t, 30*time.Second, "Run with a panicking crawler", func() { err = e.Run(context.Background()) })
			st := e.State() // would block for ever if e.mu were still held
			mu.Lock()
			log := logs.String()
			mu.Unlock()
			if !strings.Contains(log, "crawler panicked") || !strings.Contains(log, "goroutine") || !strings.Contains(log, "level=ERROR") {
				t.Fatalf("no stack in the error log:\n%s", log)
			}
			if c.where == "ProcessPrefix" {
				// The prefix fails at once (a bug does not heal) and the
				// cycle goes on.
				if err != nil || len(st.LastCycleFailed) != 1 || st.LastCycleFailed[0].Prefix != "2a" || st.LastCycleFailed[0].Attempts != 1 ||
					!strings.Contains(st.LastCycleFailed[0].Reason, "panic in ProcessPrefix(2a)") {
					t.Fatalf("run %v, failed %+v", err, st.LastCycleFailed)
				}
				return
			}
			if !errors.Is(err, sharestore.ErrInternal) || !strings.Contains(err.Error(), "panic in "+c.where) {
				t.Fatalf("run: %v", err)
			}
		})
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// failingBackend makes the listing of the prefixes fail picks fail. It
// embeds only the Backend interface, so sharestore.Scan lists prefix by
// prefix through it.
type failingBackend struct {
	sharestore.Backend
	fail func(p sharestore.Prefix) error

	mu    sync.Mutex
	calls map[sharestore.Prefix]int
}

func (f *failingBackend) try(p sharestore.Prefix) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[sharestore.Prefix]int{}
	}
	f.calls[p]++
	return f.fail(p)
}

func (f *failingBackend) callsOf(p sharestore.Prefix) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[p]
}

func (f *failingBackend) SharesetsForPrefix(ctx context.Context, p sharestore.Prefix) ([]sharestore.StorageIndex, error) {
	if err := f.try(p); err != nil {
		return nil, err
	}
	return f.Backend.SharesetsForPrefix(ctx, p)
}

func (f *failingBackend) ListPrefix(ctx context.Context, p sharestore.Prefix, fn func(sharestore.ShareInfo) error) error {
	if err := f.try(p); err != nil {
		return err
	}
	return f.Backend.ListPrefix(ctx, p, fn)
}

// runBounded runs e until it returns, canceling it after 50 sleeps: the
// code before the fix retried a failing prefix for ever.
func runBounded(t *testing.T, e *Engine, clock *FakeClock) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	clock.OnSleep = func(time.Duration) {
		if n++; n >= 50 {
			cancel()
		}
	}
	err := e.Run(ctx)
	if ctx.Err() != nil {
		t.Fatalf("the engine was still retrying after %d pauses: %v", n, err)
	}
	return err
}

// Why 7 of issue 11: a prefix that keeps failing with a transient error
// is tried MaxPrefixAttempts times, with a doubling pause on the injected
// clock, then recorded as failed; the rest of the cycle completes.
func TestTransientPrefixFailureIsRecorded(t *testing.T) {
	b := newDisk(t)
	plant(t, b, 20)
	fb := &failingBackend{Backend: b, fail: func(p sharestore.Prefix) error {
		if p == "ma" {
			return sharestore.Errorf(sharestore.ErrUnavailable, "listing %s: backend down", p)
		}
		return nil
	}}
	clock := NewFakeClock(t0)
	completed := 0
	e := newEngine(t, NewBuckets(fb), clock, filepath.Join(t.TempDir(), "s"), Config{CPUSlice: time.Second, AllowedCPUProportion: 1, OneShot: true, Logger: quiet},
		Hooks{AfterPrefix: func(int, sharestore.Prefix) { completed++ }})
	if err := runBounded(t, e, clock); err != nil {
		t.Fatal(err)
	}
	st := e.State()
	if completed != sharestore.NumPrefixes || st.LastCycleFinished == nil || *st.LastCycleFinished != 0 {
		t.Fatalf("cycle did not complete: %d prefixes, %+v", completed, st)
	}
	f := st.LastCycleFailed
	if len(f) != 1 || f[0].Prefix != "ma" || f[0].Attempts != 3 || f[0].Class != "UNAVAILABLE" || f[0].Permanent || !strings.Contains(f[0].Reason, "backend down") || f[0].Time.IsZero() {
		t.Fatalf("failed prefixes %+v", f)
	}
	if n := fb.callsOf("ma"); n != 3 {
		t.Fatalf("prefix ma listed %d times, want 3", n)
	}
	if s := clock.Sleeps(); len(s) != 2 || s[0] != time.Second || s[1] != 2*time.Second {
		t.Fatalf("backoff pauses %v, want [1s 2s]", s)
	}
	if got := ProgressOf(st, clock.Now()).FailedPrefixes; len(got) != 1 || got[0].Prefix != "ma" {
		t.Fatalf("progress failed prefixes %+v", got)
	}
	// An incomplete count is not published.
	if n := NewBuckets(b); n.State().LastCompleteCount != nil {
		t.Fatal("published")
	}
}

// A permanent error fails the prefix at the first attempt.
func TestPermanentPrefixFailureIsNotRetried(t *testing.T) {
	b := newDisk(t)
	fb := &failingBackend{Backend: b, fail: func(p sharestore.Prefix) error {
		if p == "ma" {
			return sharestore.Errorf(sharestore.ErrPermissionDenied, "disk: list shares/ma: permission denied")
		}
		return nil
	}}
	clock := NewFakeClock(t0)
	e := newEngine(t, NewBuckets(fb), clock, filepath.Join(t.TempDir(), "s"), Config{CPUSlice: time.Hour, OneShot: true, Logger: quiet}, Hooks{})
	if err := runBounded(t, e, clock); err != nil {
		t.Fatal(err)
	}
	f := e.State().LastCycleFailed
	if len(f) != 1 || f[0].Prefix != "ma" || f[0].Attempts != 1 || !f[0].Permanent || f[0].Class != "PERMISSION_DENIED" {
		t.Fatalf("failed prefixes %+v", f)
	}
	if n := fb.callsOf("ma"); n != 1 {
		t.Fatalf("prefix ma listed %d times, want 1", n)
	}
	if len(clock.Sleeps()) != 0 {
		t.Fatalf("paused %v", clock.Sleeps())
	}
}

// Wrong credentials fail every prefix: after MaxPermanentRun of them in a
// row the cycle stops with the error, and the next run starts again at
// the first of them.
func TestConsecutivePermanentFailuresStopTheCycle(t *testing.T) {
	b := newDisk(t)
	broken := true
	fb := &failingBackend{Backend: b, fail: func(p sharestore.Prefix) error {
		if i := p.Index(); broken && (i == 3 || i >= 10) {
			return sharestore.Errorf(sharestore.ErrPermissionDenied, "s3: 403 Forbidden")
		}
		return nil
	}}
	clock := NewFakeClock(t0)
	path := filepath.Join(t.TempDir(), "s")
	e := newEngine(t, NewBuckets(fb), clock, path, Config{CPUSlice: time.Hour, OneShot: true, Logger: quiet}, Hooks{})
	err := runBounded(t, e, clock)
	if !errors.Is(err, sharestore.ErrPermissionDenied) || !strings.Contains(err.Error(), "8 consecutive prefixes") || !strings.Contains(err.Error(), "403 Forbidden") {
		t.Fatalf("run: %v", err)
	}
	st := e.State()
	if st.LastCompletePrefix != 9 || len(st.Failed) != 1 || st.Failed[0].Prefix != sharestore.PrefixAt(3) {
		t.Fatalf("after the stop: last complete %d, failed %+v", st.LastCompletePrefix, st.Failed)
	}
	if n := fb.callsOf(sharestore.PrefixAt(18)); n != 0 {
		t.Fatalf("went on past the run: %d", n)
	}
	// Fixed credentials: the next run resumes at prefix 10.
	broken = false
	e2 := newEngine(t, NewBuckets(fb), clock, path, Config{CPUSlice: time.Hour, OneShot: true, Logger: quiet}, Hooks{})
	if err := runBounded(t, e2, clock); err != nil {
		t.Fatal(err)
	}
	if f := e2.State().LastCycleFailed; len(f) != 1 || f[0].Prefix != sharestore.PrefixAt(3) {
		t.Fatalf("failed %+v", f)
	}
}

// The accounting crawler's prefix transaction still holds: a prefix whose
// listing fails commits nothing, and the others are recorded.
func TestAccountingFailedPrefixCommitsNothing(t *testing.T) {
	ctx := context.Background()
	b := newDisk(t)
	sis := plant(t, b, 30)
	bad := sis[7].Prefix()
	fb := &failingBackend{Backend: b, fail: func(p sharestore.Prefix) error {
		if p == bad {
			return sharestore.Errorf(sharestore.ErrPermissionDenied, "disk: list %s: permission denied", p)
		}
		return nil
	}}
	db, err := leasedb.Open(ctx, filepath.Join(t.TempDir(), "leasedb.sqlite"), leasedb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	clock := NewFakeClock(t0)
	for _, prefetch := range []bool{false, true} {
		a, err := NewAccounting(fb, db, clock, AccountingConfig{Logger: quiet, Prefetch: prefetch})
		if err != nil {
			t.Fatal(err)
		}
		e := newEngine(t, a, clock, filepath.Join(t.TempDir(), "s"), Config{CPUSlice: time.Hour, OneShot: true, Logger: quiet}, Hooks{})
		if err := runBounded(t, e, clock); err != nil {
			t.Fatal(err)
		}
		if f := e.State().LastCycleFailed; len(f) != 1 || f[0].Prefix != bad {
			t.Fatalf("failed %+v", f)
		}
		for _, si := range sis {
			rows, err := db.SharesForPrefix(ctx, si.Prefix())
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, r := range rows {
				found = found || r.SI == si
			}
			if found == (si.Prefix() == bad) {
				t.Fatalf("prefetch %v: SI %s of prefix %s recorded: %v", prefetch, si, si.Prefix(), found)
			}
		}
	}
}

// Values out of range are refused: the file is moved aside as damaged.
func TestStateOutOfRangeIsMovedAside(t *testing.T) {
	start := t0.Format(time.RFC3339Nano)
	id := cycleID(0, t0)
	cases := map[string]string{
		"absurd cycle":         `{"version":1,"crawler":"recorder","current_cycle":-9223372036854775808,"last_complete_prefix_index":-1,"last_cycle_finished":null}`,
		"negative last cycle":  `{"version":1,"crawler":"recorder","current_cycle":null,"last_complete_prefix_index":-1,"last_cycle_finished":-3,"last_cycle_start":"` + start + `","last_cycle_end":"` + start + `"}`,
		"huge cycle":           `{"version":1,"crawler":"recorder","current_cycle":9223372036854775807,"last_complete_prefix_index":-1,"last_cycle_finished":9223372036854775806}`,
		"prefix index 1024":    `{"version":1,"crawler":"recorder","current_cycle":0,"cycle_id":"` + id + `","cycle_start":"` + start + `","last_complete_prefix_index":1024,"last_cycle_finished":null}`,
		"negative interval":    `{"version":1,"crawler":"recorder","current_cycle":0,"cycle_id":"` + id + `","cycle_start":"` + start + `","last_complete_prefix_index":3,"recent_prefix_seconds":[-9223372036],"last_cycle_finished":null}`,
		"absurd interval":      `{"version":1,"crawler":"recorder","current_cycle":0,"cycle_id":"` + id + `","cycle_start":"` + start + `","last_complete_prefix_index":3,"recent_prefix_seconds":[1e300],"last_cycle_finished":null}`,
		"year 1":               `{"version":1,"crawler":"recorder","current_cycle":0,"cycle_id":"0@-6795364578871345152","cycle_start":"0001-01-01T00:00:00Z","last_complete_prefix_index":3,"last_cycle_finished":null}`,
		"cycle ID mismatch":    `{"version":1,"crawler":"recorder","current_cycle":0,"cycle_id":"7@1","cycle_start":"` + start + `","last_complete_prefix_index":3,"last_cycle_finished":null}`,
		"run start ahead":      `{"version":1,"crawler":"recorder","current_cycle":0,"cycle_id":"` + id + `","cycle_start":"` + start + `","run_start":{"time":"` + start + `","complete_prefixes":5},"last_complete_prefix_index":3,"last_cycle_finished":null}`,
		"run start, no cycle":  `{"version":1,"crawler":"recorder","current_cycle":null,"run_start":{"time":"` + start + `","complete_prefixes":0},"last_complete_prefix_index":-1,"last_cycle_finished":null}`,
		"run start in year 1":  `{"version":1,"crawler":"recorder","current_cycle":0,"cycle_id":"` + id + `","cycle_start":"` + start + `","run_start":{"time":"0001-01-01T00:00:00Z","complete_prefixes":0},"last_complete_prefix_index":3,"last_cycle_finished":null}`,
		"cycle goes back":      `{"version":1,"crawler":"recorder","current_cycle":2,"cycle_id":"` + cycleID(2, t0) + `","cycle_start":"` + start + `","last_complete_prefix_index":3,"last_cycle_finished":4,"last_cycle_start":"` + start + `","last_cycle_end":"` + start + `"}`,
		"end before epoch":     `{"version":1,"crawler":"recorder","current_cycle":null,"last_complete_prefix_index":-1,"last_cycle_finished":0,"last_cycle_start":"1969-01-01T00:00:00Z","last_cycle_end":"` + start + `"}`,
		"failure out of order": `{"version":1,"crawler":"recorder","current_cycle":0,"cycle_id":"` + id + `","cycle_start":"` + start + `","last_complete_prefix_index":3,"last_cycle_finished":null,"failed_prefixes":[{"prefix":"zz","attempts":1}]}`,
		"unknown crawler":      `{"version":1,"crawler":"nobody","current_cycle":null,"last_complete_prefix_index":-1,"last_cycle_finished":null}`,
		"version mismatch":     `{"version":2,"crawler":"recorder","current_cycle":null,"last_complete_prefix_index":-1,"last_cycle_finished":null}`,
	}
	dir := t.TempDir()
	for name, bad := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
			os.WriteFile(path, []byte(bad), 0o644)
			if _, _, err := ReadState(path, "recorder"); !errors.Is(err, sharestore.ErrCorrupt) {
				t.Errorf("ReadState accepted it: %v", err)
			}
			clock := NewFakeClock(t0)
			e, err := New(&recorder{clock: clock}, path, clock, Config{Logger: quiet}, Hooks{})
			if err != nil {
				t.Fatal(err)
			}
			if w := e.Warnings(); len(w) != 1 || !errors.Is(w[0], sharestore.ErrCorrupt) || !strings.Contains(w[0].Error(), "moved it to "+path+".corrupt-") {
				t.Fatalf("warnings %v", w)
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Fatal("damaged file left in place")
			}
			p := e.Progress()
			if p.ETA != nil || p.CycleTime != nil || p.CycleInProgress {
				t.Fatalf("not fresh: %+v", p)
			}
		})
	}
}

// A state the engine wrote itself always loads back, including failures.
func TestStateWithFailuresRoundTrips(t *testing.T) {
	clock := NewFakeClock(t0)
	path := filepath.Join(t.TempDir(), "s")
	r := &recorder{clock: clock, work: time.Second, failAt: sharestore.PrefixAt(3), failErr: sharestore.Errorf(sharestore.ErrCorrupt, "bad row")}
	e := newEngine(t, r, clock, path, Config{CPUSlice: 20 * time.Second, Logger: quiet}, Hooks{})
	if _, _, err := e.RunSlice(context.Background()); err != nil {
		t.Fatal(err)
	}
	e2 := newEngine(t, r, clock, path, Config{Logger: quiet}, Hooks{})
	if w := e2.Warnings(); len(w) != 0 {
		t.Fatalf("own state refused: %v", w)
	}
	if f := e2.State().Failed; len(f) != 1 || f[0].Prefix != sharestore.PrefixAt(3) {
		t.Fatalf("failed %+v", f)
	}
}

// A damaged bucket-counter extra state is moved aside like any damaged
// state, not a fatal error nor silently accepted.
func TestDamagedBucketsExtraIsMovedAside(t *testing.T) {
	dir := t.TempDir()
	for i, extra := range []string{`"not an object"`, `{"last-complete-bucket-count":-5,"last-complete-cycle":0}`, `{"last-complete-bucket-count":5}`} {
		path := filepath.Join(dir, fmt.Sprint(i))
		os.WriteFile(path, []byte(`{"version":1,"crawler":"bucket-counter","current_cycle":null,"last_complete_prefix_index":-1,"last_cycle_finished":null,"crawler_state":`+extra+`}`), 0o644)
		clock := NewFakeClock(t0)
		c := NewBuckets(newDisk(t))
		e, err := New(c, path, clock, Config{Logger: quiet}, Hooks{})
		if err != nil {
			t.Fatalf("%s: %v", extra, err)
		}
		if w := e.Warnings(); len(w) != 1 || !errors.Is(w[0], sharestore.ErrCorrupt) || !strings.Contains(w[0].Error(), "moved it to "+path+".corrupt-") {
			t.Fatalf("%s: warnings %v", extra, w)
		}
		if c.State().LastCompleteCount != nil {
			t.Fatalf("%s: damaged count kept", extra)
		}
	}
}
