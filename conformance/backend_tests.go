package conformance

import (
	"bytes"
	"errors"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/conformance/fixture"
)

func backendTests() []test {
	return []test{
		{name: "CapabilitiesName", fn: testCapabilitiesName},
		{name: "AvailableSpace", fn: testAvailableSpace},
		{name: "SharesetStorageIndex", fn: testSharesetStorageIndex},
		{name: "UseAfterClose", fn: testUseAfterClose},
		{name: "ReadOnlyRefusesMutations", fn: testReadOnlyRefusesMutations},
		{name: "NegativeShnum", writes: true, fn: testNegativeShnum},
	}
}

// Capabilities has a non-empty Name and sane sizes.
func testCapabilitiesName(e *env) {
	c := e.b.Capabilities()
	if c.Name == "" {
		e.t.Error("Capabilities().Name is empty")
	}
	if c.MaxObjectSize < 0 || c.ChunkSize < 0 {
		e.t.Errorf("Capabilities() has negative sizes: %+v", c)
	}
	if c2 := e.b.Capabilities(); c2 != c {
		e.t.Errorf("Capabilities() changed between calls: %+v then %+v", c, c2)
	}
}

// AvailableSpace is ≥ 0, and 0 for a read-only backend.
func testAvailableSpace(e *env) {
	n, err := e.b.AvailableSpace(e.ctx)
	if err != nil {
		e.t.Fatalf("AvailableSpace: %v", err)
	}
	if n < 0 {
		e.t.Fatalf("AvailableSpace = %d, want ≥ 0", n)
	}
	if e.caps.ReadOnly && n != 0 {
		e.t.Fatalf("AvailableSpace = %d on a read-only backend, want 0", n)
	}
	if !e.caps.ReadOnly && n == 0 {
		e.t.Logf("AvailableSpace = 0 on a writable backend (disk full?)")
	}
}

// Shareset always succeeds and names its SI; an SI with nothing stored has
// no shares and is not an error.
func testSharesetStorageIndex(e *env) {
	si := e.anySI()
	ss := e.b.Shareset(si)
	if ss == nil {
		e.t.Fatal("Shareset returned nil")
	}
	if got := ss.StorageIndex(); got != si {
		e.t.Fatalf("StorageIndex() = %s, want %s", got, si)
	}
	e.expectShnums(si, nil, nil)
	e.expectAbsent(si, 0)
}

// Using the backend after Close is an error of class
// ErrInvalidArgument.
func testUseAfterClose(e *env) {
	if err := e.b.Close(); err != nil {
		e.t.Fatalf("Close: %v", err)
	}
	e.closed = true
	si := e.anySI()
	mustErr(e.t, e.b.ListPrefix(e.ctx, si.Prefix(), func(sharestore.ShareInfo) error { return nil }), sharestore.ErrInvalidArgument, "ListPrefix after Close")
	_, _, err := e.b.Shareset(si).Shares(e.ctx)
	mustErr(e.t, err, sharestore.ErrInvalidArgument, "Shares after Close")
	_, err = e.b.Shareset(si).Share(e.ctx, 0)
	mustErr(e.t, err, sharestore.ErrInvalidArgument, "Share after Close")
	if !e.caps.ReadOnly {
		c := fixture.ImmutableV1([]byte("x"))
		mustErr(e.t, e.b.Shareset(si).PutRaw(e.ctx, 0, bytes.NewReader(c), int64(len(c))), sharestore.ErrInvalidArgument, "PutRaw after Close")
	}
}

// A read-only backend refuses every mutation with ErrPermissionDenied.
func testReadOnlyRefusesMutations(e *env) {
	if !e.caps.ReadOnly {
		e.t.Skip("backend is not read-only")
	}
	si := e.anySI()
	ss := e.b.Shareset(si)
	c := fixture.ImmutableV1([]byte("x"))
	mustErr(e.t, ss.PutRaw(e.ctx, 0, bytes.NewReader(c), int64(len(c))), sharestore.ErrPermissionDenied, "PutRaw")
	if w, err := ss.WriteImmutable(e.ctx, 0, 10); err == nil {
		w.Abort(e.ctx)
		e.t.Fatal("WriteImmutable on a read-only backend succeeded")
	} else if !errors.Is(err, sharestore.ErrPermissionDenied) {
		e.t.Fatalf("WriteImmutable: %v, want ErrPermissionDenied", err)
	}
	_, _, err := ss.TestAndReadAndWrite(e.ctx, e.we(), []sharestore.TestAndWrite{{Shnum: 0, Writes: []sharestore.DataVector{{Data: []byte("x")}}}}, nil)
	mustErr(e.t, err, sharestore.ErrPermissionDenied, "TestAndReadAndWrite")
	mustErr(e.t, ss.DeleteShare(e.ctx, 0, nil), sharestore.ErrPermissionDenied, "DeleteShare")
}

// A negative share number can name no stored share: mutations refuse it
// with ErrInvalidArgument and store nothing; reads fail with
// ErrInvalidArgument or ErrNotFound.
func testNegativeShnum(e *env) {
	si, we := e.anySI(), e.we()
	ss := e.b.Shareset(si)
	c := fixture.ImmutableV1([]byte("x"))
	mustErr(e.t, ss.PutRaw(e.ctx, -1, bytes.NewReader(c), int64(len(c))), sharestore.ErrInvalidArgument, "PutRaw(-1)")
	w, err := ss.WriteImmutable(e.ctx, -1, 1)
	if err == nil {
		w.Abort(e.ctx)
	}
	mustErr(e.t, err, sharestore.ErrInvalidArgument, "WriteImmutable(-1)")
	_, _, err = ss.TestAndReadAndWrite(e.ctx, we, []sharestore.TestAndWrite{{Shnum: -1, Writes: []sharestore.DataVector{dv(0, "x")}}}, nil)
	mustErr(e.t, err, sharestore.ErrInvalidArgument, "TestAndReadAndWrite(-1)")
	if _, err := ss.Share(e.ctx, -1); !errors.Is(err, sharestore.ErrInvalidArgument) && !errors.Is(err, sharestore.ErrNotFound) {
		e.t.Errorf("Share(-1): %v, want ErrInvalidArgument or ErrNotFound", err)
	}
	if _, err := ss.ReadShareData(e.ctx, -1, 0, 1); !errors.Is(err, sharestore.ErrInvalidArgument) && !errors.Is(err, sharestore.ErrNotFound) {
		e.t.Errorf("ReadShareData(-1): %v, want ErrInvalidArgument or ErrNotFound", err)
	}
	e.expectShnums(si, nil, nil)
	e.expectListing(si.Prefix(), nil)
}
