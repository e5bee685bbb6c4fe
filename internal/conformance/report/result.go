package report

import "time"

// Status is the outcome of one test.
type Status string

// The outcomes of a test.
const (
	Passed  Status = "passed"
	Failed  Status = "failed"
	Skipped Status = "skipped"
	Known   Status = "known-failure" // failed, and listed in the known-failures file
	Fixed   Status = "fixed"         // passed, but listed in the known-failures file
)

// Result is the outcome of one test (one leaf subtest).
type Result struct {
	Name    string // full slash-separated name, e.g. "Backend/Mutable/TestAndSet_eq"
	Group   string // the group it is reported under, e.g. "Backend/Mutable" or "Crawlers"
	Status  Status
	Elapsed time.Duration
	Message string // failure messages (may be multi-line), or the skip reason
	Reason  string // for Known and Fixed: the reason from the known-failures file
}
