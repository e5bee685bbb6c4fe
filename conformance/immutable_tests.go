package conformance

import (
	"bytes"
	"errors"
	"fmt"
	"math"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/conformance/fixture"
)

func immutableTests() []test {
	return []test{
		{name: "InvisibleUntilClose", writes: true, fn: testImmInvisible},
		{name: "SequentialWrites25_25_25_7", writes: true, fn: testImmSequential},
		{name: "Scenario3ContainerFormat", writes: true, fn: testImmFormat},
		{name: "LargeShare", writes: true, fn: testImmLarge},
		{name: "EmptyShare", writes: true, fn: testImmEmpty},
		{name: "ForwardGapZeroFilled", writes: true, fn: testImmGap},
		{name: "AbortLeavesNothing", writes: true, fn: testImmAbort},
		{name: "AbortAfterFailedWriteAndTwice", writes: true, fn: testImmAbortTwice},
		{name: "ConflictWithExistingShare", writes: true, fn: testImmConflictExisting},
		{name: "ConflictWithShareInProgress", writes: true, fn: testImmConflictInProgress},
		{name: "WritePastAllocatedIsOutOfRange", writes: true, fn: testImmPastAllocated},
		{name: "WriteOffsetOverflowIsOutOfRange", writes: true, fn: testImmOverflow},
		{name: "BackwardsWriteIsInvalidArgument", writes: true, fn: testImmBackwards},
		{name: "OtherSharesUnaffected", writes: true, fn: testImmOthers},
		{name: "NegativeAllocatedIsInvalidArgument", writes: true, fn: testImmNegativeAllocated},
		{name: "NoClobberOfShareCreatedDuringUpload", writes: true, fn: testImmNoClobber},
	}
}

// writeImmutable writes data in pieces of the given sizes and closes.
func (e *env) writeImmutable(si sharestore.StorageIndex, shnum int, data []byte, pieces ...int) {
	e.t.Helper()
	w, err := e.b.Shareset(si).WriteImmutable(e.ctx, shnum, int64(len(data)))
	if err != nil {
		e.t.Fatalf("WriteImmutable(%s/%d, %d): %v", si, shnum, len(data), err)
	}
	off := 0
	if len(pieces) == 0 {
		pieces = []int{len(data)}
	}
	for _, n := range pieces {
		if err := w.Write(e.ctx, int64(off), data[off:off+n]); err != nil {
			w.Abort(e.ctx)
			e.t.Fatalf("Write(%d, %d bytes): %v", off, n, err)
		}
		off += n
	}
	if off != len(data) {
		e.t.Fatalf("suite bug: pieces cover %d of %d bytes", off, len(data))
	}
	if err := w.Close(e.ctx); err != nil {
		w.Abort(e.ctx)
		e.t.Fatalf("Close: %v", err)
	}
}

// expectNoShares checks that si has no visible share at all.
func (e *env) expectNoShares(si sharestore.StorageIndex, shnums ...int) {
	e.t.Helper()
	e.expectShnums(si, nil, nil)
	for _, n := range shnums {
		e.expectAbsent(si, n)
	}
	err := e.settle(func() error {
		l, err := e.list(si.Prefix())
		for _, in := range l {
			if in.SI == si {
				return fmt.Errorf("lists %s", in.ID())
			}
		}
		return err
	})
	if err != nil {
		e.t.Fatalf("ListPrefix(%q): %v", si.Prefix(), err)
	}
}

// A share being written is invisible to Shares, Share, ReadShareData,
// OpenRaw and ListPrefix until Close returns; afterwards it is visible and
// exact (scenario 23).
func testImmInvisible(e *env) {
	si := e.anySI()
	data := e.bytes(64)
	w, err := e.b.Shareset(si).WriteImmutable(e.ctx, 0, 64)
	if err != nil {
		e.t.Fatalf("WriteImmutable: %v", err)
	}
	e.expectNoShares(si, 0)
	if err := w.Write(e.ctx, 0, data[:32]); err != nil {
		e.t.Fatalf("Write: %v", err)
	}
	e.expectNoShares(si, 0)
	if err := w.Write(e.ctx, 32, data[32:]); err != nil {
		e.t.Fatalf("Write: %v", err)
	}
	e.expectNoShares(si, 0)
	if err := w.Close(e.ctx); err != nil {
		e.t.Fatalf("Close: %v", err)
	}
	e.expectShnums(si, []int{0}, nil)
	e.expectData(si, 0, data)
	s := e.share(si, 0)
	if s.Type != sharestore.ShareTypeImmutable || s.Size != 12+64 {
		e.t.Fatalf("Share = %+v, want an immutable share of 76 bytes", s)
	}
	e.expectListing(si.Prefix(), []listed{{si, 0, 76}})
	e.expectSharesets(si.Prefix(), []sharestore.StorageIndex{si})
}

// Tahoe's bucket test: sequential writes of 25+25+25+7 bytes read back.
func testImmSequential(e *env) {
	si := e.anySI()
	data := e.bytes(82)
	e.writeImmutable(si, 3, data, 25, 25, 25, 7)
	e.expectData(si, 3, data)
	if got := e.read(si, 3, 20, 10); !bytes.Equal(got, data[20:30]) {
		e.t.Fatalf("ReadShareData(20, 10) = %q, want %q", got, data[20:30])
	}
}

// Scenario 3: a written share is a v1 or v2 immutable container whose
// length field is min(A, 2^32−1) (disk) or 0 (cloud), with no leases and
// the data at byte 12.
func testImmFormat(e *env) {
	si := e.anySI()
	data := e.bytes(82)
	e.writeImmutable(si, 0, data, 25, 25, 25, 7)
	raw := e.raw(si, 0)
	h, got, err := fixture.ParseImmutable(raw)
	if err != nil {
		e.t.Fatalf("written container: %v", err)
	}
	if h.LengthField != 82 && h.LengthField != 0 {
		e.t.Errorf("length field = %d, want 82 or 0", h.LengthField)
	}
	if h.Leases != 0 {
		e.t.Errorf("lease count = %d, want 0", h.Leases)
	}
	if len(raw) != 12+82 || !bytes.Equal(got, data) {
		e.t.Errorf("container is %d bytes with data %s, want 94 bytes with %s", len(raw), clipq(got), clipq(data))
	}
	if s := e.share(si, 0); s.Version != int(h.Version) {
		e.t.Errorf("Share().Version = %d, header says %d", s.Version, h.Version)
	}
}

// A share of more than two chunks, written in uneven pieces that straddle
// chunk boundaries, reads back exactly.
func testImmLarge(e *env) {
	si := e.anySI()
	k := e.chunk()
	data := e.bytes(2*k + 3)
	e.writeImmutable(si, 1, data, k/3, k, k/2, 2*k+3-k/3-k-k/2)
	e.expectData(si, 1, data)
	if raw := e.raw(si, 1); len(raw) != 12+len(data) || !bytes.Equal(raw[12:], data) {
		e.t.Fatalf("OpenRaw: %d bytes, want %d", len(raw), 12+len(data))
	}
}

// An allocation of 0 bytes, closed at once, is a valid empty share.
func testImmEmpty(e *env) {
	si := e.anySI()
	e.writeImmutable(si, 0, nil)
	e.expectData(si, 0, nil)
	e.expectListing(si.Prefix(), []listed{{si, 0, 12}})
}

// A write that starts past the end of the previous one leaves zeros in the
// gap (Tahoe disk writes sparsely; the cloud pads chunks with zeros).
func testImmGap(e *env) {
	si := e.anySI()
	w, err := e.b.Shareset(si).WriteImmutable(e.ctx, 0, 15)
	if err != nil {
		e.t.Fatalf("WriteImmutable: %v", err)
	}
	defer w.Abort(e.ctx)
	if err := w.Write(e.ctx, 0, []byte("abcde")); err != nil {
		e.t.Fatalf("Write: %v", err)
	}
	if err := w.Write(e.ctx, 10, []byte("klmno")); err != nil {
		e.t.Fatalf("Write at 10: %v", err)
	}
	if err := w.Close(e.ctx); err != nil {
		e.t.Fatalf("Close: %v", err)
	}
	e.expectData(si, 0, []byte("abcde\x00\x00\x00\x00\x00klmno"))
}

// Abort leaves nothing visible, not even in listings, and frees the shnum
// for a new upload.
func testImmAbort(e *env) {
	si := e.anySI()
	w, err := e.b.Shareset(si).WriteImmutable(e.ctx, 0, 100)
	if err != nil {
		e.t.Fatalf("WriteImmutable: %v", err)
	}
	if err := w.Write(e.ctx, 0, e.bytes(100)); err != nil {
		e.t.Fatalf("Write: %v", err)
	}
	if err := w.Abort(e.ctx); err != nil {
		e.t.Fatalf("Abort: %v", err)
	}
	e.expectNoShares(si, 0)
	data := e.bytes(10)
	e.writeImmutable(si, 0, data)
	e.expectData(si, 0, data)
}

// Abort is safe after a failed Write, and calling it twice is harmless.
func testImmAbortTwice(e *env) {
	si := e.anySI()
	w, err := e.b.Shareset(si).WriteImmutable(e.ctx, 0, 4)
	if err != nil {
		e.t.Fatalf("WriteImmutable: %v", err)
	}
	if err := w.Write(e.ctx, 0, []byte("too long")); err == nil {
		e.t.Fatal("Write past the allocated size succeeded")
	}
	if err := w.Abort(e.ctx); err != nil {
		e.t.Fatalf("Abort after a failed Write: %v", err)
	}
	if err := w.Abort(e.ctx); err != nil {
		e.t.Fatalf("second Abort: %v", err)
	}
	e.expectNoShares(si, 0)
}

// WriteImmutable on a shnum that already holds a share — immutable,
// mutable or corrupt — is ErrConflict, and the share is untouched.
func testImmConflictExisting(e *env) {
	si := e.anySI()
	cs := [][]byte{
		fixture.ImmutableV1([]byte("immutable")),
		fixture.Mutable{Version: 1, Data: []byte("mutable")}.Bytes(),
		fixture.CorruptContainers()[0].Bytes,
	}
	for shnum, c := range cs {
		e.put(si, shnum, c)
	}
	for shnum, c := range cs {
		w, err := e.b.Shareset(si).WriteImmutable(e.ctx, shnum, 10)
		if err == nil {
			w.Abort(e.ctx)
		}
		mustErr(e.t, err, sharestore.ErrConflict, "WriteImmutable over an existing share")
		if got := e.raw(si, shnum); !bytes.Equal(got, c) {
			e.t.Fatalf("share %d changed to %s", shnum, clipq(got))
		}
	}
	// A share written through the backend conflicts too.
	e.writeImmutable(si, 7, []byte("x"))
	w, err := e.b.Shareset(si).WriteImmutable(e.ctx, 7, 1)
	if err == nil {
		w.Abort(e.ctx)
	}
	mustErr(e.t, err, sharestore.ErrConflict, "WriteImmutable over a closed share")
}

// A second WriteImmutable of a shnum that is being written is ErrConflict,
// before and after the first is closed; the first upload is unaffected
// (scenario 23).
func testImmConflictInProgress(e *env) {
	si := e.anySI()
	ss := e.b.Shareset(si)
	w, err := ss.WriteImmutable(e.ctx, 0, 3)
	if err != nil {
		e.t.Fatalf("WriteImmutable: %v", err)
	}
	w2, err := ss.WriteImmutable(e.ctx, 0, 3)
	if err == nil {
		w2.Abort(e.ctx)
	}
	mustErr(e.t, err, sharestore.ErrConflict, "second WriteImmutable of a share in progress")
	// Another shnum of the same SI is fine.
	w3, err := ss.WriteImmutable(e.ctx, 1, 3)
	if err != nil {
		e.t.Fatalf("WriteImmutable of another shnum: %v", err)
	}
	if err := w3.Abort(e.ctx); err != nil {
		e.t.Fatalf("Abort: %v", err)
	}
	if err := w.Write(e.ctx, 0, []byte("abc")); err != nil {
		e.t.Fatalf("Write: %v", err)
	}
	if err := w.Close(e.ctx); err != nil {
		e.t.Fatalf("Close: %v", err)
	}
	e.expectData(si, 0, []byte("abc"))
	e.expectAbsent(si, 1)
	w4, err := ss.WriteImmutable(e.ctx, 0, 3)
	if err == nil {
		w4.Abort(e.ctx)
	}
	mustErr(e.t, err, sharestore.ErrConflict, "WriteImmutable after the first upload closed")
	e.expectData(si, 0, []byte("abc"))
}

// A write whose end passes the allocated size is ErrOutOfRange.
func testImmPastAllocated(e *env) {
	si := e.anySI()
	ss := e.b.Shareset(si)
	w, err := ss.WriteImmutable(e.ctx, 0, 10)
	if err != nil {
		e.t.Fatalf("WriteImmutable: %v", err)
	}
	mustErr(e.t, w.Write(e.ctx, 0, make([]byte, 11)), sharestore.ErrOutOfRange, "Write of 11 bytes into 10")
	w.Abort(e.ctx)

	w, err = ss.WriteImmutable(e.ctx, 0, 10)
	if err != nil {
		e.t.Fatalf("WriteImmutable after Abort: %v", err)
	}
	if err := w.Write(e.ctx, 0, make([]byte, 8)); err != nil {
		e.t.Fatalf("Write: %v", err)
	}
	mustErr(e.t, w.Write(e.ctx, 8, make([]byte, 3)), sharestore.ErrOutOfRange, "Write ending at 11 of 10")
	w.Abort(e.ctx)

	w, err = ss.WriteImmutable(e.ctx, 0, 10)
	if err != nil {
		e.t.Fatalf("WriteImmutable after Abort: %v", err)
	}
	mustErr(e.t, w.Write(e.ctx, 10, []byte{1}), sharestore.ErrOutOfRange, "Write at offset 10 of 10")
	w.Abort(e.ctx)
	e.expectNoShares(si, 0)
}

// A write whose offset+length overflows int64 is still past the allocated
// size: ErrOutOfRange, not a file-system error.
func testImmOverflow(e *env) {
	si := e.anySI()
	w, err := e.b.Shareset(si).WriteImmutable(e.ctx, 0, 10)
	if err != nil {
		e.t.Fatalf("WriteImmutable: %v", err)
	}
	defer w.Abort(e.ctx)
	mustErr(e.t, w.Write(e.ctx, math.MaxInt64-1, []byte("0123456789")), sharestore.ErrOutOfRange, "Write at MaxInt64-1 of 10 bytes")
	mustErr(e.t, w.Write(e.ctx, math.MaxInt64, []byte("x")), sharestore.ErrOutOfRange, "Write at MaxInt64 of 1 byte")
}

// A write that starts before the end of the previous one, or at a negative
// offset, is ErrInvalidArgument.
func testImmBackwards(e *env) {
	si := e.anySI()
	ss := e.b.Shareset(si)
	w, err := ss.WriteImmutable(e.ctx, 0, 20)
	if err != nil {
		e.t.Fatalf("WriteImmutable: %v", err)
	}
	if err := w.Write(e.ctx, 0, make([]byte, 10)); err != nil {
		e.t.Fatalf("Write: %v", err)
	}
	mustErr(e.t, w.Write(e.ctx, 5, make([]byte, 5)), sharestore.ErrInvalidArgument, "Write at 5 after writing 0..10")
	mustErr(e.t, w.Write(e.ctx, 0, make([]byte, 1)), sharestore.ErrInvalidArgument, "Write at 0 after writing 0..10")
	w.Abort(e.ctx)

	w, err = ss.WriteImmutable(e.ctx, 0, 20)
	if err != nil {
		e.t.Fatalf("WriteImmutable after Abort: %v", err)
	}
	mustErr(e.t, w.Write(e.ctx, -1, []byte{1}), sharestore.ErrInvalidArgument, "Write at -1")
	w.Abort(e.ctx)
	e.expectNoShares(si, 0)
}

// Writing one share touches no other share of the SI, even one whose
// shnum shares its decimal prefix.
func testImmOthers(e *env) {
	si := e.anySI()
	others := map[int][]byte{10: fixture.ImmutableV1([]byte("ten")), 11: fixture.Mutable{Version: 1, Data: []byte("eleven")}.Bytes(), 100: fixture.ImmutableV2([]byte("hundred"))}
	for n, c := range others {
		e.put(si, n, c)
	}
	e.writeImmutable(si, 1, []byte("one"))
	for n, c := range others {
		if got := e.raw(si, n); !bytes.Equal(got, c) {
			e.t.Errorf("share %d changed to %s", n, clipq(got))
		}
	}
	e.expectShnums(si, []int{1, 10, 11, 100}, nil)
}

// A negative allocated size is ErrInvalidArgument.
func testImmNegativeAllocated(e *env) {
	si := e.anySI()
	w, err := e.b.Shareset(si).WriteImmutable(e.ctx, 0, -1)
	if err == nil {
		w.Abort(e.ctx)
	}
	mustErr(e.t, err, sharestore.ErrInvalidArgument, "WriteImmutable with allocated -1")
	e.expectNoShares(si, 0)
}

// If a mutable share appears at the shnum while an immutable upload of it
// is in progress, the upload never overwrites it: either the mutable
// write is refused with ErrConflict and the upload completes, or the
// upload's Close fails with ErrConflict and the mutable share stays.
func testImmNoClobber(e *env) {
	si, we := e.anySI(), e.we()
	ss := e.b.Shareset(si)
	w, err := ss.WriteImmutable(e.ctx, 0, 3)
	if err != nil {
		e.t.Fatalf("WriteImmutable: %v", err)
	}
	defer w.Abort(e.ctx)
	if err := w.Write(e.ctx, 0, []byte("imm")); err != nil {
		e.t.Fatalf("Write: %v", err)
	}
	ok, _, terr := ss.TestAndReadAndWrite(e.ctx, we, []sharestore.TestAndWrite{{Shnum: 0, Writes: []sharestore.DataVector{dv(0, "mutable")}}}, nil)
	cerr := w.Close(e.ctx)
	switch {
	case terr == nil && ok:
		mustErr(e.t, cerr, sharestore.ErrConflict, "Close after a mutable share was created at the same shnum")
		e.expectMutable(si, 0, we, []byte("mutable"))
	case errors.Is(terr, sharestore.ErrConflict):
		if cerr != nil {
			e.t.Fatalf("Close: %v", cerr)
		}
		e.expectData(si, 0, []byte("imm"))
	default:
		e.t.Fatalf("TestAndReadAndWrite during an upload of the same shnum = (%v, %v), want success or ErrConflict", ok, terr)
	}
	e.expectShnums(si, []int{0}, nil)
}
