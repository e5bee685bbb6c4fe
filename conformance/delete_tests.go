package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/conformance/fixture"
)

func deleteTests() []test {
	return []test{
		{name: "Scenario21ExactShnum", writes: true, fn: testDelExact},
		{name: "Idempotent", writes: true, fn: testDelIdempotent},
		{name: "GuardErrorAborts", writes: true, fn: testDelGuardError},
		{name: "GuardNilDeletes", writes: true, fn: testDelGuardNil},
		{name: "GuardSeesCurrentListing", writes: true, fn: testDelGuardSeesListing},
		{name: "GuardMissingShareNotCalled", writes: true, fn: testDelGuardMissing},
		{name: "RewrittenAfterJudgementSurvives", writes: true, fn: testDelRewritten},
		{name: "MutableAndCorruptShares", writes: true, fn: testDelMutableCorrupt},
		{name: "LastShareLeavesListing", writes: true, fn: testDelLastShare},
		{name: "RecreateAfterDelete", writes: true, fn: testDelRecreate},
	}
}

func (e *env) del(si sharestore.StorageIndex, shnum int) {
	e.t.Helper()
	if err := e.b.Shareset(si).DeleteShare(e.ctx, shnum, nil); err != nil {
		e.t.Fatalf("DeleteShare(%s/%d): %v", si, shnum, err)
	}
}

// Scenario 21: deleting share 1 deletes nothing else, in particular not
// shares 10–19 or 100 (the shnum-prefix bug of Tahoe's cloud backend), and
// deleting 10 leaves 100; a multi-chunk share 10 is kept whole.
func testDelExact(e *env) {
	si := e.anySI()
	stored := map[int][]byte{}
	shnums := []int{1, 100}
	for n := 10; n <= 19; n++ {
		shnums = append(shnums, n)
	}
	for _, n := range shnums {
		c := fixture.ImmutableV1([]byte(fmt.Sprintf("share %d", n)))
		if n == 10 {
			c = fixture.ImmutableV1(e.bytes(e.chunk() + e.chunk()/5))
		}
		if n == 12 {
			c = fixture.Mutable{Version: 1, Data: []byte("twelve")}.Bytes()
		}
		stored[n] = c
		e.put(si, n, c)
	}
	// Another SI in the same prefix is never touched either.
	other := e.si(si.Prefix())
	e.put(other, 1, fixture.ImmutableV1([]byte("other")))

	check := func(deleted ...int) {
		e.t.Helper()
		var want []int
		var wantList []listed
		gone := map[int]bool{}
		for _, n := range deleted {
			gone[n] = true
			e.expectAbsent(si, n)
		}
		for _, n := range []int{1, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 100} {
			if !gone[n] {
				want = append(want, n)
				wantList = append(wantList, listed{si, n, int64(len(stored[n]))})
				if got := e.raw(si, n); !bytes.Equal(got, stored[n]) {
					e.t.Fatalf("share %d changed (%d bytes, want %d)", n, len(got), len(stored[n]))
				}
			}
		}
		e.expectShnums(si, want, nil)
		wantList = append(wantList, listed{other, 1, int64(len(fixture.ImmutableV1([]byte("other"))))})
		sortListed(wantList)
		e.expectListing(si.Prefix(), wantList)
	}
	e.del(si, 1)
	check(1)
	e.del(si, 10)
	check(1, 10)
	e.expectData(other, 1, []byte("other"))
}

// Deleting a share that does not exist succeeds, in an empty shareset,
// next to other shares, and twice in a row.
func testDelIdempotent(e *env) {
	si := e.anySI()
	e.del(si, 0)
	e.put(si, 1, fixture.ImmutableV1([]byte("one")))
	e.del(si, 0)
	e.del(si, 2)
	e.expectShnums(si, []int{1}, nil)
	e.del(si, 1)
	e.del(si, 1)
	e.expectShnums(si, nil, nil)
}

// A guard that returns an error aborts the delete; the error is returned
// unchanged and the share stays.
func testDelGuardError(e *env) {
	si := e.anySI()
	c := fixture.ImmutableV1([]byte("guarded"))
	e.put(si, 0, c)
	refuse := errors.New("conformance: lease renewed")
	calls := 0
	err := e.b.Shareset(si).DeleteShare(e.ctx, 0, func(ctx context.Context, _ sharestore.ShareInfo) error {
		calls++
		if ctx == nil {
			return errors.New("guard got a nil context")
		}
		return refuse
	})
	if err != refuse {
		e.t.Fatalf("DeleteShare returned %v (%T), want the guard's error unchanged", err, err)
	}
	if calls != 1 {
		e.t.Fatalf("guard called %d times, want 1", calls)
	}
	if got := e.raw(si, 0); !bytes.Equal(got, c) {
		e.t.Fatalf("share changed to %s", clipq(got))
	}
	e.expectShnums(si, []int{0}, nil)
}

// A guard that returns nil lets the delete proceed; it runs exactly once.
func testDelGuardNil(e *env) {
	si := e.anySI()
	e.put(si, 0, fixture.ImmutableV1([]byte("guarded")))
	e.put(si, 1, fixture.ImmutableV1([]byte("kept")))
	calls := 0
	err := e.b.Shareset(si).DeleteShare(e.ctx, 0, func(ctx context.Context, _ sharestore.ShareInfo) error {
		calls++
		if ctx == nil {
			return errors.New("guard got a nil context")
		}
		return nil
	})
	if err != nil {
		e.t.Fatalf("DeleteShare: %v", err)
	}
	if calls != 1 {
		e.t.Fatalf("guard called %d times, want 1", calls)
	}
	e.expectAbsent(si, 0)
	e.expectShnums(si, []int{1}, nil)
}

// DeleteShare deletes mutable and corrupt shares too.
func testDelMutableCorrupt(e *env) {
	si, we := e.anySI(), e.we()
	e.mutable(si, we, 0, []byte("mutable"))
	e.put(si, 1, fixture.CorruptContainers()[0].Bytes)
	e.put(si, 2, fixture.Mutable{Version: 2, Data: e.bytes(e.chunk() + e.chunk()/3)}.Bytes())
	e.expectShnums(si, []int{0, 2}, []int{1})
	e.del(si, 0)
	e.del(si, 1)
	e.expectShnums(si, []int{2}, nil)
	e.expectAbsent(si, 0)
	e.expectAbsent(si, 1)
	e.del(si, 2)
	e.expectNoShares(si, 0, 1, 2)
	// A mutable share can be created again, with a new write enabler.
	we2 := e.we()
	e.mutable(si, we2, 0, []byte("again"))
	e.expectMutable(si, 0, we2, []byte("again"))
}

// After the last share of an SI is deleted, ListPrefix no longer shows it.
// (SharesetsForPrefix may still name it on disk, where the contract allows
// an empty SI directory to count.)
func testDelLastShare(e *env) {
	p := sharestore.Prefix("mm")
	si, other := e.si(p), e.si(p)
	e.put(si, 0, fixture.ImmutableV1([]byte("only")))
	c := fixture.ImmutableV1([]byte("other"))
	e.put(other, 5, c)
	e.del(si, 0)
	e.expectListing(p, []listed{{other, 5, int64(len(c))}})
	e.expectShnums(si, nil, nil)
	got, err := e.b.SharesetsForPrefix(e.ctx, p)
	if err != nil {
		e.t.Fatalf("SharesetsForPrefix: %v", err)
	}
	found := false
	for _, s := range got {
		found = found || s == other
	}
	if !found {
		e.t.Fatalf("SharesetsForPrefix = %v, lost %s", got, other)
	}
}

// An immutable share can be uploaded again after it was deleted.
func testDelRecreate(e *env) {
	si := e.anySI()
	e.writeImmutable(si, 0, []byte("first"))
	e.del(si, 0)
	e.writeImmutable(si, 0, []byte("second"))
	e.expectData(si, 0, []byte("second"))
}

// listedInfo returns ListPrefix's entry for si/shnum.
func (e *env) listedInfo(si sharestore.StorageIndex, shnum int) sharestore.ShareInfo {
	e.t.Helper()
	var found *sharestore.ShareInfo
	err := e.settle(func() error {
		infos, err := e.list(si.Prefix())
		if err != nil {
			return err
		}
		for _, in := range infos {
			if in.SI == si && in.Shnum == shnum {
				found = &in
				return nil
			}
		}
		return fmt.Errorf("ListPrefix(%s) does not list %s/%d", si.Prefix(), si, shnum)
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return *found
}

// The guard is given the share as the backend lists it at that moment:
// the same (SI, shnum), Size, ModTime and Version that ListPrefix
// reports, so a guard can tell whether the share is the one a listing
// judged.
func testDelGuardSeesListing(e *env) {
	si := e.anySI()
	for shnum, c := range [][]byte{fixture.ImmutableV1([]byte("current")), fixture.ImmutableV1(e.bytes(e.chunk() + e.chunk()/4))} {
		e.put(si, shnum, c)
		want := e.listedInfo(si, shnum)
		var got sharestore.ShareInfo
		calls := 0
		keep := errors.New("conformance: keep it")
		err := e.b.Shareset(si).DeleteShare(e.ctx, shnum, func(_ context.Context, cur sharestore.ShareInfo) error {
			calls++
			got = cur
			return keep
		})
		if err != keep || calls != 1 {
			e.t.Fatalf("DeleteShare(%s/%d) = %v after %d guard calls, want the guard's error after 1", si, shnum, err, calls)
		}
		if got.SI != si || got.Shnum != shnum || got.Size != int64(len(c)) || got.Size != want.Size || !got.ModTime.Equal(want.ModTime) || got.Version != want.Version {
			e.t.Fatalf("guard saw %+v, want the listing's %+v (%d bytes)", got, want, len(c))
		}
		if !want.SameShare(got) {
			e.t.Fatalf("ShareInfo.SameShare(%+v, %+v) is false for an unchanged share", want, got)
		}
		if got := e.raw(si, shnum); !bytes.Equal(got, c) {
			e.t.Fatalf("share %d changed to %s", shnum, clipq(got))
		}
	}
}

// Deleting a share that does not exist, with a guard, succeeds without
// calling the guard, in an empty shareset and next to other shares.
func testDelGuardMissing(e *env) {
	si := e.anySI()
	calls := 0
	guard := func(context.Context, sharestore.ShareInfo) error { calls++; return nil }
	if err := e.b.Shareset(si).DeleteShare(e.ctx, 3, guard); err != nil {
		e.t.Fatalf("guarded DeleteShare of a share in an empty shareset: %v", err)
	}
	c := fixture.ImmutableV1([]byte("neighbour"))
	e.put(si, 1, c)
	if err := e.b.Shareset(si).DeleteShare(e.ctx, 3, guard); err != nil {
		e.t.Fatalf("guarded DeleteShare of a missing share: %v", err)
	}
	if calls != 0 {
		e.t.Fatalf("the guard was called %d times for a missing share", calls)
	}
	if got := e.raw(si, 1); !bytes.Equal(got, c) {
		e.t.Fatalf("share 1 changed to %s", clipq(got))
	}
}

// A share rewritten (same SI and shnum, other bytes) after a listing
// judged it and before the delete survives a guard that compares what it
// is given with that listing (the crawler's guard), and the rewrite is
// what remains.
func testDelRewritten(e *env) {
	si := e.anySI()
	old := fixture.ImmutableV1([]byte("judged garbage"))
	e.put(si, 0, old)
	judged := e.listedInfo(si, 0)
	rewritten := fixture.ImmutableV1([]byte("rewritten since: must stay"))
	e.put(si, 0, rewritten)
	changed := errors.New("conformance: not the judged share")
	var saw sharestore.ShareInfo
	err := e.b.Shareset(si).DeleteShare(e.ctx, 0, func(_ context.Context, cur sharestore.ShareInfo) error {
		saw = cur
		if !judged.SameShare(cur) {
			return changed
		}
		return nil
	})
	if err != changed {
		e.t.Fatalf("DeleteShare of a rewritten share = %v (the guard saw %+v, judged %+v), want the guard's refusal", err, saw, judged)
	}
	if saw.Size != int64(len(rewritten)) {
		e.t.Fatalf("the guard saw %d bytes, want the rewrite's %d", saw.Size, len(rewritten))
	}
	if got := e.raw(si, 0); !bytes.Equal(got, rewritten) {
		e.t.Fatalf("rewritten share is now %s", clipq(got))
	}
	e.expectListingOf(si, []listed{{si, 0, int64(len(rewritten))}})
}
