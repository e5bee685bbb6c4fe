package crawler

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/sharestore/sharestore"
)

// StateVersion is the version of the state file format this package
// writes and reads.
const StateVersion = 1

// State is a crawler's persistent state: a versioned JSON file, written
// atomically after every slice, at the end of every cycle and on stop.
type State struct {
	// Version is StateVersion.
	Version int `json:"version"`
	// Crawler names the crawler that owns the file.
	Crawler string `json:"crawler"`
	// CurrentCycle is the cycle in progress, or nil between cycles.
	CurrentCycle *int `json:"current_cycle"`
	// CycleID identifies the cycle in progress uniquely (its number and
	// start time), so that results stored elsewhere can be matched to it.
	CycleID string `json:"cycle_id,omitempty"`
	// CycleStart is when the cycle in progress started.
	CycleStart *time.Time `json:"cycle_start,omitempty"`
	// LastCompletePrefix is the index in sharestore.Prefixes of the last
	// prefix completed in this cycle, or -1.
	LastCompletePrefix int `json:"last_complete_prefix_index"`
	// LastPrefixFinished is when that prefix completed.
	LastPrefixFinished *time.Time `json:"last_prefix_finished,omitempty"`
	// RunStart is where the process working on the cycle in progress
	// started or resumed it; the ETA is the rate since then (see
	// Progress.ETA). Files written before it existed lack it.
	RunStart *RunMark `json:"run_start,omitempty"`
	// RecentPrefixSeconds is read from state files of earlier versions,
	// which kept prefix intervals for the ETA, and otherwise unused.
	RecentPrefixSeconds []float64 `json:"recent_prefix_seconds,omitempty"`
	// LastCycleFinished is the number of the last completed cycle, or
	// nil if none has completed.
	LastCycleFinished *int `json:"last_cycle_finished"`
	// LastCycleStart and LastCycleEnd bound the last completed cycle.
	LastCycleStart *time.Time `json:"last_cycle_start,omitempty"`
	LastCycleEnd   *time.Time `json:"last_cycle_end,omitempty"`
	// NextWake is when the crawler will next do work, if it is sleeping.
	NextWake *time.Time `json:"next_wake,omitempty"`
	// Results holds each completed prefix's result in the current cycle.
	// A prefix that runs again replaces its result, so a crash never
	// double-counts.
	Results map[string]json.RawMessage `json:"prefix_results,omitempty"`
	// Failing is the prefix after LastCompletePrefix while it is being
	// retried after a failure, with the attempts so far; nil otherwise.
	Failing *PrefixFailure `json:"failing_prefix,omitempty"`
	// Failed lists, in prefix order, the prefixes of the current cycle
	// that failed for good (see Config.MaxPrefixAttempts). They count as
	// complete for the cycle's progress but keep no result.
	Failed []PrefixFailure `json:"failed_prefixes,omitempty"`
	// LastCycleFailed is Failed as it was when the last cycle completed.
	LastCycleFailed []PrefixFailure `json:"last_cycle_failed_prefixes,omitempty"`
	// CycleRequests counts the requests the backend sent to its store
	// while the cycle in progress ran, in every process that worked on
	// it (see Config.Requests); nil when the engine counts none.
	// Requests made while no process worked on the cycle, or after a
	// process's last save before it crashed, are not in it.
	CycleRequests sharestore.StoreRequests `json:"cycle_requests,omitempty"`
	// LastCycleRequests is CycleRequests as it was when the last cycle
	// completed.
	LastCycleRequests sharestore.StoreRequests `json:"last_cycle_requests,omitempty"`
	// Extra is crawler-specific state that outlives cycles.
	Extra json.RawMessage `json:"crawler_state,omitempty"`
}

// RunMark is a point in a cycle: a time and how many prefixes were
// complete then.
type RunMark struct {
	// Time is when the mark was taken.
	Time time.Time `json:"time"`
	// CompletePrefixes is how many prefixes of the cycle were complete.
	CompletePrefixes int `json:"complete_prefixes"`
}

// PrefixFailure records a prefix that could not be processed.
type PrefixFailure struct {
	// Prefix is the prefix that failed.
	Prefix sharestore.Prefix `json:"prefix"`
	// Class is the error class (sharestore.Code's String, such as
	// "PERMISSION_DENIED").
	Class string `json:"class"`
	// Permanent reports that the class is one a retry cannot cure, so
	// the prefix was not retried.
	Permanent bool `json:"permanent,omitempty"`
	// Reason is the last error's message.
	Reason string `json:"reason"`
	// Attempts is how many times the prefix was tried.
	Attempts int `json:"attempts"`
	// Time is when the last attempt failed.
	Time time.Time `json:"time"`
}

// FailedPrefixes returns the failed prefixes of the cycle in progress,
// or of the last completed cycle between cycles.
func (st State) FailedPrefixes() []PrefixFailure {
	if st.CurrentCycle != nil {
		return st.Failed
	}
	return st.LastCycleFailed
}

func newState(name string) *State {
	st := &State{Version: StateVersion, Crawler: name, LastCompletePrefix: -1}
	st.normalize()
	return st
}

// normalize rebuilds the fields that a state file may leave out (its
// omitempty fields read back as nil) into the form the engine writes
// to, so that no code path meets a nil map. It is the one place that
// does so, for every crawler, whatever wrote the file.
func (st *State) normalize() {
	if st.Results == nil {
		st.Results = map[string]json.RawMessage{}
	}
}

// LoadState reads the state file at path. A missing file yields a fresh
// state and no error. A file that cannot be parsed, has another version,
// belongs to another crawler or holds a value out of range (see
// validate) is moved aside to path.corrupt-<time> and a fresh state is
// returned together with an error wrapping sharestore.ErrCorrupt that
// names both files: callers must report it loudly. The file is never
// silently reset. A path that is not a regular file (a FIFO, a device, a
// symbolic link, a directory) is refused with an error wrapping
// sharestore.ErrInvalidArgument, and is never opened.
func LoadState(path, crawler string, now time.Time) (*State, error) {
	b, err := readStateFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return newState(crawler), nil
	}
	if err != nil {
		return nil, err
	}
	st, why := parseState(b, crawler)
	if why == "" {
		return st, nil
	}
	return moveAside(path, crawler, why, now)
}

// ReadState reads the state file at path without changing anything, for
// readers such as "sharestore status". It reports false for a missing
// file. A damaged file or a value out of range is an error wrapping
// sharestore.ErrCorrupt (the next crawl moves it aside), and a path
// that is not a regular file one wrapping ErrInvalidArgument.
func ReadState(path, crawler string) (State, bool, error) {
	b, err := readStateFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return State{}, false, nil
	}
	if err != nil {
		return State{}, false, err
	}
	st, why := parseState(b, crawler)
	if why != "" {
		return State{}, false, sharestore.Errorf(sharestore.ErrCorrupt,
			"crawler state %s is damaged (%s); the next \"sharestore crawl\" moves it aside and starts a fresh cycle", path, why)
	}
	return *st, true, nil
}

// readStateFile reads path if it is a regular file. It looks with Lstat
// first, so a FIFO is never opened (opening one for reading blocks until
// a writer comes), and checks again on the open file.
func readStateFile(path string) ([]byte, error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err != nil {
		return nil, sharestore.Errorf(sharestore.ErrUnavailable, "crawler state %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, notRegular(path, fi)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, sharestore.Errorf(sharestore.ErrUnavailable, "crawler state %s: %w", path, err)
	}
	defer f.Close()
	if fi2, err := f.Stat(); err != nil || !os.SameFile(fi, fi2) {
		return nil, sharestore.Errorf(sharestore.ErrUnavailable, "crawler state %s changed while it was opened; try again", path)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, sharestore.Errorf(sharestore.ErrUnavailable, "crawler state %s: %w", path, err)
	}
	return b, nil
}

func notRegular(path string, fi fs.FileInfo) error {
	return sharestore.Errorf(sharestore.ErrInvalidArgument,
		"crawler state %s is not a regular file (file mode %s); remove it or point --state-dir elsewhere", path, fi.Mode())
}

// moveAside renames the damaged state file at path out of the way and
// returns a fresh state with the loud ErrCorrupt error that says so.
func moveAside(path, crawler, why string, now time.Time) (*State, error) {
	aside := fmt.Sprintf("%s.corrupt-%s", path, now.UTC().Format("20060102T150405Z"))
	if err := os.Rename(path, aside); err != nil {
		return nil, sharestore.Errorf(sharestore.ErrCorrupt, "crawler state %s is damaged (%s) and could not be moved aside: %w", path, why, err)
	}
	return newState(crawler), sharestore.Errorf(sharestore.ErrCorrupt, "crawler state %s is damaged (%s); moved it to %s and starting a fresh cycle", path, why, aside)
}

// parseState decodes, validates and normalizes a state file's bytes; it
// returns why they are refused, or "".
func parseState(b []byte, crawler string) (*State, string) {
	var st State
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&st); err != nil {
		return nil, fmt.Sprintf("not valid JSON: %v", err)
	}
	if why := st.validate(crawler); why != "" {
		return nil, why
	}
	st.normalize()
	return &st, ""
}

// Limits of validate. Nothing the engine writes exceeds them: it clamps
// prefix intervals to [0, maxPrefixSeconds], and a cycle a second would
// take 31 years to reach maxCycle.
const (
	maxCycle         = 1_000_000_000
	maxPrefixSeconds = 100 * 24 * 3600 // 1024 of them still fit a time.Duration
	maxAttempts      = 1_000_000
)

// Times in a state file lie in [minStateTime, maxStateTime): the span of
// time.Time.UnixNano, so no difference of two overflows a Duration.
var (
	minStateTime = time.Unix(0, 0)
	maxStateTime = time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC)
)

// runStartTime is RunStart's time, or nil.
func (st *State) runStartTime() *time.Time {
	if st.RunStart == nil {
		return nil
	}
	return &st.RunStart.Time
}

// cycleID is the CycleID of cycle n started at start.
func cycleID(n int, start time.Time) string { return fmt.Sprintf("%d@%d", n, start.UnixNano()) }

// validate returns why st cannot be the state of crawler, or "". It is
// the one check of every field's range and of their agreement: a state
// that fails it was not written by this engine and is moved aside.
func (st *State) validate(crawler string) string {
	switch {
	case st.Version != StateVersion:
		return fmt.Sprintf("version %d, this sharestore reads version %d", st.Version, StateVersion)
	case st.Crawler != crawler:
		return fmt.Sprintf("it belongs to crawler %q, not %q", st.Crawler, crawler)
	case st.LastCompletePrefix < -1 || st.LastCompletePrefix >= sharestore.NumPrefixes:
		return fmt.Sprintf("last complete prefix index %d is out of range", st.LastCompletePrefix)
	case st.CurrentCycle != nil && (*st.CurrentCycle < 0 || *st.CurrentCycle > maxCycle):
		return fmt.Sprintf("current cycle %d is out of range", *st.CurrentCycle)
	case st.LastCycleFinished != nil && (*st.LastCycleFinished < 0 || *st.LastCycleFinished >= maxCycle):
		return fmt.Sprintf("last finished cycle %d is out of range", *st.LastCycleFinished)
	case (st.LastCycleStart == nil) != (st.LastCycleEnd == nil) || (st.LastCycleFinished == nil) != (st.LastCycleEnd == nil):
		return "the last cycle's number, start and end are not all given"
	case len(st.RecentPrefixSeconds) > recentPrefixes:
		return fmt.Sprintf("%d recent prefix intervals, at most %d are kept", len(st.RecentPrefixSeconds), recentPrefixes)
	}
	for name, t := range map[string]*time.Time{"cycle start": st.CycleStart, "last prefix finished": st.LastPrefixFinished,
		"last cycle start": st.LastCycleStart, "last cycle end": st.LastCycleEnd, "next wake": st.NextWake, "run start": st.runStartTime()} {
		if t != nil && (t.Before(minStateTime) || !t.Before(maxStateTime)) {
			return fmt.Sprintf("%s %s is out of range", name, t.Format(time.RFC3339))
		}
	}
	for _, s := range st.RecentPrefixSeconds {
		if !(s >= 0 && s <= maxPrefixSeconds) { // also refuses NaN
			return fmt.Sprintf("prefix interval %v s is out of range", s)
		}
	}
	if why := st.validateCycle(); why != "" {
		return why
	}
	if why := validateFailures(st.Failed, st.LastCompletePrefix); why != "" {
		return why
	}
	return validateFailures(st.LastCycleFailed, sharestore.NumPrefixes-1)
}

// validateCycle checks the fields of the cycle in progress, or their
// absence between cycles.
func (st *State) validateCycle() string {
	if st.CurrentCycle == nil {
		if st.LastCompletePrefix != -1 || st.CycleID != "" || st.CycleStart != nil || st.RunStart != nil || len(st.Results) > 0 || len(st.Failed) > 0 || st.Failing != nil {
			return "a prefix, cycle ID, start, run start, result or failure is recorded but no cycle is in progress"
		}
		return ""
	}
	n, want := *st.CurrentCycle, 0
	if st.LastCycleFinished != nil {
		want = *st.LastCycleFinished + 1
	}
	switch {
	case n < want:
		// Higher is fine: a cycle skips the numbers other records use.
		return fmt.Sprintf("current cycle %d does not follow the last finished cycle (expected %d or more)", n, want)
	case st.CycleStart == nil:
		return "the cycle in progress has no start time"
	case st.CycleID != cycleID(n, *st.CycleStart):
		return fmt.Sprintf("cycle ID %q does not match cycle %d started at %s", st.CycleID, n, st.CycleStart.Format(time.RFC3339Nano))
	case st.RunStart != nil && (st.RunStart.CompletePrefixes < 0 || st.RunStart.CompletePrefixes > st.LastCompletePrefix+1):
		return fmt.Sprintf("run start with %d prefixes complete is not within the cycle", st.RunStart.CompletePrefixes)
	}
	for p := range st.Results {
		if i := sharestore.Prefix(p).Index(); !sharestore.Prefix(p).Valid() || i > st.LastCompletePrefix {
			return fmt.Sprintf("result for invalid or not yet completed prefix %q", p)
		}
	}
	if f := st.Failing; f != nil {
		if f.Prefix.Index() != st.LastCompletePrefix+1 || !f.Prefix.Valid() || f.Attempts < 1 || f.Attempts > maxAttempts {
			return fmt.Sprintf("failing prefix %q (attempt %d) is not the next prefix", f.Prefix, f.Attempts)
		}
	}
	return ""
}

// validateFailures checks a list of failed prefixes: valid, in
// increasing order, none after last, with a plausible attempt count.
func validateFailures(fs []PrefixFailure, last int) string {
	prev := -1
	for _, f := range fs {
		i := f.Prefix.Index()
		if !f.Prefix.Valid() || i <= prev || i > last || f.Attempts < 1 || f.Attempts > maxAttempts {
			return fmt.Sprintf("failed prefix %q (attempt %d) is invalid or out of order", f.Prefix, f.Attempts)
		}
		prev = i
	}
	return ""
}

// Save writes st to path atomically: a temporary file in the same
// directory, fsync, rename over path, fsync of the directory.
func (st *State) Save(path string) error {
	b, err := json.MarshalIndent(st, "", " ")
	if err != nil {
		return sharestore.Errorf(sharestore.ErrInternal, "crawler state %s: %w", path, err)
	}
	return WriteFileAtomic(path, append(b, '\n'))
}

// WriteFileAtomic writes data to path so that a reader (or a crash) sees
// either the old file or the whole new one: temporary file, fsync,
// rename, fsync of the directory.
func WriteFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return sharestore.Errorf(sharestore.ErrUnavailable, "write %s: %w", path, err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return sharestore.Errorf(sharestore.ErrUnavailable, "write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return sharestore.Errorf(sharestore.ErrUnavailable, "write %s: %w", path, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return sharestore.Errorf(sharestore.ErrUnavailable, "sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return sharestore.Errorf(sharestore.ErrUnavailable, "sync %s: %w", dir, err)
	}
	return nil
}
