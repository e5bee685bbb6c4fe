package crawler

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
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
	// RecentPrefixSeconds holds the most recent intervals between prefix
	// completions, for the ETA.
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
	// Extra is crawler-specific state that outlives cycles.
	Extra json.RawMessage `json:"crawler_state,omitempty"`
}

func newState(name string) *State {
	return &State{Version: StateVersion, Crawler: name, LastCompletePrefix: -1}
}

// LoadState reads the state file at path. A missing file yields a fresh
// state and no error. A file that cannot be parsed, has another version
// or belongs to another crawler is moved aside to path.corrupt-<time> and
// a fresh state is returned together with an error wrapping
// sharestore.ErrCorrupt that names both files: callers must report it
// loudly. The file is never silently reset.
func LoadState(path, crawler string, now time.Time) (*State, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return newState(crawler), nil
	}
	if err != nil {
		return nil, sharestore.Errorf(sharestore.ErrUnavailable, "crawler state %s: %w", path, err)
	}
	st, why := parseState(b, crawler)
	if why == "" {
		return st, nil
	}
	aside := fmt.Sprintf("%s.corrupt-%s", path, now.UTC().Format("20060102T150405Z"))
	if err := os.Rename(path, aside); err != nil {
		return nil, sharestore.Errorf(sharestore.ErrCorrupt, "crawler state %s is damaged (%s) and could not be moved aside: %w", path, why, err)
	}
	return newState(crawler), sharestore.Errorf(sharestore.ErrCorrupt, "crawler state %s is damaged (%s); moved it to %s and starting a fresh cycle", path, why, aside)
}

func parseState(b []byte, crawler string) (*State, string) {
	var st State
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&st); err != nil {
		return nil, fmt.Sprintf("not valid JSON: %v", err)
	}
	switch {
	case st.Version != StateVersion:
		return nil, fmt.Sprintf("version %d, this sharestore reads version %d", st.Version, StateVersion)
	case st.Crawler != crawler:
		return nil, fmt.Sprintf("it belongs to crawler %q, not %q", st.Crawler, crawler)
	case st.LastCompletePrefix < -1 || st.LastCompletePrefix >= sharestore.NumPrefixes:
		return nil, fmt.Sprintf("last complete prefix index %d is out of range", st.LastCompletePrefix)
	case st.CurrentCycle == nil && st.LastCompletePrefix != -1:
		return nil, "a prefix is complete but no cycle is in progress"
	}
	for p := range st.Results {
		if !sharestore.Prefix(p).Valid() {
			return nil, fmt.Sprintf("result for invalid prefix %q", p)
		}
	}
	return &st, ""
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
