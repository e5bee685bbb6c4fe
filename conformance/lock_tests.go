package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/conformance/fixture"
)

// The storage index's lock, as a DeleteShare guard sees it. The contract
// (sharestore.Shareset) says that one lock serializes every mutation of a
// storage index and that DeleteShare runs its guard under it: while a
// guard runs, TestAndReadAndWrite and PutRaw on that storage index wait,
// and so does the Close of an immutable upload (the step that makes the
// share visible, which every backend does under the lock; starting an
// upload and writing to it are not mutations of stored shares and may go
// ahead). The tests never measure time: a writer that is held off is
// seen to give up with its context's error.
func lockTests() []test {
	return []test{
		{name: "GuardHoldsOffTestAndSet", writes: true, fn: testLockHoldsOffTestAndSet},
		{name: "GuardHoldsOffPutRaw", writes: true, fn: testLockHoldsOffPutRaw},
		{name: "GuardHoldsOffImmutableClose", writes: true, fn: testLockHoldsOffImmutableClose},
		{name: "GuardReleasedAfterItRuns", writes: true, fn: testLockReleasedAfterGuard},
		{name: "GuardDoesNotBlockOtherSIs", writes: true, fn: testLockOtherSIs},
	}
}

// heldOff is how long a writer that must wait for a running guard is
// given before its context is canceled. It bounds the test's run time,
// not the backend's speed: the writer may not succeed however long it is.
const heldOff = 200 * time.Millisecond

// prompt bounds a writer that must not wait, so that a backend that
// blocks it fails the test instead of stalling the suite.
const prompt = 30 * time.Second

// errGuardAborts is what the blocking guard returns once released.
var errGuardAborts = errors.New("conformance: the guard aborts the delete")

// heldGuard is a DeleteShare whose guard is running and waiting.
type heldGuard struct {
	release chan struct{}
	result  chan error
	once    sync.Once
	err     error
}

// holdGuard starts DeleteShare(si, shnum) with a guard that, once
// called, waits until the returned heldGuard is let go, and returns as
// soon as the guard is running. The share must exist, or the guard is
// never called.
func (e *env) holdGuard(si sharestore.StorageIndex, shnum int) *heldGuard {
	e.t.Helper()
	h := &heldGuard{release: make(chan struct{}), result: make(chan error, 1)}
	entered := make(chan struct{})
	var enter sync.Once
	guard := func(ctx context.Context, cur sharestore.ShareInfo) error {
		enter.Do(func() { close(entered) })
		select {
		case <-h.release:
			return errGuardAborts
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	go func() { h.result <- e.b.Shareset(si).DeleteShare(e.ctx, shnum, guard) }()
	select {
	case <-entered:
		return h
	case err := <-h.result:
		e.t.Fatalf("DeleteShare(%s/%d) with a guard returned %v without calling the guard; the share exists", si, shnum, err)
	case <-e.ctx.Done():
		e.t.Fatalf("DeleteShare(%s/%d) did not call its guard before the subtest's deadline", si, shnum)
	}
	return nil
}

// letGo releases the guard, which then aborts the delete, and returns
// DeleteShare's result. Calling it again returns the same result.
func (h *heldGuard) letGo() error {
	h.once.Do(func() {
		close(h.release)
		h.err = <-h.result
	})
	return h.err
}

// finish lets the guard go and checks that its error came back unchanged.
func (h *heldGuard) finish(e *env) {
	e.t.Helper()
	if err := h.letGo(); !errors.Is(err, errGuardAborts) {
		e.t.Fatalf("DeleteShare with an aborting guard returned %v, want the guard's error", err)
	}
}

// expectHeldOff checks that a writer on the storage index of a running
// guard gave up with its context's error rather than succeeding.
func (e *env) expectHeldOff(err error, what string) {
	e.t.Helper()
	if err == nil {
		e.t.Fatalf("%s succeeded while a DeleteShare guard on the same storage index was running; the guard must hold the storage index's lock, and the writer wait for it", what)
	}
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		e.t.Fatalf("%s while a DeleteShare guard on the same storage index was running: %v (code %v); want it to wait for the lock until its context ends, then fail with the context's error", what, err, sharestore.CodeOf(err))
	}
}

// A test-and-set on the storage index of a running guard waits for the
// guard: it gives up when its context ends and writes nothing.
func testLockHoldsOffTestAndSet(e *env) {
	si, we := e.anySI(), e.we()
	e.mutable(si, we, 0, []byte("guarded"))
	h := e.holdGuard(si, 0)
	defer h.letGo()
	ctx, cancel := context.WithTimeout(e.ctx, heldOff)
	ok, _, err := e.b.Shareset(si).TestAndReadAndWrite(ctx, we, []sharestore.TestAndWrite{
		{Shnum: 0, Tests: []sharestore.TestVector{tv(0, 7, sharestore.OpEQ, "guarded")}, Writes: []sharestore.DataVector{dv(0, "intrude")}},
		{Shnum: 1, Writes: []sharestore.DataVector{dv(0, "intruder")}},
	}, nil)
	cancel()
	if err == nil && !ok {
		err = errors.New("it returned false, though its test matches the stored data")
	}
	e.expectHeldOff(err, "TestAndReadAndWrite")
	h.finish(e)
	e.expectMutable(si, 0, we, []byte("guarded"))
	e.expectShnums(si, []int{0}, nil)
}

// PutRaw on the storage index of a running guard waits for the guard,
// for the guarded share and any other shnum alike, and stores nothing.
func testLockHoldsOffPutRaw(e *env) {
	si := e.anySI()
	e.put(si, 0, fixture.ImmutableV1([]byte("guarded")))
	h := e.holdGuard(si, 0)
	defer h.letGo()
	ss := e.b.Shareset(si)
	for _, shnum := range []int{0, 1} {
		c := fixture.ImmutableV1([]byte("replacement"))
		ctx, cancel := context.WithTimeout(e.ctx, heldOff)
		err := ss.PutRaw(ctx, shnum, bytes.NewReader(c), int64(len(c)))
		cancel()
		e.expectHeldOff(err, fmt.Sprintf("PutRaw of share %d", shnum))
	}
	h.finish(e)
	e.expectData(si, 0, []byte("guarded"))
	e.expectShnums(si, []int{0}, nil)
}

// The Close of an immutable upload to the storage index of a running
// guard waits for the guard; the upload fails and its share never
// appears. Starting and writing the upload do not wait.
func testLockHoldsOffImmutableClose(e *env) {
	si := e.anySI()
	e.put(si, 0, fixture.ImmutableV1([]byte("guarded")))
	h := e.holdGuard(si, 0)
	defer h.letGo()
	// The start and the write are bounded too, in case a backend takes
	// the lock earlier than Close; then that call is the one held off.
	ctx, cancel := context.WithTimeout(e.ctx, prompt)
	w, err := e.b.Shareset(si).WriteImmutable(ctx, 1, 5)
	if err == nil {
		defer w.Abort(e.ctx)
		err = w.Write(ctx, 0, []byte("hello"))
	}
	cancel()
	if err != nil {
		e.t.Fatalf("starting and writing an upload of share 1 while a guard runs on share 0: %v; they must not wait for the storage index's lock", err)
	}
	ctx, cancel = context.WithTimeout(e.ctx, heldOff)
	err = w.Close(ctx)
	cancel()
	e.expectHeldOff(err, "ImmutableWriter.Close")
	h.finish(e)
	e.expectAbsent(si, 1)
	e.expectData(si, 0, []byte("guarded"))
	e.expectShnums(si, []int{0}, nil)
}

// A guard that has run releases the lock, whether it aborted the delete
// or let it go ahead: a test-and-set right after it succeeds.
func testLockReleasedAfterGuard(e *env) {
	si, we := e.anySI(), e.we()
	e.mutable(si, we, 0, []byte("first"))
	ss := e.b.Shareset(si)
	tarw := func(data string) {
		e.t.Helper()
		ctx, cancel := context.WithTimeout(e.ctx, prompt)
		defer cancel()
		ok, _, err := ss.TestAndReadAndWrite(ctx, we, []sharestore.TestAndWrite{{Shnum: 0, Writes: []sharestore.DataVector{dv(0, data)}}}, nil)
		if err != nil || !ok {
			e.t.Fatalf("TestAndReadAndWrite after a guard ran: %v, %v; the guard must release the storage index's lock when it returns", ok, err)
		}
	}
	h := e.holdGuard(si, 0)
	h.finish(e)
	tarw("again")
	e.expectMutable(si, 0, we, []byte("again"))
	aborted := ss.DeleteShare(e.ctx, 0, func(context.Context, sharestore.ShareInfo) error { return errGuardAborts })
	if !errors.Is(aborted, errGuardAborts) {
		e.t.Fatalf("DeleteShare with an aborting guard returned %v, want the guard's error", aborted)
	}
	tarw("third")
	if err := ss.DeleteShare(e.ctx, 0, func(context.Context, sharestore.ShareInfo) error { return nil }); err != nil {
		e.t.Fatalf("DeleteShare with a passing guard: %v", err)
	}
	tarw("fourth")
	e.expectMutable(si, 0, we, []byte("fourth"))
}

// While a guard runs on one storage index, writers to others go ahead:
// a test-and-set, a PutRaw and a whole immutable upload.
func testLockOtherSIs(e *env) {
	si, we := e.anySI(), e.we()
	mutable, raw, upload := e.anySI(), e.anySI(), e.anySI()
	e.mutable(si, we, 0, []byte("guarded"))
	h := e.holdGuard(si, 0)
	defer h.letGo()
	ctx, cancel := context.WithTimeout(e.ctx, prompt)
	defer cancel()
	blocked := func(what string, other sharestore.StorageIndex, err error) {
		e.t.Helper()
		if err != nil {
			e.t.Fatalf("%s on %s while a guard runs on %s: %v; other storage indexes must not wait for its lock", what, other, si, err)
		}
	}
	ok, _, err := e.b.Shareset(mutable).TestAndReadAndWrite(ctx, we, []sharestore.TestAndWrite{{Shnum: 0, Writes: []sharestore.DataVector{dv(0, "free")}}}, nil)
	if err == nil && !ok {
		err = errors.New("it returned false with no tests")
	}
	blocked("TestAndReadAndWrite", mutable, err)
	c := fixture.ImmutableV1([]byte("raw"))
	blocked("PutRaw", raw, e.b.Shareset(raw).PutRaw(ctx, 0, bytes.NewReader(c), int64(len(c))))
	w, err := e.b.Shareset(upload).WriteImmutable(ctx, 0, 5)
	if err == nil {
		if err = w.Write(ctx, 0, []byte("hello")); err == nil {
			err = w.Close(ctx)
		}
		if err != nil {
			w.Abort(e.ctx)
		}
	}
	blocked("An immutable upload", upload, err)
	h.finish(e)
	e.expectMutable(mutable, 0, we, []byte("free"))
	e.expectData(raw, 0, []byte("raw"))
	e.expectData(upload, 0, []byte("hello"))
	e.expectMutable(si, 0, we, []byte("guarded"))
}
