package crawler

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/sharestore/sharestore"
)

// Permanent reports whether err is of a class that retrying cannot cure:
// permission denied (wrong credentials, an unreadable directory), an
// invalid argument, corrupt data, a missing bucket or file, an operation
// the backend does not implement, or a panic in the crawler. The engine
// fails a prefix at once on such an error instead of retrying it.
func Permanent(err error) bool {
	var pe *panicError
	if errors.As(err, &pe) {
		return true
	}
	for _, c := range []sharestore.Code{sharestore.ErrPermissionDenied, sharestore.ErrInvalidArgument,
		sharestore.ErrCorrupt, sharestore.ErrNotFound, sharestore.ErrUnimplemented} {
		if errors.Is(err, c) {
			return true
		}
	}
	return false
}

// panicError is a panic in a crawler's method, recovered by call.
type panicError struct{ err error }

func (p *panicError) Error() string { return p.err.Error() }
func (p *panicError) Unwrap() error { return p.err }

// retryError is a prefix's failure that the next slice retries.
type retryError struct {
	attempt int
	err     error
}

func (r *retryError) Error() string { return r.err.Error() }
func (r *retryError) Unwrap() error { return r.err }

// stopError stops Run: the cycle cannot go on.
type stopError struct{ err error }

func (s *stopError) Error() string { return s.err.Error() }
func (s *stopError) Unwrap() error { return s.err }

// call runs fn, one of the crawler's methods named what, and turns a
// panic in it into an error wrapping sharestore.ErrInternal, logging the
// panic and its stack at error level. The engine holds no lock while
// the crawler runs, so a panic leaves none held.
func (e *Engine) call(what string, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			e.cfg.Logger.Error("crawler panicked", "crawler", e.c.Name(), "in", what, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = &panicError{sharestore.Errorf(sharestore.ErrInternal, "crawler %s: panic in %s: %v", e.c.Name(), what, r)}
		}
	}()
	return fn()
}

// prefixFailed handles the failure err of prefix idx. Unless ctx has
// ended, it counts the attempt: below MaxPrefixAttempts (and for an
// error that is not permanent) it returns a retryError for Run to back
// off and retry; otherwise it records the prefix as failed, so the cycle
// goes on, and returns nil, or a stopError when MaxPermanentRun
// consecutive prefixes have now failed with the same permanent class.
func (e *Engine) prefixFailed(ctx context.Context, idx int, err error) error {
	if cerr := sharestore.CtxErr(ctx); cerr != nil {
		return cerr
	}
	p := sharestore.PrefixAt(idx)
	f := PrefixFailure{Prefix: p, Class: sharestore.CodeOf(err).String(), Permanent: Permanent(err),
		Reason: err.Error(), Attempts: 1, Time: e.clock.Now()}
	e.mu.Lock()
	if prev := e.st.Failing; prev != nil && prev.Prefix == p {
		f.Attempts = prev.Attempts + 1
	}
	if !f.Permanent && f.Attempts < e.cfg.MaxPrefixAttempts {
		e.st.Failing = &f
		e.mu.Unlock()
		return &retryError{attempt: f.Attempts, err: fmt.Errorf("crawler %s: prefix %s (attempt %d of %d): %w",
			e.c.Name(), p, f.Attempts, e.cfg.MaxPrefixAttempts, err)}
	}
	e.mu.Unlock()
	cycle := e.markComplete(idx, func(st *State) {
		delete(st.Results, string(p))
		st.Failed = append(st.Failed, f)
	})
	if run := e.permanentRun(); run >= e.cfg.MaxPermanentRun {
		return e.stopCycle(run, err)
	}
	e.cfg.Logger.Error("prefix failed; the cycle goes on without it", "crawler", e.c.Name(), "prefix", string(p),
		"attempts", f.Attempts, "permanent", f.Permanent, "err", err)
	if e.hooks.AfterPrefix != nil {
		e.hooks.AfterPrefix(cycle, p)
	}
	return nil
}

// permanentRun counts the prefixes, ending with the last complete one,
// that failed in a row with one permanent error class.
func (e *Engine) permanentRun() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	fs := e.st.Failed
	n := 0
	for i := len(fs) - 1; i >= 0; i-- {
		f := fs[i]
		if !f.Permanent || f.Class != fs[len(fs)-1].Class || f.Prefix.Index() != e.st.LastCompletePrefix-n {
			break
		}
		n++
	}
	return n
}

// stopCycle forgets the last run failures, so that the next run starts
// again at the first of them, and returns the stopError for err.
func (e *Engine) stopCycle(run int, err error) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	first := e.st.Failed[len(e.st.Failed)-run].Prefix
	last := e.st.Failed[len(e.st.Failed)-1].Prefix
	e.st.Failed = e.st.Failed[:len(e.st.Failed)-run]
	e.st.LastCompletePrefix -= run
	e.st.Failing = nil
	return &stopError{sharestore.Errorf(sharestore.CodeOf(err),
		"crawler %s: %d consecutive prefixes (%s to %s) failed with the same permanent error, so the cycle stopped; "+
			"the next run tries them again: %w", e.c.Name(), run, first, last, err)}
}

// onSliceError decides what Run does after a failed slice. It returns
// the error to stop with, or nil and the attempt number that sets the
// pause before the retry. failures counts the consecutive failures
// outside a prefix (starting or finishing a cycle, saving the state).
func (e *Engine) onSliceError(err error, failures *int) (int, error) {
	var stop *stopError
	if errors.As(err, &stop) {
		return 0, stop.err
	}
	var retry *retryError
	if errors.As(err, &retry) {
		*failures = 0
		return retry.attempt, nil
	}
	*failures++
	if Permanent(err) || (e.cfg.OneShot && *failures >= e.cfg.MaxPrefixAttempts) {
		return 0, err
	}
	return *failures, nil
}

// backoff is the pause before attempt n+1: CPUSlice doubled n−1 times,
// at most MaxSleep.
func (e *Engine) backoff(n int) time.Duration {
	d := e.cfg.CPUSlice
	for i := 1; i < n && d < e.cfg.MaxSleep; i++ {
		d *= 2
	}
	return min(d, e.cfg.MaxSleep)
}
