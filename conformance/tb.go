package conformance

import (
	"context"
	"strings"
	"testing"
)

// TB is the part of testing.TB that the suite uses, and that it hands to
// a Harness. *testing.T and *testing.B satisfy it, and so does the
// runner of the sharestore conformance command, so one Harness serves
// both go test and the command (and, through plugin.WithHarness, a
// plugin binary).
//
// The methods mean what they mean on testing.TB: Fatal, Fatalf, Skip and
// Skipf end the calling goroutine, which must be the one the test or
// harness call runs on; Cleanup functions run last-added first when the
// test (or, in a plugin, the scratch backend) ends; TempDir returns a
// new directory that is removed then; Context is cancelled just before
// the cleanups run.
type TB interface {
	Name() string
	Helper()
	Cleanup(f func())
	TempDir() string
	Context() context.Context
	Log(args ...any)
	Logf(format string, args ...any)
	Error(args ...any)
	Errorf(format string, args ...any)
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Skip(args ...any)
	Skipf(format string, args ...any)
	Failed() bool
	Skipped() bool
}

// T is a TB that can run subtests. Run runs f as the subtest name of t,
// waits for it, and reports whether it passed or was skipped; a subtest
// that fails fails t too.
type T interface {
	TB
	Run(name string, f func(t T)) bool
}

// Options change how the tests of BackendTests and CrawlerTests run.
type Options struct {
	// Short samples the 1024 prefixes instead of walking them all, as go
	// test's -short flag does for RunBackend.
	Short bool
	// LeaseDB, if set, returns the URL (as leasedb.OpenURL takes it) of
	// a new, empty lease database for one crawler scenario, such as a
	// fresh PostgreSQL database; the scenarios then run on it and must
	// give the same golden results. Nil is a SQLite file in the
	// scenario's temporary directory.
	LeaseDB func(t TB) string
	// Workers, if above 1, runs each crawler cycle of the scenarios on
	// that many engines that share it through the lease database (see
	// crawler.Sharing), which must then be one that several connections
	// share (LeaseDB, on PostgreSQL). They must give the same golden
	// results as one engine.
	Workers int
}

// Test is one test of the suite. Group is the slash-separated group it
// belongs to ("Backend/Listing", "Crawlers"); Name is unique within the
// group and contains no whitespace; Run runs the test on t, which the
// caller creates fresh for it. A Test's Run may start subtests with
// t.Run. FullName is Group + "/" + Name, the name a known-failures file
// and the conformance command's --run flag match.
type Test struct {
	Group string
	Name  string
	Run   func(t T)
}

// FullName returns Group + "/" + Name.
func (tc Test) FullName() string { return tc.Group + "/" + tc.Name }

// backendGroupPrefix is the group prefix of the contract tests.
const backendGroupPrefix = "Backend/"

// BackendTests returns the contract tests of RunBackend, in the order it
// runs them, grouped under "Backend/<group>" (Backend/Listing,
// Backend/Mutable, …). Each test gets a fresh backend from h.NewBackend
// and closes it; tests that need a capability the backend does not
// declare skip with a reason.
func BackendTests(h Harness, o Options) []Test {
	var out []Test
	for _, g := range groups() {
		for _, tc := range g.tests {
			tc := tc
			out = append(out, Test{Group: backendGroupPrefix + g.name, Name: tc.name, Run: func(t T) {
				e := newEnv(t, h, o)
				if tc.writes && e.caps.ReadOnly {
					t.Skip("backend declares ReadOnly")
				}
				tc.fn(e)
			}})
		}
	}
	return out
}

// CrawlerTests returns the crawler scenarios of RunCrawlers, in order,
// in the group "Crawlers". Each one plants the fixture in a fresh
// backend from h, runs the crawlers with a fake clock and compares the
// results with the golden files; a difference is reported as the
// counters and lease database rows that differ, next to their golden
// values.
func CrawlerTests(h Harness, o Options) []Test {
	var out []Test
	for _, sc := range crawlScenarios {
		sc := sc
		out = append(out, Test{Group: "Crawlers", Name: sc.name, Run: func(t T) { runCrawlScenario(t, h, sc, o) }})
	}
	return out
}

// goT adapts a *testing.T to T.
type goT struct{ *testing.T }

func (g goT) Run(name string, f func(t T)) bool {
	return g.T.Run(name, func(t *testing.T) { f(goT{t}) })
}

// runGo runs tests as subtests of t, named by their Name, each under a
// subtest named by its Group with trim removed; with trim equal to the
// whole group the tests run directly under t.
func runGo(t *testing.T, tests []Test, trim string) {
	t.Helper()
	var order []string
	byGroup := map[string][]Test{}
	for _, tc := range tests {
		if _, ok := byGroup[tc.Group]; !ok {
			order = append(order, tc.Group)
		}
		byGroup[tc.Group] = append(byGroup[tc.Group], tc)
	}
	for _, g := range order {
		run := func(t *testing.T) {
			for _, tc := range byGroup[g] {
				t.Run(tc.Name, func(t *testing.T) { tc.Run(goT{t}) })
			}
		}
		if name := strings.TrimPrefix(g, trim); name == "" {
			run(t)
		} else {
			t.Run(name, run)
		}
	}
}
