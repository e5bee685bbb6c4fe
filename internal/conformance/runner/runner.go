// Package runner runs the conformance suite's tests outside go test, for
// the sharestore conformance command: each test on a Scope of its own,
// side by side up to a limit, selected by a regular expression, and
// bounded by the caller's context. It turns every test and subtest into
// a report.Result.
package runner

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/sharestore/sharestore/conformance"
	"github.com/sharestore/sharestore/internal/conformance/report"
)

// Config says which tests run and how.
type Config struct {
	// Run selects the tests whose FullName it matches; nil runs all. A
	// selected test runs with all its subtests.
	Run *regexp.Regexp
	// Parallel is how many tests run side by side; below 1 means 1.
	Parallel int
	// TempRoot is where tests' TempDir directories are made; empty
	// means os.TempDir().
	TempRoot string
	// Grace is how long a running test may take to return after the
	// run's context ended, before it is reported failed and abandoned;
	// 0 means 30 seconds.
	Grace time.Duration
	// OnResult, if not nil, is called with each result as it is known,
	// from one goroutine at a time.
	OnResult func(report.Result)
}

// Run runs the selected tests and returns one result for each test and
// each subtest, in the order of tests (a test's subtests after it).
// When ctx ends, the running tests' contexts are cancelled, tests not
// yet started are reported skipped with the cause, and a test that has
// not returned after cfg.Grace is reported failed.
func Run(ctx context.Context, tests []conformance.Test, cfg Config) []report.Result {
	var sel []conformance.Test
	for _, tc := range tests {
		if cfg.Run == nil || cfg.Run.MatchString(tc.FullName()) {
			sel = append(sel, tc)
		}
	}
	n := max(cfg.Parallel, 1)
	grace := cfg.Grace
	if grace <= 0 {
		grace = 30 * time.Second
	}
	out := make([][]report.Result, len(sel))
	var emit sync.Mutex
	publish := func(rs []report.Result) {
		if cfg.OnResult == nil {
			return
		}
		emit.Lock()
		defer emit.Unlock()
		for _, r := range rs {
			cfg.OnResult(r)
		}
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i] = runOne(ctx, sel[i], cfg.TempRoot, grace)
				publish(out[i])
			}
		}()
	}
	names := uniqueNames{}
	for i := range sel {
		sel[i].Name = names.add(sel[i].Group, sanitize(sel[i].Name))
		if ctx.Err() != nil {
			out[i] = []report.Result{notRun(sel[i], ctx)}
			publish(out[i])
			continue
		}
		select {
		case next <- i:
		case <-ctx.Done():
			out[i] = []report.Result{notRun(sel[i], ctx)}
			publish(out[i])
		}
	}
	close(next)
	wg.Wait()
	var all []report.Result
	for _, rs := range out {
		all = append(all, rs...)
	}
	return all
}

// notRun is the result of a test that never started because ctx ended.
func notRun(tc conformance.Test, ctx context.Context) report.Result {
	return report.Result{Name: tc.FullName(), Group: tc.Group, Status: report.Skipped,
		Message: "not run: " + cause(ctx)}
}

// cause says why ctx ended, in words.
func cause(ctx context.Context) string {
	if c := context.Cause(ctx); c != nil && c != ctx.Err() {
		return c.Error()
	}
	if ctx.Err() == context.DeadlineExceeded {
		return "the run timed out"
	}
	return "the run was interrupted"
}

// sanitize makes a test name as go test does: whitespace becomes '_'.
func sanitize(name string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' {
			return '_'
		}
		return r
	}, name)
}

// uniqueNames gives a name seen before under the same parent a "#01",
// "#02"… suffix, as go test does.
type uniqueNames map[string]int

func (u uniqueNames) add(parent, name string) string {
	k := parent + "/" + name
	n := u[k]
	u[k] = n + 1
	if n == 0 {
		return name
	}
	return fmt.Sprintf("%s#%02d", name, n)
}

// runOne runs tc and returns its result followed by its subtests'.
func runOne(ctx context.Context, tc conformance.Test, root string, grace time.Duration) []report.Result {
	rec := &recorder{}
	t := newT(ctx, tc.Group, tc.FullName(), root, rec)
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		t.Do(func(*Scope) { tc.Run(t) })
		t.Close()
	}()
	var abandoned string
	select {
	case <-done:
	case <-ctx.Done():
		select {
		case <-done:
		case <-time.After(grace):
			abandoned = fmt.Sprintf("did not return within %v after %s", grace, cause(ctx))
		}
	}
	r := t.result(time.Since(start))
	if abandoned != "" {
		r.Status = report.Failed
		r.Message = strings.TrimSpace(r.Message + "\n" + abandoned)
	}
	return append([]report.Result{r}, rec.take()...)
}

// recorder collects the results of subtests, which may run on other
// goroutines than their parent's caller.
type recorder struct {
	mu sync.Mutex
	rs []report.Result
}

func (r *recorder) add(x report.Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rs = append(r.rs, x)
}

func (r *recorder) take() []report.Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rs
}

// t is the conformance.T of one test or subtest.
type t struct {
	*Scope
	group string
	root  string
	rec   *recorder
	names uniqueNames
}

func newT(ctx context.Context, group, name, root string, rec *recorder) *t {
	return &t{Scope: NewScope(ctx, name, root), group: group, root: root, rec: rec, names: uniqueNames{}}
}

// Run runs f as the subtest name, waits for it and records its result
// after its own subtests'; a failed subtest fails t.
func (p *t) Run(name string, f func(conformance.T)) bool {
	name = p.names.add(p.Name(), sanitize(name))
	c := newT(p.Context(), p.group, p.Name()+"/"+name, p.root, &recorder{})
	start := time.Now()
	c.Do(func(*Scope) { f(c) })
	c.Close()
	r := c.result(time.Since(start))
	p.rec.add(r)
	for _, x := range c.rec.take() {
		p.rec.add(x)
	}
	if r.Status == report.Failed {
		p.Fail()
	}
	return r.Status != report.Failed
}

// result is the outcome of t after it has run.
func (p *t) result(d time.Duration) report.Result {
	r := report.Result{Name: p.Name(), Group: p.group, Elapsed: d, Status: report.Passed, Message: p.Output()}
	switch {
	case p.Failed():
		r.Status = report.Failed
	case p.Skipped():
		r.Status = report.Skipped
		r.Message = p.SkipReason()
	}
	return r
}
