package crawler

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/leasedb"
)

// Coordinator is the lease database as the meeting point of the workers
// that share a crawler's cycles (see Sharing). *leasedb.DB implements
// it; its methods are documented there.
type Coordinator interface {
	SharedCycle(ctx context.Context, crawler string) (leasedb.SharedCycle, bool, error)
	TakeCycleStart(ctx context.Context, crawler, prevID string, next leasedb.SharedCycle, now time.Time) (bool, error)
	OpenCycle(ctx context.Context, crawler, id, holder string, prefixes []sharestore.Prefix) error
	ClaimPrefixes(ctx context.Context, crawler, id, holder string, now, deadline time.Time, n int) ([]sharestore.Prefix, error)
	RenewClaims(ctx context.Context, crawler, id, holder string, deadline time.Time) (int, error)
	CompleteClaims(ctx context.Context, crawler, id, holder string, outcomes []leasedb.ClaimOutcome) (lost []sharestore.Prefix, remaining int, err error)
	FailClaim(ctx context.Context, crawler, id string, prefix sharestore.Prefix, holder string, failure json.RawMessage, maxAttempts int, notBefore time.Time) (attempts int, done, held bool, err error)
	ReopenClaims(ctx context.Context, crawler, id string, prefixes []sharestore.Prefix) error
	TakeCycleFinish(ctx context.Context, crawler, id, holder string, now, deadline time.Time) (bool, error)
	EndCycle(ctx context.Context, crawler, id, holder string, end time.Time, extra json.RawMessage) error
	Claims(ctx context.Context, crawler, id string) ([]leasedb.Claim, error)
	ClaimProgress(ctx context.Context, crawler, id string) (done int, failed []leasedb.Claim, err error)
}

// Sharing makes an engine one worker of cycles that several engines, in
// as many processes, share through one lease database: every engine of
// the same crawler pointed at the same database takes part in the same
// cycle. One of them starts it (the crawler's StartedCycle runs once per
// cycle, in that worker); each then claims prefixes, PrefixesInFlight at
// a time, processes them and marks them done; the worker whose
// completion leaves no prefix undone finishes the cycle (FinishedCycle
// runs once, with every prefix's result). The cycle's number, start,
// per-prefix results and failures live in the database, so every
// worker's State shows the whole cycle.
//
// A claim lasts ClaimLease and is renewed while its worker works on it.
// The prefixes of a worker that dies are claimed again, and redone, by
// the others once their claims run out, so ProcessPrefix must be
// idempotent (it already must be, for crashes). A crawler whose prefix
// work commits to the lease database calls CheckClaim in the
// transaction that commits it (the accounting crawler does), so that a
// worker whose claim ran out and was taken commits nothing.
//
// Times come from the engine's Clock: workers on several machines need
// clocks that agree to well within ClaimLease.
type Sharing struct {
	// DB is the lease database the workers share. For a crawler that
	// writes to a lease database (Accounting), it must be that one.
	DB Coordinator
	// Worker names this worker, uniquely among the workers
	// [host:pid:start time].
	Worker string
	// Store names the store the crawler walks. A worker of another
	// store is refused with sharestore.ErrConflict: the workers that
	// share a lease database must walk one store.
	Store string
	// ClaimLease is how long a claim lasts unless renewed, and how long
	// a worker that died holds up the prefixes it claimed [2m]. It must
	// be longer than StartedCycle and FinishedCycle take.
	ClaimLease time.Duration
	// Poll is how long a worker that finds no prefix to claim waits
	// before it looks again: for the others' prefixes to be done, their
	// claims to run out, or the next cycle to start [ClaimLease/8].
	Poll time.Duration
}

func (s Sharing) withDefaults() *Sharing {
	if s.ClaimLease <= 0 {
		s.ClaimLease = 2 * time.Minute
	}
	if s.Poll <= 0 {
		s.Poll = s.ClaimLease / 8
	}
	if s.Worker == "" {
		host, _ := os.Hostname()
		s.Worker = fmt.Sprintf("%s:%d:%d", host, os.Getpid(), time.Now().UnixNano())
	}
	return &s
}

// claimKey is the context key of the claim a ProcessPrefix call works
// under.
type claimKey struct{}

// claim is the prefix claim a shared worker's ProcessPrefix runs under.
type claim struct{ crawler, cycleID, holder string }

// CheckClaim fails with sharestore.ErrConflict if ctx is that of a
// ProcessPrefix call of a shared cycle (see Sharing) whose worker no
// longer holds the claim of prefix, and locks the claim until tx ends. A
// crawler calls it in every transaction that commits a prefix's work.
// Outside a shared cycle it does nothing.
func CheckClaim(ctx context.Context, tx *leasedb.Tx, prefix sharestore.Prefix) error {
	c, ok := ctx.Value(claimKey{}).(claim)
	if !ok {
		return nil
	}
	return tx.CheckClaim(ctx, c.crawler, c.cycleID, prefix, c.holder)
}

// inSharedCycle reports whether ctx is that of a ProcessPrefix call of a
// shared cycle.
func inSharedCycle(ctx context.Context) bool {
	_, ok := ctx.Value(claimKey{}).(claim)
	return ok
}

// sharedSlice is RunSlice for a worker of a shared cycle: it joins the
// cycle in progress, or starts one, and works on it until CPUSlice has
// passed or no prefix is left to claim. It returns how long to wait
// before the next slice (while other workers start, work on or finish
// the cycle), and whether a cycle this worker took part in finished.
func (e *Engine) sharedSlice(ctx context.Context, start time.Time) (wait time.Duration, finished bool, err error) {
	sh, name := e.cfg.Shared, e.c.Name()
	e.mu.Lock()
	e.st.NextWake = nil
	e.mu.Unlock()
	for tries := 0; tries < 3; tries++ {
		rec, ok, err := sh.DB.SharedCycle(ctx, name)
		if err != nil {
			return 0, false, err
		}
		now := e.clock.Now()
		switch {
		case ok && rec.Store != sh.Store:
			return 0, false, &stopError{sharestore.Errorf(sharestore.ErrConflict,
				"crawler %s: the lease database's shared cycles walk the store %q, not %q: workers that share a lease database must walk the same store",
				name, rec.Store, sh.Store)}
		case ok && rec.State == leasedb.CycleRunning:
			if err := e.joinShared(rec); err != nil {
				return 0, false, err
			}
			return e.workShared(ctx, start, rec)
		case ok && rec.State == leasedb.CycleFinishing:
			if !rec.Deadline.Before(now) {
				return sh.Poll, false, nil
			}
			if err := e.joinShared(rec); err != nil { // its finisher died
				return 0, false, err
			}
			return e.finishShared(ctx, rec)
		case ok && rec.State == leasedb.CycleStarting && !rec.Deadline.Before(now):
			return sh.Poll, false, nil
		case ok && rec.State == leasedb.CycleFinished && e.inCycle():
			// Another worker finished the cycle this one worked on.
			return 0, true, e.adoptShared(rec)
		}
		// As for one engine, MinimumCycleTime is the pause of the
		// workers that took part in a cycle, after it; a worker that
		// did not, just started, starts the next cycle at once.
		if err := e.startShared(ctx, rec, ok, now); err != nil {
			return 0, false, err
		}
	}
	return sh.Poll, false, nil
}

func (e *Engine) inCycle() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.st.CurrentCycle != nil
}

// startShared tries to start the next shared cycle after rec (none if
// !ok). Losing the race to another worker is not an error: the caller
// reads the record again.
func (e *Engine) startShared(ctx context.Context, rec leasedb.SharedCycle, ok bool, now time.Time) error {
	sh, name := e.cfg.Shared, e.c.Name()
	e.mu.Lock()
	n := e.floor
	if e.st.LastCycleFinished != nil {
		n = max(n, *e.st.LastCycleFinished+1)
	}
	e.mu.Unlock()
	prev := ""
	if ok {
		prev = rec.ID
		if rec.State == leasedb.CycleFinished {
			n = max(n, rec.Number+1)
		} else {
			n = max(n, rec.Number) // a start whose worker died: it never ran
		}
	}
	n, err := e.recordedFloor(ctx, n)
	if err != nil {
		return err
	}
	next := leasedb.SharedCycle{Number: n, ID: cycleID(n, now), Start: now, Holder: sh.Worker, Deadline: now.Add(sh.ClaimLease), Store: sh.Store}
	taken, err := sh.DB.TakeCycleStart(ctx, name, prev, next, now)
	if err != nil || !taken {
		return err
	}
	e.mu.Lock()
	e.clearCycleLocked()
	e.st.CurrentCycle, e.st.CycleStart, e.st.CycleID = &n, &now, next.ID
	e.st.RunStart = &RunMark{Time: now}
	e.marked = true
	e.mu.Unlock()
	e.markRequests(true)
	cycle := e.cycle()
	err = e.call("StartedCycle", func() error { return e.c.StartedCycle(ctx, cycle) })
	if err == nil {
		err = sh.DB.OpenCycle(ctx, name, next.ID, sh.Worker, sharestore.Prefixes())
	}
	if err != nil {
		e.mu.Lock()
		e.clearCycleLocked() // another worker starts it once the start's deadline passes
		e.mu.Unlock()
		return err
	}
	e.cfg.Logger.Info("started shared cycle", "crawler", name, "cycle", n, "worker", sh.Worker)
	return nil
}

// joinShared makes rec the engine's cycle in progress, and loads the
// crawler state the last finished cycle published.
func (e *Engine) joinShared(rec leasedb.SharedCycle) error {
	now := e.clock.Now()
	e.mu.Lock()
	fresh := e.st.CurrentCycle == nil || e.st.CycleID != rec.ID
	if fresh {
		e.clearCycleLocked()
		n, start := rec.Number, rec.Start
		e.st.CurrentCycle, e.st.CycleStart, e.st.CycleID = &n, &start, rec.ID
		e.marked = false
	}
	mark := !e.marked
	if mark {
		e.st.RunStart = &RunMark{Time: now, CompletePrefixes: e.st.LastCompletePrefix + 1}
		e.marked = true
	}
	e.mu.Unlock()
	if mark {
		e.markRequests(fresh)
	}
	if fresh {
		return e.restoreShared(rec)
	}
	return nil
}

// restoreShared loads the crawler state rec publishes, if any.
func (e *Engine) restoreShared(rec leasedb.SharedCycle) error {
	p, ok := e.c.(Persister)
	if !ok || rec.Extra == nil {
		return nil
	}
	return e.call("Restore", func() error { return p.Restore(rec.Extra) })
}

// workShared claims and processes prefixes of the running cycle rec
// until CPUSlice has passed or none is free, and then tries to finish
// the cycle.
func (e *Engine) workShared(ctx context.Context, start time.Time, rec leasedb.SharedCycle) (time.Duration, bool, error) {
	sh := e.cfg.Shared
	cycle := e.cycle()
	for {
		if err := sharestore.CtxErr(ctx); err != nil {
			return 0, false, err
		}
		now := e.clock.Now()
		ps, err := sh.DB.ClaimPrefixes(ctx, e.c.Name(), rec.ID, sh.Worker, now, now.Add(sh.ClaimLease), e.cfg.PrefixesInFlight)
		if err != nil {
			return 0, false, err
		}
		if len(ps) == 0 {
			if err := e.refreshShared(ctx, rec.ID); err != nil {
				return 0, false, err
			}
			return e.finishShared(ctx, rec)
		}
		if err := e.workClaims(ctx, cycle, ps); err != nil {
			return 0, false, err
		}
		if e.clock.Now().Sub(start) >= e.cfg.CPUSlice {
			return 0, false, nil
		}
	}
}

// workClaims processes the claimed prefixes ps at once, renewing their
// claims while they run, and records each one's outcome in the
// database.
func (e *Engine) workClaims(ctx context.Context, cycle Cycle, ps []sharestore.Prefix) error {
	sh, name := e.cfg.Shared, e.c.Name()
	stop := e.renewClaims(ctx, cycle.ID)
	results, errs := e.processPrefixes(context.WithValue(ctx, claimKey{}, claim{name, cycle.ID, sh.Worker}), cycle, ps)
	stop()
	if f, ok := e.c.(Flusher); ok {
		if err := e.call("Flush", f.Flush); err != nil {
			return err // the claims run out, and the prefixes are redone
		}
	}
	var outs []leasedb.ClaimOutcome
	for i, p := range ps {
		if errs[i] == nil {
			outs = append(outs, leasedb.ClaimOutcome{Prefix: p, Result: results[i]})
		}
	}
	lost, _, err := sh.DB.CompleteClaims(ctx, name, cycle.ID, sh.Worker, outs)
	if err != nil {
		return err
	}
	for _, p := range lost {
		e.cfg.Logger.Warn("prefix claim ran out and was taken by another worker, which redoes it", "crawler", name, "prefix", string(p), "worker", sh.Worker)
	}
	var first error
	for i, p := range ps {
		if errs[i] == nil {
			e.permRun = nil
			continue
		}
		if err := e.sharedFailed(ctx, cycle, p, errs[i]); err != nil && first == nil {
			first = err
		}
	}
	if err := e.refreshShared(ctx, cycle.ID); err != nil && first == nil {
		first = err
	}
	if e.hooks.AfterPrefix != nil {
		for i, p := range ps {
			if errs[i] == nil && !slices.Contains(lost, p) {
				e.hooks.AfterPrefix(cycle.Number, p)
			}
		}
	}
	return first
}

// renewClaims renews this worker's claims of cycle id every third of
// ClaimLease, until the returned function is called. It waits on the
// wall clock, not the engine's: renewing is what keeps a live worker's
// claims from running out in real time, whatever the engine's clock.
func (e *Engine) renewClaims(ctx context.Context, id string) (stop func()) {
	sh := e.cfg.Shared
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(sh.ClaimLease / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				if _, err := sh.DB.RenewClaims(ctx, e.c.Name(), id, sh.Worker, e.clock.Now().Add(sh.ClaimLease)); err != nil {
					e.cfg.Logger.Warn("renewing prefix claims failed", "crawler", e.c.Name(), "worker", sh.Worker, "err", err)
				}
			}
		}
	}()
	return func() {
		close(done)
		<-exited
	}
}

// sharedFailed records the failure err of the claimed prefix p, as
// prefixFailed does for a cycle of one worker: below MaxPrefixAttempts
// (and for an error that is not permanent) the prefix is released for a
// later try, by any worker, and a retryError returned; otherwise it is
// recorded as failed. A run of MaxPermanentRun permanent failures of one
// class in this worker reopens them and stops it.
func (e *Engine) sharedFailed(ctx context.Context, cycle Cycle, p sharestore.Prefix, err error) error {
	if cerr := sharestore.CtxErr(ctx); cerr != nil {
		return cerr
	}
	sh, name := e.cfg.Shared, e.c.Name()
	now := e.clock.Now()
	f := PrefixFailure{Prefix: p, Class: sharestore.CodeOf(err).String(), Permanent: Permanent(err), Reason: err.Error(), Time: now}
	js, jerr := json.Marshal(f)
	if jerr != nil {
		return jerr
	}
	maxAttempts := e.cfg.MaxPrefixAttempts
	if f.Permanent {
		maxAttempts = 1
	}
	attempts, done, held, ferr := sh.DB.FailClaim(ctx, name, cycle.ID, p, sh.Worker, js, maxAttempts, now.Add(e.backoff(1)))
	switch {
	case ferr != nil:
		return ferr
	case !held:
		e.cfg.Logger.Warn("prefix claim ran out and was taken by another worker, which redoes it", "crawler", name, "prefix", string(p), "worker", sh.Worker, "err", err)
		return nil
	case !done:
		return &retryError{attempt: attempts, err: fmt.Errorf("crawler %s: prefix %s (attempt %d of %d): %w", name, p, attempts, maxAttempts, err)}
	}
	e.cfg.Logger.Error("prefix failed; the cycle goes on without it", "crawler", name, "prefix", string(p),
		"attempts", attempts, "permanent", f.Permanent, "err", err)
	if !f.Permanent || (len(e.permRun) > 0 && e.permRun[0].Class != f.Class) {
		e.permRun = nil
	}
	if f.Permanent {
		e.permRun = append(e.permRun, f)
	}
	if run := len(e.permRun); run >= e.cfg.MaxPermanentRun {
		var ps []sharestore.Prefix
		for _, f := range e.permRun {
			ps = append(ps, f.Prefix)
		}
		e.permRun = nil
		if rerr := sh.DB.ReopenClaims(ctx, name, cycle.ID, ps); rerr != nil {
			return rerr
		}
		return &stopError{sharestore.Errorf(sharestore.CodeOf(err),
			"crawler %s: %d consecutive prefixes (%s to %s) failed with the same permanent error, so this worker stopped; "+
				"they are left for a later try: %w", name, run, ps[0], ps[len(ps)-1], err)}
	}
	return nil
}

// refreshShared reads the cycle's claims into the state: how many
// prefixes are done (LastCompletePrefix is that number minus one) and
// which failed.
func (e *Engine) refreshShared(ctx context.Context, id string) error {
	done, fclaims, err := e.cfg.Shared.DB.ClaimProgress(ctx, e.c.Name(), id)
	if err != nil {
		return err
	}
	_, failed, _, err := sharedOutcomes(fclaims)
	if err != nil {
		return err
	}
	now := e.clock.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.st.CycleID != id {
		return nil
	}
	if done-1 != e.st.LastCompletePrefix {
		e.st.LastPrefixFinished = &now
	}
	e.st.LastCompletePrefix = done - 1
	e.st.Failed = failed
	return nil
}

// sharedOutcomes sums up a cycle's claims: how many are done, the
// failed ones in prefix order, and the results by prefix.
func sharedOutcomes(claims []leasedb.Claim) (done int, failed []PrefixFailure, results map[string]json.RawMessage, err error) {
	results = map[string]json.RawMessage{}
	for _, c := range claims {
		if !c.Done {
			continue
		}
		done++
		if c.Result != nil {
			results[string(c.Prefix)] = c.Result
		}
		if c.Failure != nil {
			var f PrefixFailure
			if err := json.Unmarshal(c.Failure, &f); err != nil {
				return 0, nil, nil, sharestore.Errorf(sharestore.ErrCorrupt, "crawler: failure record of prefix %s in the lease database: %v", c.Prefix, err)
			}
			f.Attempts = c.Attempts
			failed = append(failed, f)
		}
	}
	slices.SortFunc(failed, func(a, b PrefixFailure) int { return a.Prefix.Index() - b.Prefix.Index() })
	return done, failed, results, nil
}

// finishShared finishes the cycle rec if every prefix is done and no
// other worker is finishing it; otherwise it returns the pause before
// this worker looks again.
func (e *Engine) finishShared(ctx context.Context, rec leasedb.SharedCycle) (time.Duration, bool, error) {
	sh, name := e.cfg.Shared, e.c.Name()
	now := e.clock.Now()
	taken, err := sh.DB.TakeCycleFinish(ctx, name, rec.ID, sh.Worker, now, now.Add(sh.ClaimLease))
	if err != nil {
		return 0, false, err
	}
	if !taken {
		return sh.Poll, false, nil
	}
	claims, err := sh.DB.Claims(ctx, name, rec.ID)
	if err != nil {
		return 0, false, err
	}
	_, failed, results, err := sharedOutcomes(claims)
	if err != nil {
		return 0, false, err
	}
	e.mu.Lock()
	e.st.Results, e.st.Failed = results, failed
	e.st.LastCompletePrefix = sharestore.NumPrefixes - 1
	e.mu.Unlock()
	cycle := e.cycle()
	if err := e.finishCycle(ctx, cycle); err != nil {
		return 0, false, err
	}
	var extra json.RawMessage
	if p, ok := e.c.(Persister); ok {
		if err := e.call("MarshalExtra", func() (err error) {
			extra, err = p.MarshalExtra()
			return err
		}); err != nil {
			return 0, false, err
		}
	}
	e.mu.Lock()
	end := *e.st.LastCycleEnd
	e.mu.Unlock()
	if err := sh.DB.EndCycle(ctx, name, rec.ID, sh.Worker, end, extra); err != nil {
		return 0, false, err
	}
	e.cfg.Logger.Info("finished shared cycle", "crawler", name, "cycle", cycle.Number, "worker", sh.Worker)
	return 0, true, e.afterCycle(cycle.Number)
}

// adoptShared records rec, finished by another worker, as the last
// finished cycle, as if this worker had finished it.
func (e *Engine) adoptShared(rec leasedb.SharedCycle) error {
	_, fclaims, err := e.cfg.Shared.DB.ClaimProgress(context.Background(), e.c.Name(), rec.ID)
	if err != nil {
		return err
	}
	_, failed, _, err := sharedOutcomes(fclaims)
	if err != nil {
		return err
	}
	e.tallyRequests()
	e.mu.Lock()
	n, start, end := rec.Number, rec.Start, rec.End
	e.st.LastCycleFinished, e.st.LastCycleStart, e.st.LastCycleEnd = &n, &start, &end
	e.st.LastCycleFailed = failed
	e.st.LastCycleRequests = e.st.CycleRequests
	e.clearCycleLocked()
	e.mu.Unlock()
	if err := e.restoreShared(rec); err != nil {
		return err
	}
	return e.afterCycle(rec.Number)
}

// afterCycle saves the state after a cycle finished and runs the
// AfterCycle hook.
func (e *Engine) afterCycle(n int) error {
	if err := e.Save(); err != nil {
		return err
	}
	if e.hooks.AfterCycle != nil {
		e.hooks.AfterCycle(n)
	}
	return nil
}
