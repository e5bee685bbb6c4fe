package conformance

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/conformance/fixture"
)

func cancellationTests() []test {
	return []test{
		{name: "ListPrefix", fn: testCancelListPrefix},
		{name: "SharesetsForPrefix", fn: testCancelSharesets},
		{name: "AvailableSpace", fn: testCancelAvailableSpace},
		{name: "Shares", writes: true, fn: testCancelShares},
		{name: "Share", writes: true, fn: testCancelShare},
		{name: "ReadShareData", writes: true, fn: testCancelRead},
		{name: "OpenRaw", writes: true, fn: testCancelOpenRaw},
		{name: "DeleteShare", writes: true, fn: testCancelDelete},
		{name: "WriteImmutable", writes: true, fn: testCancelWriteImmutable},
		{name: "ImmutableWriterWrite", writes: true, fn: testCancelWriterWrite},
		{name: "ImmutableWriterClose", writes: true, fn: testCancelWriterClose},
		{name: "TestAndReadAndWrite", writes: true, fn: testCancelTARW},
		{name: "PutRaw", writes: true, fn: testCancelPutRaw},
		{name: "CancelInsideListPrefixCallback", writes: true, fn: testCancelInCallback},
		{name: "DeadlineExceeded", writes: true, fn: testDeadline},
		{name: "WhileWaitingForLock", writes: true, fn: testCancelWaitingForLock},
	}
}

func (e *env) canceled() context.Context {
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	return ctx
}

func mustCanceled(e *env, err error, what string) {
	e.t.Helper()
	mustErr(e.t, err, context.Canceled, what+" with a canceled context")
}

// A fixture SI with one immutable and one mutable share, for the tests
// below.
func (e *env) cancelFixture() (sharestore.StorageIndex, sharestore.WriteEnabler, []byte, []byte) {
	e.t.Helper()
	si, we := e.anySI(), e.we()
	imm := fixture.ImmutableV1([]byte("immutable"))
	e.put(si, 0, imm)
	e.mutable(si, we, 1, []byte("mutable"))
	return si, we, imm, e.raw(si, 1)
}

// expectFixture checks that the cancel fixture is unchanged.
func (e *env) expectFixture(si sharestore.StorageIndex, imm, mut []byte) {
	e.t.Helper()
	if got := e.raw(si, 0); !bytes.Equal(got, imm) {
		e.t.Fatalf("share 0 changed to %s", clipq(got))
	}
	if got := e.raw(si, 1); !bytes.Equal(got, mut) {
		e.t.Fatalf("share 1 changed to %s", clipq(got))
	}
	e.expectShnums(si, []int{0, 1}, nil)
}

func testCancelListPrefix(e *env) {
	called := false
	err := e.b.ListPrefix(e.canceled(), "aa", func(sharestore.ShareInfo) error { called = true; return nil })
	mustCanceled(e, err, "ListPrefix")
	if called {
		e.t.Fatal("ListPrefix called the callback with a canceled context")
	}
}

func testCancelSharesets(e *env) {
	_, err := e.b.SharesetsForPrefix(e.canceled(), "aa")
	mustCanceled(e, err, "SharesetsForPrefix")
}

func testCancelAvailableSpace(e *env) {
	_, err := e.b.AvailableSpace(e.canceled())
	mustCanceled(e, err, "AvailableSpace")
}

func testCancelShares(e *env) {
	si, _, imm, mut := e.cancelFixture()
	_, _, err := e.b.Shareset(si).Shares(e.canceled())
	mustCanceled(e, err, "Shares")
	e.expectFixture(si, imm, mut)
}

func testCancelShare(e *env) {
	si, _, _, _ := e.cancelFixture()
	_, err := e.b.Shareset(si).Share(e.canceled(), 0)
	mustCanceled(e, err, "Share")
}

func testCancelRead(e *env) {
	si, _, _, _ := e.cancelFixture()
	_, err := e.b.Shareset(si).ReadShareData(e.canceled(), 0, 0, 5)
	mustCanceled(e, err, "ReadShareData")
}

func testCancelOpenRaw(e *env) {
	si, _, _, _ := e.cancelFixture()
	r, _, err := e.b.Shareset(si).OpenRaw(e.canceled(), 0)
	if err == nil {
		r.Close()
	}
	mustCanceled(e, err, "OpenRaw")
}

func testCancelDelete(e *env) {
	si, _, imm, mut := e.cancelFixture()
	ss := e.b.Shareset(si)
	mustCanceled(e, ss.DeleteShare(e.canceled(), 0, nil), "DeleteShare")
	guarded := false
	mustCanceled(e, ss.DeleteShare(e.canceled(), 1, func(context.Context, sharestore.ShareInfo) error { guarded = true; return nil }), "DeleteShare with a guard")
	if guarded {
		e.t.Error("DeleteShare ran the guard with a canceled context")
	}
	e.expectFixture(si, imm, mut)
}

func testCancelWriteImmutable(e *env) {
	si := e.anySI()
	w, err := e.b.Shareset(si).WriteImmutable(e.canceled(), 0, 5)
	if err == nil {
		w.Abort(e.ctx)
	}
	mustCanceled(e, err, "WriteImmutable")
	e.expectNoShares(si, 0)
	// The canceled call left no upload in progress behind.
	e.writeImmutable(si, 0, []byte("fresh"))
	e.expectData(si, 0, []byte("fresh"))
}

func testCancelWriterWrite(e *env) {
	si := e.anySI()
	w, err := e.b.Shareset(si).WriteImmutable(e.ctx, 0, 5)
	if err != nil {
		e.t.Fatalf("WriteImmutable: %v", err)
	}
	mustCanceled(e, w.Write(e.canceled(), 0, []byte("abcde")), "ImmutableWriter.Write")
	if err := w.Abort(e.ctx); err != nil {
		e.t.Fatalf("Abort after a canceled Write: %v", err)
	}
	e.expectNoShares(si, 0)
}

// A Close with a canceled context fails and leaves nothing visible (a
// failed Close leaves nothing visible); Abort then cleans up.
func testCancelWriterClose(e *env) {
	si := e.anySI()
	w, err := e.b.Shareset(si).WriteImmutable(e.ctx, 0, 5)
	if err != nil {
		e.t.Fatalf("WriteImmutable: %v", err)
	}
	if err := w.Write(e.ctx, 0, []byte("abcde")); err != nil {
		e.t.Fatalf("Write: %v", err)
	}
	mustCanceled(e, w.Close(e.canceled()), "ImmutableWriter.Close")
	e.expectNoShares(si, 0)
	if err := w.Abort(e.ctx); err != nil {
		e.t.Fatalf("Abort after a canceled Close: %v", err)
	}
	e.expectNoShares(si, 0)
	e.writeImmutable(si, 0, []byte("again"))
	e.expectData(si, 0, []byte("again"))
}

func testCancelTARW(e *env) {
	si, we, imm, mut := e.cancelFixture()
	_, _, err := e.b.Shareset(si).TestAndReadAndWrite(e.canceled(), we, []sharestore.TestAndWrite{
		{Shnum: 1, Writes: []sharestore.DataVector{dv(0, "CHANGED")}},
		{Shnum: 2, Writes: []sharestore.DataVector{dv(0, "new")}},
	}, []sharestore.ReadRange{rr(0, 3)})
	mustCanceled(e, err, "TestAndReadAndWrite")
	e.expectFixture(si, imm, mut)
	e.expectAbsent(si, 2)
}

func testCancelPutRaw(e *env) {
	si, _, imm, mut := e.cancelFixture()
	ss := e.b.Shareset(si)
	c := fixture.ImmutableV1([]byte("replacement"))
	mustCanceled(e, ss.PutRaw(e.canceled(), 0, bytes.NewReader(c), int64(len(c))), "PutRaw over a share")
	mustCanceled(e, ss.PutRaw(e.canceled(), 2, bytes.NewReader(c), int64(len(c))), "PutRaw of a new share")
	e.expectFixture(si, imm, mut)
	e.expectAbsent(si, 2)
}

// Canceling the context inside the ListPrefix callback stops the walk:
// the callback is not called again and the error matches context.Canceled.
func testCancelInCallback(e *env) {
	p := sharestore.Prefix("qq")
	for i := 0; i < 4; i++ {
		si := e.si(p)
		e.put(si, 0, fixture.ImmutableV1([]byte("a")))
		e.put(si, 1, fixture.ImmutableV1([]byte("b")))
	}
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	calls := 0
	err := e.b.ListPrefix(ctx, p, func(sharestore.ShareInfo) error {
		calls++
		cancel()
		return nil
	})
	mustCanceled(e, err, "ListPrefix canceled in its callback")
	if calls != 1 {
		e.t.Fatalf("callback called %d times, want 1 (the walk must stop once the context is canceled)", calls)
	}
}

// A context whose deadline has passed gives an error matching
// context.DeadlineExceeded.
func testDeadline(e *env) {
	si, we, imm, mut := e.cancelFixture()
	ctx, cancel := context.WithDeadline(e.ctx, time.Unix(1, 0))
	defer cancel()
	err := e.b.ListPrefix(ctx, si.Prefix(), func(sharestore.ShareInfo) error { return nil })
	mustErr(e.t, err, context.DeadlineExceeded, "ListPrefix past its deadline")
	_, _, err = e.b.Shareset(si).TestAndReadAndWrite(ctx, we, []sharestore.TestAndWrite{{Shnum: 1, Writes: []sharestore.DataVector{dv(0, "X")}}}, nil)
	mustErr(e.t, err, context.DeadlineExceeded, "TestAndReadAndWrite past its deadline")
	if errors.Is(err, context.Canceled) {
		e.t.Errorf("deadline error %v also matches context.Canceled", err)
	}
	e.expectFixture(si, imm, mut)
}

// A call that waits for the storage index's lock (held here by a blocked
// DeleteShare guard) returns an error matching context.Canceled when its
// context is canceled, without waiting for the lock, and changes nothing.
func testCancelWaitingForLock(e *env) {
	si, we, imm, mut := e.cancelFixture()
	ss := e.b.Shareset(si)
	inGuard, release := make(chan struct{}), make(chan struct{})
	deleted := make(chan error, 1)
	go func() {
		deleted <- ss.DeleteShare(e.ctx, 0, func(context.Context, sharestore.ShareInfo) error {
			close(inGuard)
			<-release
			return errors.New("conformance: keep the share")
		})
	}()
	select {
	case <-inGuard:
	case err := <-deleted:
		e.t.Fatalf("DeleteShare returned %v without running the guard", err)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan error, 1)
	go func() {
		_, _, err := ss.TestAndReadAndWrite(ctx, we, []sharestore.TestAndWrite{{Shnum: 1, Writes: []sharestore.DataVector{dv(0, "CHANGED")}}}, nil)
		done <- err
	}()
	cancel()
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	var err error
	select {
	case err = <-done:
	case <-timer.C:
		close(release)
		<-deleted
		e.t.Fatal("TestAndReadAndWrite did not return within 10s of its context being canceled while another call held the lock")
	}
	close(release)
	if derr := <-deleted; derr == nil || derr.Error() != "conformance: keep the share" {
		e.t.Errorf("DeleteShare returned %v, want the guard's error", derr)
	}
	mustCanceled(e, err, "TestAndReadAndWrite waiting for the lock")
	e.expectFixture(si, imm, mut)
}
