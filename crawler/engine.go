// Package crawler runs rate-limited, resumable walks over the 1024
// storage-index prefixes of a backend. The Engine owns the schedule (slow
// start, time slices, a duty cycle, a minimum cycle time, prefixes in
// flight), the state file and progress; a Crawler says what to do with
// each prefix. Two crawlers are provided: Accounting, which reconciles
// the lease database with what is stored and collects garbage, and
// Buckets, which counts sharesets.
//
// Everything reads time from an injected Clock, so tests drive crawlers
// with a FakeClock and never sleep for real. Crawlers see only the
// sharestore.Backend contract, so they behave identically on every
// backend.
package crawler

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/sharestore/sharestore"
)

// Crawler is the work an Engine schedules.
type Crawler interface {
	// Name identifies the crawler in its state file.
	Name() string
	// StartedCycle is called when a cycle begins.
	StartedCycle(ctx context.Context, cycle Cycle) error
	// ProcessPrefix does the crawler's work on one prefix and returns
	// its result, which the engine keeps in the state file for the rest
	// of the cycle (nil keeps nothing). It may run again for the same
	// prefix after a crash, so it must be idempotent, and its result
	// replaces the earlier one. With PrefixesInFlight > 1 it runs
	// concurrently for different prefixes.
	ProcessPrefix(ctx context.Context, cycle Cycle, prefix sharestore.Prefix) (json.RawMessage, error)
	// FinishedCycle is called once every prefix of the cycle is done,
	// with each prefix's result.
	FinishedCycle(ctx context.Context, cycle Cycle, results map[sharestore.Prefix]json.RawMessage) error
}

// Persister is implemented by crawlers whose state outlives cycles (a
// published total, say). The engine keeps it in the state file.
type Persister interface {
	// MarshalExtra returns the state to save.
	MarshalExtra() (json.RawMessage, error)
	// Restore loads state saved by MarshalExtra; empty input is a no-op.
	Restore(extra json.RawMessage) error
}

// Flusher is implemented by crawlers that commit some prefixes' results
// after ProcessPrefix returned. Flush must make the result of every
// prefix ProcessPrefix has returned durable; the engine calls it before
// it saves its state, so a saved state never counts a prefix whose
// result could be lost.
type Flusher interface {
	Flush() error
}

// Cycle identifies one cycle.
type Cycle struct {
	// Number counts cycles from 0.
	Number int
	// ID is unique to this cycle: its number and start time.
	ID string
	// Start is when the cycle started.
	Start time.Time
	// Requests counts the requests the backend sent to its store while
	// the cycle ran, when the engine counts them (Config.Requests):
	// FinishedCycle sees the whole cycle's. Nil otherwise.
	Requests sharestore.StoreRequests
}

// Config is the engine's schedule. Zero fields take the defaults in
// brackets, which are Tahoe's.
type Config struct {
	// SlowStart delays the first slice after Run starts [0].
	SlowStart time.Duration
	// CPUSlice is how long a slice works before it yields [1s].
	CPUSlice time.Duration
	// AllowedCPUProportion is the duty cycle on wall time: after a
	// slice that took t, the engine sleeps t/p − t, capped at MaxSleep
	// [0.1]. 1 turns the duty cycle off.
	AllowedCPUProportion float64
	// MaxSleep caps the pause between slices [299s].
	MaxSleep time.Duration
	// MinimumCycleTime is the least pause after a cycle [0].
	MinimumCycleTime time.Duration
	// PrefixesInFlight is how many prefixes are processed at once [1].
	// More hides backend latency; results are still completed in
	// prefix order.
	PrefixesInFlight int
	// OneShot makes Run return after one complete cycle.
	OneShot bool
	// CheckpointEvery, if positive, also saves the state after every
	// that many completed prefixes, not only after each slice.
	CheckpointEvery int
	// MaxPrefixAttempts is how many times a prefix that keeps failing is
	// tried, with a growing pause between attempts, before it is
	// recorded as failed (State.Failed) and the cycle goes on [3]. A
	// permanent error (see Permanent) fails the prefix at the first
	// attempt.
	MaxPrefixAttempts int
	// MaxPermanentRun stops the cycle, with the error, when that many
	// consecutive prefixes failed with the same permanent error class:
	// wrong credentials fail every prefix, and recording 1024 failures
	// would hide the cause [8]. The stopped run's failures are forgotten,
	// so the next run tries those prefixes again.
	MaxPermanentRun int
	// Logger receives progress and error messages [slog.Default()].
	Logger *slog.Logger
	// Requests, if set, returns the requests the backend has sent to its
	// store so far, and false when it keeps no counts: usually a call
	// of sharestore.StoreRequestsOf. The engine then counts the requests
	// made while each cycle ran, across processes, in
	// State.CycleRequests, and hands them to FinishedCycle in
	// Cycle.Requests. The counts are the backend's: requests another
	// user of the same Backend makes at the same time (another engine
	// run side by side) are counted in both.
	Requests func(context.Context) (sharestore.StoreRequests, bool, error)
	// Shared, if set, makes the engine one worker of cycles shared by
	// several engines through a lease database (see Sharing). The state
	// file then keeps this worker's view of the shared cycle.
	Shared *Sharing
}

func (c Config) withDefaults() Config {
	if c.CPUSlice <= 0 {
		c.CPUSlice = time.Second
	}
	if c.AllowedCPUProportion <= 0 || c.AllowedCPUProportion > 1 {
		c.AllowedCPUProportion = 0.1
	}
	if c.MaxSleep <= 0 {
		c.MaxSleep = 299 * time.Second
	}
	if c.PrefixesInFlight <= 0 {
		c.PrefixesInFlight = 1
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.MaxPrefixAttempts <= 0 {
		c.MaxPrefixAttempts = 3
	}
	if c.MaxPermanentRun <= 0 {
		c.MaxPermanentRun = 8
	}
	if c.Shared != nil {
		c.Shared = c.Shared.withDefaults()
	}
	return c
}

// Hooks let tests observe the engine. Each is optional and runs on the
// engine's goroutine.
type Hooks struct {
	// AfterPrefix runs after a prefix's result, or its failure (see
	// State.Failed), is recorded.
	AfterPrefix func(cycle int, prefix sharestore.Prefix)
	// AfterCycle runs after a cycle finished and the state was saved.
	AfterCycle func(cycle int)
	// OnYield runs when the engine is about to sleep for d.
	OnYield func(d time.Duration)
}

// Engine schedules a Crawler over the 1024 prefixes.
type Engine struct {
	c         Crawler
	statePath string
	clock     Clock
	cfg       Config
	hooks     Hooks

	mu    sync.Mutex // guards st for Progress/State readers
	st    *State
	warns []error
	// marked reports that this process has recorded State.RunStart for
	// the cycle in progress.
	marked bool
	// floor is the least number of the next cycle: one above every cycle
	// that a damaged state file moved aside names (see salvageCycles).
	floor int
	// reqs tracks the backend's request counts (Config.Requests).
	reqs requestTally
	// permRun is the run of consecutive permanent failures of one class
	// this worker of a shared cycle met (see sharedFailed).
	permRun []PrefixFailure
}

// recentPrefixes is how many prefix intervals an older state file may
// hold (State.RecentPrefixSeconds).
const recentPrefixes = 16

// New returns an engine for c whose state lives at statePath. A damaged
// state file, or crawler state that c's Restore refuses, is moved aside,
// logged once as a warning and reported by Warnings; the engine then
// starts a fresh cycle, numbered above every cycle a surviving record
// names (the moved-aside files, and c's records if c is a
// CycleRecorder), so that no cycle number repeats. Other load failures
// are returned.
func New(c Crawler, statePath string, clock Clock, cfg Config, hooks Hooks) (*Engine, error) {
	cfg = cfg.withDefaults()
	if sh := cfg.Shared; sh != nil && (sh.DB == nil || sh.Store == "") {
		return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "crawler %s: a shared cycle needs a lease database and the name of its store", c.Name())
	}
	e := &Engine{c: c, statePath: statePath, clock: clock, cfg: cfg, hooks: hooks}
	st, err := LoadState(statePath, c.Name(), clock.Now())
	if err != nil {
		if st == nil {
			return nil, err
		}
		e.warnDamaged(err)
	}
	if p, ok := c.(Persister); ok {
		if err := e.call("Restore", func() error { return p.Restore(st.Extra) }); err != nil {
			if st, err = moveAside(statePath, c.Name(), "its crawler state is refused: "+err.Error(), clock.Now()); st == nil {
				return nil, err
			}
			e.warnDamaged(err)
		}
	}
	e.st = st
	e.floor = salvageCycles(statePath)
	return e, nil
}

func (e *Engine) warnDamaged(err error) {
	e.cfg.Logger.Warn("crawler state damaged", "crawler", e.c.Name(), "err", err)
	e.warns = append(e.warns, err)
}

// Warnings returns problems the engine recovered from, such as a damaged
// state file that was moved aside.
func (e *Engine) Warnings() []error { return append([]error(nil), e.warns...) }

// State returns a deep copy of the current state.
func (e *Engine) State() State {
	e.mu.Lock()
	defer e.mu.Unlock()
	b, _ := json.Marshal(e.st)
	var out State
	json.Unmarshal(b, &out)
	return out
}

// Save writes the state file now.
func (e *Engine) Save() error {
	e.tallyRequests()
	if f, ok := e.c.(Flusher); ok {
		if err := e.call("Flush", f.Flush); err != nil {
			return err
		}
	}
	var extra json.RawMessage
	if p, ok := e.c.(Persister); ok {
		err := e.call("MarshalExtra", func() (err error) {
			extra, err = p.MarshalExtra()
			return err
		})
		if err != nil {
			return err
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.st.Extra = extra
	return e.st.Save(e.statePath)
}

// Run works until ctx ends or, in one-shot mode, until a cycle completes.
// It sleeps SlowStart first, then alternates slices and pauses. A failing
// slice is logged, the state saved, and the work retried after a pause
// that doubles with each failure of the same prefix (from CPUSlice, at
// most MaxSleep), so a crawler never stops silently; a prefix that keeps
// failing is recorded as failed and the cycle goes on (see
// Config.MaxPrefixAttempts). Run returns the error when the cycle is
// stopped (Config.MaxPermanentRun), when starting or finishing a cycle
// fails with a permanent error, or, in one-shot mode, when that fails
// MaxPrefixAttempts times in a row. It saves the state before it
// returns; it returns nil for one-shot completion and ctx's error when
// ctx ends.
func (e *Engine) Run(ctx context.Context) error {
	if e.cfg.SlowStart > 0 {
		e.setNextWake(e.cfg.SlowStart)
		if err := e.clock.Sleep(ctx, e.cfg.SlowStart); err != nil {
			return errors.Join(err, e.Save())
		}
	}
	failures := 0 // consecutive failed slices outside a prefix
	for {
		sleep, finished, err := e.RunSlice(ctx)
		if ctx.Err() != nil {
			return errors.Join(sharestore.CtxErr(ctx), e.Save())
		}
		if err != nil {
			attempt, stop := e.onSliceError(err, &failures)
			if stop != nil {
				e.cfg.Logger.Error("crawler stopped", "crawler", e.c.Name(), "err", stop)
				return errors.Join(stop, e.Save())
			}
			e.cfg.Logger.Error("crawler slice failed; will retry", "crawler", e.c.Name(), "err", err)
			sleep = max(sleep, e.backoff(attempt))
		} else {
			failures = 0
		}
		if finished && e.cfg.OneShot {
			return e.Save()
		}
		e.setNextWake(sleep)
		if err := e.Save(); err != nil {
			return err
		}
		if e.hooks.OnYield != nil {
			e.hooks.OnYield(sleep)
		}
		if err := e.clock.Sleep(ctx, sleep); err != nil {
			return errors.Join(err, e.Save())
		}
	}
}

func (e *Engine) setNextWake(d time.Duration) {
	e.mu.Lock()
	t := e.clock.Now().Add(d)
	e.st.NextWake = &t
	e.mu.Unlock()
}

// RunSlice works for one slice: it starts a cycle if none is in progress,
// processes prefixes in order until CPUSlice has passed or the cycle is
// complete, and saves the state. It returns the pause the duty cycle asks
// for (at least MinimumCycleTime after a completed cycle), whether the
// cycle completed, and the first error. Prefixes completed before an
// error stay completed. A prefix that fails is retried by the next slice
// until it has failed MaxPrefixAttempts times (once for a permanent
// error); it is then recorded as failed and the slice goes on. A panic
// in the crawler is returned as an error wrapping sharestore.ErrInternal.
func (e *Engine) RunSlice(ctx context.Context) (sleep time.Duration, finished bool, err error) {
	start := e.clock.Now()
	var wait time.Duration // for the other workers of a shared cycle
	defer func() {
		if serr := e.Save(); serr != nil && err == nil {
			err = serr
		}
		elapsed := e.clock.Now().Sub(start)
		p := e.cfg.AllowedCPUProportion
		sleep = time.Duration(float64(elapsed)/p) - elapsed
		sleep = max(min(max(sleep, 0), e.cfg.MaxSleep), wait)
		if finished {
			sleep = max(sleep, e.cfg.MinimumCycleTime)
		}
	}()
	if e.cfg.Shared != nil {
		wait, finished, err = e.sharedSlice(ctx, start)
		return 0, finished, err
	}
	if err := e.startCycleIfNeeded(ctx, start); err != nil {
		return 0, false, err
	}
	cycle := e.cycle()
	for {
		next := e.nextPrefix()
		if next >= sharestore.NumPrefixes {
			break
		}
		if err := sharestore.CtxErr(ctx); err != nil {
			return 0, false, err
		}
		n := min(e.cfg.PrefixesInFlight, sharestore.NumPrefixes-next)
		results, errs := e.processWindow(ctx, cycle, next, n)
		for i := 0; i < n; i++ {
			if errs[i] != nil {
				if err := e.prefixFailed(ctx, next+i, errs[i]); err != nil {
					return 0, false, err
				}
			} else {
				e.completePrefix(next+i, results[i])
			}
			if k := e.cfg.CheckpointEvery; k > 0 && (next+i+1)%k == 0 {
				if err := e.Save(); err != nil {
					return 0, false, err
				}
			}
		}
		if e.clock.Now().Sub(start) >= e.cfg.CPUSlice {
			return 0, false, nil
		}
	}
	if err := e.finishCycle(ctx, cycle); err != nil {
		return 0, false, err
	}
	if err := e.Save(); err != nil {
		return 0, true, err
	}
	if e.hooks.AfterCycle != nil {
		e.hooks.AfterCycle(cycle.Number)
	}
	return 0, true, nil
}

// startCycleIfNeeded starts a cycle at start unless one is in progress,
// and saves the state. The cycle is LastCycleFinished+1, or higher if a
// surviving record names that number already (see CycleRecorder and
// salvageCycles). If the crawler's StartedCycle fails, no cycle is in
// progress afterwards.
func (e *Engine) startCycleIfNeeded(ctx context.Context, start time.Time) error {
	e.mu.Lock()
	e.st.NextWake = nil
	if e.st.CurrentCycle != nil {
		if !e.marked {
			// A cycle resumed by this process: its rate is measured
			// from here, not across the time no process worked on it.
			e.st.RunStart = &RunMark{Time: start, CompletePrefixes: e.st.LastCompletePrefix + 1}
			e.marked = true
			e.mu.Unlock()
			e.markRequests(false)
			return nil
		}
		e.mu.Unlock()
		return nil
	}
	n := e.floor
	if e.st.LastCycleFinished != nil {
		n = max(n, *e.st.LastCycleFinished+1)
	}
	e.mu.Unlock()
	n, err := e.recordedFloor(ctx, n)
	if err != nil {
		return err
	}
	e.mu.Lock()
	e.clearCycleLocked()
	e.st.CurrentCycle = &n
	e.st.CycleStart = &start
	e.st.CycleID = cycleID(n, start)
	e.st.RunStart = &RunMark{Time: start}
	e.marked = true
	e.mu.Unlock()
	e.markRequests(true)
	cycle := e.cycle()
	if err := e.call("StartedCycle", func() error { return e.c.StartedCycle(ctx, cycle) }); err != nil {
		e.mu.Lock()
		e.clearCycleLocked() // start again next slice
		e.mu.Unlock()
		return err
	}
	return e.Save()
}

// recordedFloor returns n, or the next cycle number the crawler's own
// records name (CycleRecorder) if that is higher.
func (e *Engine) recordedFloor(ctx context.Context, n int) (int, error) {
	r, ok := e.c.(CycleRecorder)
	if !ok {
		return n, nil
	}
	var next int
	if err := e.call("NextCycleNumber", func() (err error) {
		next, err = r.NextCycleNumber(ctx)
		return err
	}); err != nil {
		return 0, err
	}
	return max(n, next), nil
}

// clearCycleLocked resets the fields of the cycle in progress, leaving
// none in progress. e.mu must be held.
func (e *Engine) clearCycleLocked() {
	e.st.CurrentCycle = nil
	e.st.CycleID = ""
	e.st.CycleStart = nil
	e.st.LastCompletePrefix = -1
	e.st.LastPrefixFinished = nil
	e.st.RecentPrefixSeconds = nil
	e.st.RunStart = nil
	e.st.Results = map[string]json.RawMessage{}
	e.st.Failing = nil
	e.st.Failed = nil
	e.st.CycleRequests = nil
	e.reqs.marked = false
}

// finishCycle hands every result to the crawler's FinishedCycle and, if
// it succeeds, records the cycle as the last finished one.
func (e *Engine) finishCycle(ctx context.Context, cycle Cycle) error {
	res := map[sharestore.Prefix]json.RawMessage{}
	e.mu.Lock()
	for p, r := range e.st.Results {
		res[sharestore.Prefix(p)] = r
	}
	e.mu.Unlock()
	e.tallyRequests()
	e.mu.Lock()
	cycle.Requests = e.st.CycleRequests
	e.mu.Unlock()
	if err := e.call("FinishedCycle", func() error { return e.c.FinishedCycle(ctx, cycle, res) }); err != nil {
		return err
	}
	now := e.clock.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	n := cycle.Number
	e.st.LastCycleFinished = &n
	e.st.LastCycleStart = e.st.CycleStart
	e.st.LastCycleEnd = &now
	e.st.LastCycleFailed = e.st.Failed
	e.st.LastCycleRequests = e.st.CycleRequests
	e.clearCycleLocked()
	return nil
}

func (e *Engine) cycle() Cycle {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := Cycle{ID: e.st.CycleID}
	if e.st.CurrentCycle != nil {
		c.Number = *e.st.CurrentCycle
	}
	if e.st.CycleStart != nil {
		c.Start = *e.st.CycleStart
	}
	return c
}

func (e *Engine) nextPrefix() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.st.LastCompletePrefix + 1
}

// processWindow runs ProcessPrefix for prefixes [first, first+n)
// concurrently and returns their results in order.
func (e *Engine) processWindow(ctx context.Context, cycle Cycle, first, n int) ([]json.RawMessage, []error) {
	ps := make([]sharestore.Prefix, n)
	for i := range ps {
		ps[i] = sharestore.PrefixAt(first + i)
	}
	return e.processPrefixes(ctx, cycle, ps)
}

// processPrefixes runs ProcessPrefix for ps concurrently and returns
// their results in order.
func (e *Engine) processPrefixes(ctx context.Context, cycle Cycle, ps []sharestore.Prefix) ([]json.RawMessage, []error) {
	n := len(ps)
	results := make([]json.RawMessage, n)
	errs := make([]error, n)
	process := func(i int) {
		p := ps[i]
		errs[i] = e.call("ProcessPrefix("+string(p)+")", func() (err error) {
			results[i], err = e.c.ProcessPrefix(ctx, cycle, p)
			return err
		})
	}
	if n == 1 {
		process(0)
		return results, errs
	}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			process(i)
		}(i)
	}
	wg.Wait()
	return results, errs
}

// completePrefix records prefix idx as complete with result (nil keeps
// none).
func (e *Engine) completePrefix(idx int, result json.RawMessage) {
	cycle := e.markComplete(idx, func(st *State) {
		if result != nil {
			st.Results[string(sharestore.PrefixAt(idx))] = result
		} else {
			delete(st.Results, string(sharestore.PrefixAt(idx)))
		}
	})
	if e.hooks.AfterPrefix != nil {
		e.hooks.AfterPrefix(cycle, sharestore.PrefixAt(idx))
	}
}

// markComplete makes idx the last complete prefix, after record has
// stored its outcome, and returns the cycle number. It holds e.mu
// throughout.
func (e *Engine) markComplete(idx int, record func(*State)) int {
	now := e.clock.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.st.normalize()
	record(e.st)
	e.st.LastPrefixFinished = &now
	e.st.LastCompletePrefix = idx
	e.st.Failing = nil
	return *e.st.CurrentCycle
}
