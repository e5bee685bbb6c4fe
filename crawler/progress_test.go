package crawler

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
)

// Scenario 44: the ETA is unknown before a prefix is done, and then the
// rate of the cycle so far (time since the cycle started over prefixes
// done) times the prefixes left; the cycle estimate is 1024 prefixes at
// that rate until a cycle has completed.
func TestETA(t *testing.T) {
	clock := NewFakeClock(t0)
	r := &recorder{clock: clock, work: 2 * time.Second}
	var after []Progress
	var e *Engine
	e = newEngine(t, r, clock, filepath.Join(t.TempDir(), "s"), Config{CPUSlice: time.Hour}, Hooks{
		AfterPrefix: func(c int, p sharestore.Prefix) { after = append(after, e.Progress()) },
	})
	// The first prefix fails: a cycle is in progress with nothing done.
	r.failAt, r.failErr = sharestore.PrefixAt(0), sharestore.Errorf(sharestore.ErrUnavailable, "not yet")
	e.RunSlice(context.Background())
	p := e.Progress()
	if !p.CycleInProgress || p.CompletePrefixes != 0 || p.ETA != nil || p.CycleTime != nil {
		t.Fatalf("before any prefix: %+v", p)
	}
	if got := FormatProgress(p); !strings.HasPrefix(got, "Current crawl 0.0% complete (ETA unknown)") {
		t.Fatalf("before any prefix: %q", got)
	}
	clock.Advance(6 * time.Second) // the failed attempt's time counts too
	r.failAt, r.failErr = sharestore.PrefixAt(300), errors.New("stop here")
	e.RunSlice(context.Background())
	if len(after) != 300 {
		t.Fatalf("%d prefixes", len(after))
	}
	// After prefix 1: 8 s for 1 prefix, 1023 left.
	if p := after[0]; p.ETA == nil || *p.ETA != 8184*time.Second || *p.CycleTime != 8192*time.Second {
		t.Fatalf("after prefix 1: ETA %v, cycle %v", p.ETA, p.CycleTime)
	}
	if got := FormatProgress(after[0]); !strings.Contains(got, "complete (ETA 8184s)") || !strings.Contains(got, "(estimated cycle time 136 minutes)") {
		t.Fatalf("after prefix 1: %q", got)
	}
	// After prefix 256: 6 + 512 s for 256 prefixes, 768 left.
	if p := after[255]; *p.ETA != 1554*time.Second {
		t.Fatalf("after prefix 256: ETA %v", p.ETA)
	}
}

// The duty cycle's pauses are part of the rate: at 10% a prefix that
// takes 1 s costs 10 s of wall time, and the ETA says so.
func TestETAIncludesPauses(t *testing.T) {
	clock := NewFakeClock(t0)
	r := &recorder{clock: clock, work: time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var at10 Progress
	var e *Engine
	e = newEngine(t, r, clock, filepath.Join(t.TempDir(), "s"), Config{CPUSlice: time.Second, AllowedCPUProportion: 0.1}, Hooks{
		AfterPrefix: func(c int, p sharestore.Prefix) {
			if p == sharestore.PrefixAt(9) {
				at10 = e.Progress()
				cancel()
			}
		},
	})
	if err := e.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	// 10 prefixes of 1 s with 9 pauses of 9 s between them: 91 s.
	if at10.ETA == nil || *at10.ETA != time.Duration(91.0/10*1014*float64(time.Second)) {
		t.Fatalf("ETA after 10 prefixes: %v", at10.ETA)
	}
	if got := FormatETA(at10.ETA); got != "9227s" {
		t.Fatalf("ETA text %q", got)
	}
}

// A resumed cycle's rate is measured from where this process resumed it:
// the hours no process worked on it do not count.
func TestETAAfterResume(t *testing.T) {
	clock := NewFakeClock(t0)
	path := filepath.Join(t.TempDir(), "s")
	r := &recorder{clock: clock, work: time.Second, failAt: sharestore.PrefixAt(512), failErr: errors.New("stop")}
	e := newEngine(t, r, clock, path, Config{CPUSlice: time.Hour, Logger: quiet}, Hooks{})
	e.RunSlice(context.Background())
	if p := e.Progress(); p.CompletePrefixes != 512 || *p.ETA != 512*time.Second {
		t.Fatalf("first process: %+v", p)
	}
	clock.Advance(24 * time.Hour)
	r2 := &recorder{clock: clock, work: 2 * time.Second, failAt: sharestore.PrefixAt(514), failErr: errors.New("stop")}
	e2 := newEngine(t, r2, clock, path, Config{CPUSlice: time.Hour, Logger: quiet}, Hooks{})
	// Read back before the new process has worked: the old process's
	// rate, stale by the day that has passed.
	if p := e2.Progress(); p.ETA == nil {
		t.Fatal("no ETA before resuming")
	}
	e2.RunSlice(context.Background())
	if p := e2.Progress(); p.CompletePrefixes != 514 || *p.ETA != 510*2*time.Second {
		t.Fatalf("resumed: %d done, ETA %v", p.CompletePrefixes, p.ETA)
	}
	// status reads the same from the file.
	st, ok, err := ReadState(path, "recorder")
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if p := ProgressOf(st, clock.Now()); *p.ETA != 1020*time.Second {
		t.Fatalf("from the file: %v", p.ETA)
	}
}

// A state file written before RunStart existed: the rate is taken from
// the cycle's start.
func TestETAFromOlderStateFile(t *testing.T) {
	start := t0.Format(time.RFC3339Nano)
	path := filepath.Join(t.TempDir(), "s")
	old := `{"version":1,"crawler":"recorder","current_cycle":0,"cycle_id":"` + cycleID(0, t0) + `","cycle_start":"` + start +
		`","last_complete_prefix_index":99,"recent_prefix_seconds":[0.001,0.002],"last_cycle_finished":null}`
	if err := WriteFileAtomic(path, []byte(old)); err != nil {
		t.Fatal(err)
	}
	st, ok, err := ReadState(path, "recorder")
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	p := ProgressOf(st, t0.Add(200*time.Second))
	if p.ETA == nil || *p.ETA != 1848*time.Second || *p.CycleTime != 2048*time.Second {
		t.Fatalf("ETA %v, cycle %v", p.ETA, p.CycleTime)
	}
}

// Every duration in the JSON is in seconds, as in Tahoe, and times are
// seconds since the epoch.
func TestProgressJSONInSeconds(t *testing.T) {
	decode := func(p Progress) map[string]any {
		t.Helper()
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	// Between cycles: the last cycle took 547996752 ns.
	end := t0.Add(547996752 * time.Nanosecond)
	wake := end.Add(time.Hour)
	n := 0
	st := State{Version: StateVersion, Crawler: "recorder", LastCompletePrefix: -1, LastCycleFinished: &n, LastCycleStart: &t0, LastCycleEnd: &end, NextWake: &wake}
	p := ProgressOf(st, end)
	m := decode(p)
	want := map[string]any{
		"cycle-in-progress":        false,
		"estimated-time-per-cycle": 0.547996752,
		"next-crawl-time":          float64(wake.UnixNano()) / 1e9,
		"remaining-wait-time":      3600.0,
	}
	if len(m) != len(want) {
		t.Errorf("keys %v, want %v", m, want)
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	if got := FormatProgress(p); got != "Next crawl in 60 minutes (estimated cycle time under 1 second)" {
		t.Errorf("text %q", got)
	}
	// During a cycle: 256 prefixes done in 512 s, next work in 9 s.
	cs := t0
	cur := 1
	wake = t0.Add(521 * time.Second)
	st = State{Version: StateVersion, Crawler: "recorder", CurrentCycle: &cur, CycleStart: &cs, CycleID: cycleID(1, cs),
		LastCompletePrefix: 255, RunStart: &RunMark{Time: cs}, NextWake: &wake}
	m = decode(ProgressOf(st, t0.Add(512*time.Second)))
	want = map[string]any{
		"cycle-in-progress":                  true,
		"cycle-complete-percentage":          25.0,
		"complete-prefixes":                  256.0,
		"estimated-cycle-complete-time-left": 1536.0,
		"remaining-sleep-time":               9.0,
		"estimated-time-per-cycle":           2048.0,
	}
	if len(m) != len(want) {
		t.Errorf("keys %v, want %v", m, want)
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	// Unknown estimates are null, as in Tahoe, not missing.
	st = State{Version: StateVersion, Crawler: "recorder", CurrentCycle: &cur, CycleStart: &cs, CycleID: cycleID(1, cs), LastCompletePrefix: -1, RunStart: &RunMark{Time: cs}}
	m = decode(ProgressOf(st, t0))
	for _, k := range []string{"estimated-cycle-complete-time-left", "remaining-sleep-time", "estimated-time-per-cycle"} {
		if v, ok := m[k]; !ok || v != nil {
			t.Errorf("%s = %v (present %v), want null", k, v, ok)
		}
	}
}

// What MarshalJSON writes, UnmarshalJSON reads back.
func TestProgressJSONRoundTrips(t *testing.T) {
	eta, wait, cycle := 1536*time.Second, 9*time.Second, 2048*time.Second
	next := time.Unix(1_800_000_000, 500_000_000)
	for _, p := range []Progress{
		{CycleInProgress: true, CompletePrefixes: 256, Percentage: 25, ETA: &eta, RemainingWait: &wait, CycleTime: &cycle,
			FailedPrefixes: []PrefixFailure{{Prefix: "ab", Class: "PERMISSION_DENIED", Reason: "denied", Attempts: 1, Time: t0}}},
		{NextWake: &next, RemainingWait: &wait, CycleTime: &cycle},
		{},
	} {
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var got Progress
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		b2, _ := json.Marshal(got)
		if string(b) != string(b2) {
			t.Errorf("round trip:\n%s\n%s", b, b2)
		}
	}
}
