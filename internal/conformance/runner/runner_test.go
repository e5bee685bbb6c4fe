package runner_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sharestore/sharestore/conformance"
	"github.com/sharestore/sharestore/internal/conformance/report"
	"github.com/sharestore/sharestore/internal/conformance/runner"
)

func byName(rs []report.Result) map[string]report.Result {
	m := map[string]report.Result{}
	for _, r := range rs {
		m[r.Name] = r
	}
	return m
}

// Each way a test can end gives its status and message; Fatal ends the
// test there; subtests are results of their own and fail their parent.
func TestOutcomes(t *testing.T) {
	var afterFatal atomic.Bool
	tests := []conformance.Test{
		{Group: "G", Name: "pass", Run: func(t conformance.T) { t.Log("fine") }},
		{Group: "G", Name: "error", Run: func(t conformance.T) { t.Errorf("first %d", 1); t.Error("second") }},
		{Group: "G", Name: "fatal", Run: func(t conformance.T) { t.Fatalf("stop %s", "here"); afterFatal.Store(true) }},
		{Group: "G", Name: "skip", Run: func(t conformance.T) { t.Skipf("no %s", "planting") }},
		{Group: "G", Name: "panic", Run: func(t conformance.T) { panic("boom") }},
		{Group: "H", Name: "with space", Run: func(t conformance.T) {
			t.Run("a", func(t conformance.T) {})
			t.Run("b", func(t conformance.T) {
				t.Run("deep", func(t conformance.T) { t.Fatal("deep failure") })
			})
			t.Run("a", func(t conformance.T) { t.Skip("dup") })
		}},
	}
	rs := runner.Run(context.Background(), tests, runner.Config{})
	var names []string
	for _, r := range rs {
		names = append(names, r.Name)
	}
	want := []string{"G/pass", "G/error", "G/fatal", "G/skip", "G/panic", "H/with_space", "H/with_space/a", "H/with_space/b", "H/with_space/b/deep", "H/with_space/a#01"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("results %q, want %q", names, want)
	}
	m := byName(rs)
	check := func(name string, st report.Status, msg string) {
		t.Helper()
		r := m[name]
		if r.Status != st || !strings.Contains(r.Message, msg) {
			t.Errorf("%s: %s %q, want %s containing %q", name, r.Status, r.Message, st, msg)
		}
	}
	check("G/pass", report.Passed, "fine")
	check("G/error", report.Failed, "first 1\nsecond")
	check("G/fatal", report.Failed, "stop here")
	check("G/skip", report.Skipped, "no planting")
	check("G/panic", report.Failed, "panic: boom")
	check("H/with_space", report.Failed, "")
	check("H/with_space/a", report.Passed, "")
	check("H/with_space/b", report.Failed, "")
	check("H/with_space/b/deep", report.Failed, "deep failure")
	check("H/with_space/a#01", report.Skipped, "dup")
	if afterFatal.Load() {
		t.Error("the test went on after Fatalf")
	}
	for _, r := range rs {
		if r.Group != r.Name[:1] {
			t.Errorf("%s in group %q", r.Name, r.Group)
		}
	}
}

// Cleanups run last first, after the test, even when it fails, and
// TempDir directories are gone afterwards.
func TestCleanupsAndTempDirs(t *testing.T) {
	root := t.TempDir()
	var order []string
	var dir string
	tests := []conformance.Test{{Group: "G", Name: "x", Run: func(t conformance.T) {
		dir = t.TempDir()
		os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644)
		os.Mkdir(filepath.Join(dir, "ro"), 0o500)
		t.Cleanup(func() { order = append(order, "first") })
		t.Cleanup(func() { order = append(order, "second"); t.Fatal("cleanup fails") })
		t.Fatal("fails")
	}}}
	rs := runner.Run(context.Background(), tests, runner.Config{TempRoot: root})
	if got := strings.Join(order, ","); got != "second,first" {
		t.Errorf("cleanups ran %q, want second,first", got)
	}
	if !strings.HasPrefix(dir, root) {
		t.Errorf("TempDir %s not under %s", dir, root)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("TempDir %s left behind: %v", dir, err)
	}
	if left, _ := os.ReadDir(root); len(left) != 0 {
		t.Errorf("left in the temp root: %v", left)
	}
	if !strings.Contains(rs[0].Message, "fails\ncleanup fails") {
		t.Errorf("message %q", rs[0].Message)
	}
}

// --run selects by full name; --parallel runs tests side by side.
func TestSelectAndParallel(t *testing.T) {
	var running, peak atomic.Int32
	release := make(chan struct{})
	var tests []conformance.Test
	for _, n := range []string{"a1", "a2", "a3", "b1"} {
		tests = append(tests, conformance.Test{Group: "G", Name: n, Run: func(t conformance.T) {
			if v := running.Add(1); v > peak.Load() {
				peak.Store(v)
			}
			if running.Load() == 3 {
				close(release)
			}
			select {
			case <-release:
			case <-t.Context().Done():
			}
			running.Add(-1)
		}})
	}
	rs := runner.Run(context.Background(), tests, runner.Config{Run: regexp.MustCompile(`^G/a`), Parallel: 3})
	if len(rs) != 3 {
		t.Fatalf("%d results, want 3 (G/a*)", len(rs))
	}
	for _, r := range rs {
		if r.Status != report.Passed {
			t.Errorf("%s: %s %s", r.Name, r.Status, r.Message)
		}
	}
	if peak.Load() != 3 {
		t.Errorf("at most %d tests ran at once, want 3", peak.Load())
	}
}

// When the run's context ends, the running test's context is cancelled
// and its cleanups run, and tests not started are reported not run.
func TestInterrupt(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	var cleaned atomic.Bool
	tests := []conformance.Test{
		{Group: "G", Name: "long", Run: func(t conformance.T) {
			t.Cleanup(func() { cleaned.Store(true) })
			cancel(context.Canceled)
			<-t.Context().Done()
			t.Fatalf("interrupted: %v", t.Context().Err())
		}},
		{Group: "G", Name: "later", Run: func(t conformance.T) { t.Error("should not run") }},
	}
	rs := runner.Run(ctx, tests, runner.Config{})
	m := byName(rs)
	if r := m["G/long"]; r.Status != report.Failed || !strings.Contains(r.Message, "interrupted: context canceled") {
		t.Errorf("G/long: %s %q", r.Status, r.Message)
	}
	if r := m["G/later"]; r.Status != report.Skipped || r.Message != "not run: the run was interrupted" {
		t.Errorf("G/later: %s %q", r.Status, r.Message)
	}
	if !cleaned.Load() {
		t.Error("the interrupted test's cleanup did not run")
	}
}

// A test that ignores its context is abandoned after the grace period
// and reported failed.
func TestAbandon(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	block := make(chan struct{})
	defer close(block)
	tests := []conformance.Test{{Group: "G", Name: "stuck", Run: func(t conformance.T) { <-block }}}
	rs := runner.Run(ctx, tests, runner.Config{Grace: time.Millisecond})
	if rs[0].Status != report.Failed || !strings.Contains(rs[0].Message, "did not return within 1ms after the run timed out") {
		t.Errorf("%s %q", rs[0].Status, rs[0].Message)
	}
}
