package crawler

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
)

// runCycles runs n one-shot cycles of a fresh recorder engine on path
// and returns the cycle numbers the recorder saw start.
func runCycles(t *testing.T, clock *FakeClock, path string, n int, logger *slog.Logger) []int {
	t.Helper()
	var started []int
	for i := 0; i < n; i++ {
		r := &recorder{clock: clock, work: time.Millisecond}
		e := newEngine(t, r, clock, path, Config{CPUSlice: time.Hour, OneShot: true, Logger: logger}, Hooks{})
		if err := e.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		started = append(started, r.started...)
	}
	return started
}

// A state file cut short (a crash while it was copied, a full disk)
// still names its cycles: the fresh cycle after it continues from them.
func TestCycleNumbersContinueAfterTruncatedState(t *testing.T) {
	clock := NewFakeClock(t0)
	path := filepath.Join(t.TempDir(), "recorder.state.json")
	if got := runCycles(t, clock, path, 3, quiet); len(got) != 3 || got[2] != 2 {
		t.Fatalf("cycles %v", got)
	}
	b, _ := os.ReadFile(path)
	i := bytes.Index(b, []byte(`"last_cycle_finished"`))
	if i < 0 {
		t.Fatalf("no last_cycle_finished in %s", b)
	}
	os.WriteFile(path, b[:i+len(`"last_cycle_finished": 2`)], 0o644) // cut after the number
	var log bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&log, nil))
	if got := runCycles(t, clock, path, 2, logger); len(got) != 2 || got[0] != 3 || got[1] != 4 {
		t.Fatalf("after the damaged state: cycles %v, want [3 4]", got)
	}
	// The warning is logged once, as a warning.
	if n := strings.Count(log.String(), "crawler state damaged"); n != 1 || !strings.Contains(log.String(), "level=WARN") {
		t.Fatalf("%d warnings:\n%s", n, log.String())
	}
	// A state file lost outright, with the damaged one still beside it:
	// the numbers still continue.
	os.Remove(path)
	if got := runCycles(t, clock, path, 1, quiet); len(got) != 1 || got[0] != 3 {
		t.Fatalf("after the state file was removed: cycles %v, want [3]", got)
	}
}

// The accounting crawler's history lives in the lease database: when its
// state file is garbage (nothing to salvage), the next cycle numbers
// after the history and after a cycle whose results the database holds.
func TestAccountingCycleNumbersContinueAfterLostState(t *testing.T) {
	f := newAcctFixture(t)
	ctx := context.Background()
	for want := 0; want < 3; want++ {
		e, _ := f.engine(t, AccountingConfig{}, Hooks{})
		if err := e.Run(ctx); err != nil {
			t.Fatal(err)
		}
		if st := e.State(); *st.LastCycleFinished != want {
			t.Fatalf("cycle %d finished as %d", want, *st.LastCycleFinished)
		}
	}
	path := filepath.Join(f.dir, "accounting.json")
	os.WriteFile(path, []byte("{garbage"), 0o644)
	e, a := f.engine(t, AccountingConfig{}, Hooks{})
	if len(e.Warnings()) != 1 {
		t.Fatalf("warnings %v", e.Warnings())
	}
	// Cycle 3 starts, does a few prefixes and is interrupted; then its
	// state file is lost too, but its results are in the lease database.
	stop := errors.New("stop")
	ctx2, cancel := context.WithCancelCause(ctx)
	e2, _ := f.engine(t, AccountingConfig{}, Hooks{AfterPrefix: func(c int, p sharestore.Prefix) {
		if p == "ae" {
			cancel(stop)
		}
	}})
	e2.Run(ctx2)
	if st := e2.State(); st.CurrentCycle == nil || *st.CurrentCycle != 3 {
		t.Fatalf("cycle in progress %+v, want 3", st)
	}
	os.Remove(path)
	e3, _ := f.engine(t, AccountingConfig{}, Hooks{})
	if err := e3.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if st := e3.State(); *st.LastCycleFinished != 4 {
		t.Fatalf("after the lost state: cycle %d, want 4", *st.LastCycleFinished)
	}
	rep, err := a.Report(ctx, e3.State())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.History) != 4 || rep.History[4].SpaceRecovered["examined-shares"] != 4 {
		t.Fatalf("history %v", rep.History)
	}
}
