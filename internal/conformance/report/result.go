package report

import (
	"time"
)

// Status is the outcome of one test.
type Status string

// The five outcomes. A Result with any other Status is treated as Failed
// by everything in this package, so that a runner bug cannot pass a run.
const (
	Passed  Status = "passed"
	Failed  Status = "failed"
	Skipped Status = "skipped"
	Known   Status = "known-failure" // failed, and listed in the known-failures file
	Fixed   Status = "fixed"         // passed, but listed in the known-failures file
)

// Valid reports whether s is one of the five outcomes.
func (s Status) Valid() bool {
	switch s {
	case Passed, Failed, Skipped, Known, Fixed:
		return true
	}
	return false
}

// effective returns s, or Failed if s is not one of the five outcomes.
func (s Status) effective() Status {
	if s.Valid() {
		return s
	}
	return Failed
}

// Result is the outcome of one test (one leaf subtest).
type Result struct {
	Name    string // full slash-separated name, e.g. "Backend/Mutable/TestAndSet_eq"
	Group   string // the group it is reported under, e.g. "Backend/Mutable" or "Crawlers"
	Status  Status
	Elapsed time.Duration
	Message string // failure messages (may be multi-line), or the skip reason
	Reason  string // for Known and Fixed: the reason from the known-failures file
}

// shortName returns r's name relative to its group: the rest of Name
// after "Group/", or the whole Name when it does not start with that.
func (r Result) shortName() string {
	if r.Group != "" && len(r.Name) > len(r.Group)+1 &&
		r.Name[:len(r.Group)] == r.Group && r.Name[len(r.Group)] == '/' {
		return r.Name[len(r.Group)+1:]
	}
	return r.Name
}

// Counts tallies results by (effective) status, with their total time.
type Counts struct {
	Passed, Failed, Skipped, Known, Fixed int
	Elapsed                               time.Duration
}

// Tally counts rs.
func Tally(rs []Result) Counts {
	var c Counts
	for _, r := range rs {
		c.Add(r)
	}
	return c
}

// Add counts r: its status, treated as Failed if it is not one of the
// five, and its Elapsed.
func (c *Counts) Add(r Result) {
	switch r.Status.effective() {
	case Passed:
		c.Passed++
	case Failed:
		c.Failed++
	case Skipped:
		c.Skipped++
	case Known:
		c.Known++
	case Fixed:
		c.Fixed++
	}
	c.Elapsed += r.Elapsed
}

// add adds o's counts and time to c.
func (c *Counts) add(o Counts) {
	c.Passed += o.Passed
	c.Failed += o.Failed
	c.Skipped += o.Skipped
	c.Known += o.Known
	c.Fixed += o.Fixed
	c.Elapsed += o.Elapsed
}

// Total returns the number of results counted.
func (c Counts) Total() int { return c.Passed + c.Failed + c.Skipped + c.Known + c.Fixed }

// Verdict returns the exit code of a run with results rs: 1 when any
// result is Failed (or has a Status that is not one of the five), else 0.
// Known failures are not failures. Nor are Fixed tests: a test that is
// listed as known but passed is reported loudly (in the summary, the
// JUnit and the JSON) so that its entry is removed, but it exits 0, since
// the backend did nothing wrong. An empty run is 0; whether running no
// test at all is acceptable is for the caller to decide.
func Verdict(rs []Result) int {
	if Tally(rs).Failed > 0 {
		return 1
	}
	return 0
}

// group is the results of one group, in their order in the run.
type group struct {
	name    string
	results []Result
	counts  Counts
}

// groupResults splits rs by Group, the groups in the order in which they
// first appear in rs and each group's results in their order in rs.
func groupResults(rs []Result) []group {
	var gs []group
	index := map[string]int{}
	for _, r := range rs {
		i, ok := index[r.Group]
		if !ok {
			i = len(gs)
			index[r.Group] = i
			gs = append(gs, group{name: r.Group})
		}
		gs[i].results = append(gs[i].results, r)
		gs[i].counts.Add(r)
	}
	return gs
}
