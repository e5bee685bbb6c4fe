package conformance

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/conformance/fixture"
)

func mutableTests() []test {
	return []test{
		{name: "CreateWithData", writes: true, fn: testMutCreate},
		{name: "Scenario6CreateEmpty472", writes: true, fn: testMutCreateEmpty},
		{name: "Scenario10Operators", writes: true, fn: testMutOperators},
		{name: "Scenario10AbsentShareComparesEmpty", writes: true, fn: testMutAbsentCompares},
		{name: "Scenario12FailingTestReturnsAllReads", writes: true, fn: testMutFailingTest},
		{name: "Scenario12WrongWriteEnabler", writes: true, fn: testMutWrongWE},
		{name: "WrongWriteEnablerNamesRecordedNodeID", writes: true, fn: testMutWrongWENodeID},
		{name: "Scenario8ContainerSize", writes: true, fn: testMutContainerSize},
		{name: "NewLengthZeroOnAbsentShare", writes: true, fn: testMutNewLengthZeroAbsent},
		{name: "NewLengthTruncatesAfterWrites", writes: true, fn: testMutTruncateSameCall},
		{name: "GapsZeroFilled", writes: true, fn: testMutGap},
		{name: "Scenario9MaxSize", writes: true, fn: testMutMaxSize},
		{name: "Scenario11ReadsBeforeWrites", writes: true, fn: testMutReadsBeforeWrites},
		{name: "ReadOnlyCall", writes: true, fn: testMutReadOnlyCall},
		{name: "CorruptShareMatchesNoTest", writes: true, fn: testMutCorrupt},
		{name: "Scenario7BadMagicIgnored", writes: true, fn: testMutBadMagic},
		{name: "ImmutableSharesIgnored", writes: true, fn: testMutImmutableIgnored},
		{name: "Scenario13WritevSequence", writes: true, fn: testMutWritev},
		{name: "PlantedV2WithExtraLeases", writes: true, fn: testMutPlantedV2},
		{name: "NegativeOffsets", writes: true, fn: testMutNegative},
		{name: "AllOrNothingAcrossShares", writes: true, fn: testMutAllOrNothing},
		{name: "AcrossChunks", writes: true, fn: testMutChunks},
	}
}

func dv(off int64, data string) sharestore.DataVector {
	return sharestore.DataVector{Offset: off, Data: []byte(data)}
}

func tv(off, n int64, op sharestore.TestOp, specimen string) sharestore.TestVector {
	return sharestore.TestVector{Offset: off, Length: n, Op: op, Specimen: []byte(specimen)}
}

func rr(off, n int64) sharestore.ReadRange { return sharestore.ReadRange{Offset: off, Length: n} }

func rv(vals ...string) [][]byte {
	out := make([][]byte, len(vals))
	for i, v := range vals {
		out[i] = []byte(v)
	}
	return out
}

// applyWrites is the reference model of a mutable write: writes applied in
// order over the old data, gaps zero-filled, then truncated to newLength
// (never extended).
func applyWrites(old []byte, writes []sharestore.DataVector, newLength *int64) []byte {
	d := append([]byte(nil), old...)
	for _, w := range writes {
		end := int(w.Offset) + len(w.Data)
		if end > len(d) {
			d = append(d, make([]byte, end-len(d))...)
		}
		copy(d[w.Offset:], w.Data)
	}
	if newLength != nil && *newLength < int64(len(d)) {
		d = d[:*newLength]
	}
	return d
}

// expectMutable checks that (si, shnum) is a well-formed mutable container
// recording the all-zero node ID and we, holding exactly data.
func (e *env) expectMutable(si sharestore.StorageIndex, shnum int, we sharestore.WriteEnabler, data []byte) {
	e.t.Helper()
	e.expectData(si, shnum, data)
	raw := e.raw(si, shnum)
	h, got, err := fixture.ParseMutable(raw)
	if err != nil {
		e.t.Fatalf("share %s/%d container: %v", si, shnum, err)
	}
	if h.NodeID != (sharestore.NodeID{}) || h.WriteEnabler != we || !h.LeaseSlotsAreZero {
		e.t.Errorf("share %s/%d header: nodeid %s, write enabler %x, lease slots zero %v; want the zero nodeid, %x, true", si, shnum, h.NodeID, h.WriteEnabler, h.LeaseSlotsAreZero, we)
	}
	if !bytes.Equal(got, data) || h.DataLength != uint64(len(data)) {
		e.t.Errorf("share %s/%d container data (length field %d) = %s, want %s", si, shnum, h.DataLength, clipq(got), clipq(data))
	}
	s := e.share(si, shnum)
	if s.Type != sharestore.ShareTypeMutable || s.Version != h.Version || s.Size != int64(len(raw)) || s.Size < int64(fixture.MutableEmptySize+len(data)) {
		e.t.Errorf("share %s/%d = %+v, want mutable version %d of %d bytes", si, shnum, s, h.Version, len(raw))
	}
}

// A mutable share created by a write is exactly the container that
// docs/formats.md describes: magic, zero node ID, the write enabler, the
// data and a zero extra lease count (468+3+4 bytes for 3 data bytes).
func testMutCreate(e *env) {
	si, we := e.anySI(), e.we()
	e.expectTARW(si, we, []sharestore.TestAndWrite{{Shnum: 0, Writes: []sharestore.DataVector{dv(0, "abc")}}}, []sharestore.ReadRange{rr(0, 10)}, true, map[int][][]byte{})
	raw := e.raw(si, 0)
	v := fixture.MutableVersionOf(raw)
	if v == 0 {
		e.t.Fatalf("created share has no mutable magic: %s", clipq(raw))
	}
	want := fixture.Mutable{Version: v, WriteEnabler: we, Data: []byte("abc")}.Bytes()
	if !bytes.Equal(raw, want) {
		e.t.Fatalf("created container:\n got %x\nwant %x", raw, want)
	}
	e.expectMutable(si, 0, we, []byte("abc"))
	e.expectListing(si.Prefix(), []listed{{si, 0, 475}})
	if s := e.share(si, 0); s.Version != v || s.DataLength != 3 || s.Size != 475 {
		e.t.Fatalf("Share = %+v", s)
	}
}

// Scenario 6: a share named in a test-and-write entry with no data is
// created as the 472-byte empty container (Tahoe's allocate step).
func testMutCreateEmpty(e *env) {
	si, we := e.anySI(), e.we()
	e.expectTARW(si, we, []sharestore.TestAndWrite{{Shnum: 0}, {Shnum: 1, Writes: []sharestore.DataVector{dv(0, "")}}, {Shnum: 2, NewLength: ptr(10)}}, nil, true, map[int][][]byte{})
	for shnum := 0; shnum < 3; shnum++ {
		raw := e.raw(si, shnum)
		v := fixture.MutableVersionOf(raw)
		want := fixture.Mutable{Version: max(v, 1), WriteEnabler: we}.Bytes()
		if len(raw) != 472 || !bytes.Equal(raw, want) {
			e.t.Fatalf("share %d container (%d bytes):\n got %x\nwant %x", shnum, len(raw), raw, want)
		}
		e.expectMutable(si, shnum, we, nil)
	}
	e.expectListing(si.Prefix(), []listed{{si, 0, 472}, {si, 1, 472}, {si, 2, 472}})
}

func compareOp(op sharestore.TestOp, c int) bool {
	switch op {
	case sharestore.OpLT:
		return c < 0
	case sharestore.OpLE:
		return c <= 0
	case sharestore.OpEQ:
		return c == 0
	case sharestore.OpNE:
		return c != 0
	case sharestore.OpGE:
		return c >= 0
	case sharestore.OpGT:
		return c > 0
	}
	panic("bad op")
}

// Scenario 10 (Tahoe test_operators): each operator compares the stored
// bytes "11111" with a specimen lexicographically; a pass applies the
// write, a failure returns (false, reads) and writes nothing.
func testMutOperators(e *env) {
	data := tahoeData()
	for _, op := range []sharestore.TestOp{sharestore.OpLT, sharestore.OpLE, sharestore.OpEQ, sharestore.OpNE, sharestore.OpGE, sharestore.OpGT} {
		for _, spec := range []string{"11110", "11111", "11112", "1111", "111111", "2", "", "\xff", "0"} {
			pass := compareOp(op, bytes.Compare([]byte("11111"), []byte(spec)))
			e.run(fmt.Sprintf("%s_%q", op, spec), func(e *env) {
				si, we := e.anySI(), e.we()
				e.mutable(si, we, 0, data)
				want := data
				if pass {
					want = applyWrites(data, []sharestore.DataVector{dv(0, "yyyyyyyyyy")}, nil)
				}
				e.expectTARW(si, we, []sharestore.TestAndWrite{{Shnum: 0, Tests: []sharestore.TestVector{tv(10, 5, op, spec)}, Writes: []sharestore.DataVector{dv(0, "yyyyyyyyyy")}}},
					[]sharestore.ReadRange{rr(0, 10), rr(10, 5)}, pass, map[int][][]byte{0: rv("0000000000", "11111")})
				e.expectData(si, 0, want)
			})
		}
	}
}

// Scenario 10: a missing share compares as "" (Tahoe empty_check_testv),
// and so does a range past the end of the data.
func testMutAbsentCompares(e *env) {
	for _, c := range []struct {
		tv   sharestore.TestVector
		pass bool
	}{
		{tv(0, 5, sharestore.OpEQ, ""), true},
		{tv(0, 5, sharestore.OpNE, "x"), true},
		{tv(0, 5, sharestore.OpLT, "x"), true},
		{tv(0, 5, sharestore.OpLE, ""), true},
		{tv(0, 5, sharestore.OpGE, ""), true},
		{tv(0, 5, sharestore.OpGT, ""), false},
		{tv(0, 5, sharestore.OpEQ, "x"), false},
		{tv(0, 5, sharestore.OpLT, ""), false},
		{tv(0, 5, sharestore.OpNE, ""), false},
	} {
		e.run(fmt.Sprintf("%s_%q", c.tv.Op, c.tv.Specimen), func(e *env) {
			si, we := e.anySI(), e.we()
			e.expectTARW(si, we, []sharestore.TestAndWrite{{Shnum: 0, Tests: []sharestore.TestVector{c.tv}, Writes: []sharestore.DataVector{dv(0, "new")}}}, nil, c.pass, map[int][][]byte{})
			if c.pass {
				e.expectMutable(si, 0, we, []byte("new"))
			} else {
				e.expectNoShares(si, 0)
			}
		})
	}
	e.run("PastEndOfData", func(e *env) {
		si, we := e.anySI(), e.we()
		e.mutable(si, we, 0, []byte("abc"))
		e.expectTARW(si, we, []sharestore.TestAndWrite{{Shnum: 0, Tests: []sharestore.TestVector{tv(10, 5, sharestore.OpEQ, ""), tv(1, 5, sharestore.OpEQ, "bc")}, Writes: []sharestore.DataVector{dv(0, "X")}}}, nil, true, map[int][][]byte{0: {}})
		e.expectData(si, 0, []byte("Xbc"))
	})
}

// createEmpty creates empty mutable shares, as Tahoe's allocate step does.
func (e *env) createEmpty(si sharestore.StorageIndex, we sharestore.WriteEnabler, shnums ...int) {
	e.t.Helper()
	var tw []sharestore.TestAndWrite
	for _, n := range shnums {
		tw = append(tw, sharestore.TestAndWrite{Shnum: n})
	}
	if ok, _ := e.tarw(si, we, tw, nil); !ok {
		e.t.Fatalf("creating shares %v failed", shnums)
	}
}

// Scenario 12 (Tahoe test_allocate): a failing test vector returns false
// with the reads of all shares, and writes nothing to any share.
func testMutFailingTest(e *env) {
	si, we := e.anySI(), e.we()
	e.createEmpty(si, we, 0, 1, 2)
	data := tahoeData()
	e.expectTARW(si, we, []sharestore.TestAndWrite{{Shnum: 0, Writes: []sharestore.DataVector{{Offset: 0, Data: data}}}}, nil, true, map[int][][]byte{0: {}, 1: {}, 2: {}})
	e.expectTARW(si, we, []sharestore.TestAndWrite{
		{Shnum: 0, Tests: []sharestore.TestVector{tv(10, 5, sharestore.OpLT, "11111")}, Writes: []sharestore.DataVector{dv(0, strings.Repeat("x", 100))}},
		{Shnum: 1, Writes: []sharestore.DataVector{dv(0, "y")}},
		{Shnum: 3, Writes: []sharestore.DataVector{dv(0, "z")}},
	}, []sharestore.ReadRange{rr(0, 12), rr(20, 5)}, false, map[int][][]byte{0: rv("000000000011", "22222"), 1: rv("", ""), 2: rv("", "")})
	e.expectMutable(si, 0, we, data)
	e.expectMutable(si, 1, we, nil)
	e.expectAbsent(si, 3)
}

const weMessageZero = "The write enabler was recorded by nodeid 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'."

// expectBadWE checks a failed call for ErrPermissionDenied with Tahoe's
// message naming nodeid.
func expectBadWE(e *env, err error, nodeid sharestore.NodeID) {
	e.t.Helper()
	mustErr(e.t, err, sharestore.ErrPermissionDenied, "TestAndReadAndWrite with a wrong write enabler")
	msg := fmt.Sprintf("The write enabler was recorded by nodeid '%s'.", nodeid)
	if !strings.Contains(err.Error(), msg) {
		e.t.Fatalf("error %q does not contain %q", err, msg)
	}
}

// Scenario 12: a wrong write enabler fails with ErrPermissionDenied and
// Tahoe's exact message, even for a call that only reads, and modifies
// nothing.
func testMutWrongWE(e *env) {
	if fmt.Sprintf("The write enabler was recorded by nodeid '%s'.", sharestore.NodeID{}) != weMessageZero {
		e.t.Fatal("suite bug: zero NodeID does not print as 32 a's")
	}
	si, we, bad := e.anySI(), e.we(), e.we()
	e.mutable(si, we, 0, []byte("abc"))
	before := e.raw(si, 0)
	ss := e.b.Shareset(si)
	_, _, err := ss.TestAndReadAndWrite(e.ctx, bad, []sharestore.TestAndWrite{
		{Shnum: 0, Writes: []sharestore.DataVector{dv(0, "zzz")}},
		{Shnum: 5, Writes: []sharestore.DataVector{dv(0, "five")}},
	}, []sharestore.ReadRange{rr(0, 3)})
	expectBadWE(e, err, sharestore.NodeID{})
	_, _, err = ss.TestAndReadAndWrite(e.ctx, bad, nil, []sharestore.ReadRange{rr(0, 3)})
	expectBadWE(e, err, sharestore.NodeID{})
	_, _, err = ss.TestAndReadAndWrite(e.ctx, bad, []sharestore.TestAndWrite{{Shnum: 0, NewLength: ptr(0)}}, nil)
	expectBadWE(e, err, sharestore.NodeID{})
	if got := e.raw(si, 0); !bytes.Equal(got, before) {
		e.t.Fatalf("share changed after a refused write: %s", clipq(got))
	}
	e.expectAbsent(si, 5)
	e.expectTARW(si, we, nil, []sharestore.ReadRange{rr(0, 3)}, true, map[int][][]byte{0: rv("abc")})
}

// The message names the node ID recorded in the share that refused the
// write enabler, and every mutable share's write enabler is checked.
func testMutWrongWENodeID(e *env) {
	si, we, other := e.anySI(), e.we(), e.we()
	ff := sharestore.NodeID{}
	for i := range ff {
		ff[i] = 0xff
	}
	e.put(si, 0, fixture.Mutable{Version: 2, NodeID: ff, WriteEnabler: we, Data: []byte("zero")}.Bytes())
	_, _, err := e.b.Shareset(si).TestAndReadAndWrite(e.ctx, other, []sharestore.TestAndWrite{{Shnum: 0, Writes: []sharestore.DataVector{dv(0, "Z")}}}, nil)
	expectBadWE(e, err, ff)
	// Share 1 records another write enabler: a call with share 0's fails
	// on share 1, and writes nothing to share 0.
	e.put(si, 1, fixture.Mutable{Version: 1, WriteEnabler: other, Data: []byte("one")}.Bytes())
	_, _, err = e.b.Shareset(si).TestAndReadAndWrite(e.ctx, we, []sharestore.TestAndWrite{{Shnum: 0, Writes: []sharestore.DataVector{dv(0, "Z")}}}, nil)
	expectBadWE(e, err, sharestore.NodeID{})
	e.expectData(si, 0, []byte("zero"))
	e.expectData(si, 1, []byte("one"))
}

// Scenario 8 (Tahoe test_container_size): new_length truncates and never
// extends, a write past the end zero-fills the gap instead of revealing old
// bytes, and new_length 0 deletes the share.
func testMutContainerSize(e *env) {
	si, we := e.anySI(), e.we()
	e.createEmpty(si, we, 0, 1, 2)
	data := tahoeData()
	none := map[int][][]byte{0: {}, 1: {}, 2: {}}
	e.expectTARW(si, we, []sharestore.TestAndWrite{{Shnum: 0, Writes: []sharestore.DataVector{{Offset: 0, Data: data}}, NewLength: ptr(int64(len(data) + 12))}}, nil, true, none)
	e.expectMutable(si, 0, we, data)
	e.expectTARW(si, we, []sharestore.TestAndWrite{{Shnum: 0, NewLength: ptr(9)}}, nil, true, none)
	e.expectTARW(si, we, nil, []sharestore.ReadRange{rr(0, 10)}, true, map[int][][]byte{0: {data[:9]}, 1: rv(""), 2: rv("")})
	e.expectMutable(si, 0, we, data[:9])
	e.expectTARW(si, we, []sharestore.TestAndWrite{{Shnum: 0, NewLength: ptr(20)}}, nil, true, none)
	e.expectMutable(si, 0, we, data[:9])

	pattern := make([]byte, 100)
	for i := range pattern {
		pattern[i] = byte(i + 1)
	}
	e.expectTARW(si, we, []sharestore.TestAndWrite{{Shnum: 0, Writes: []sharestore.DataVector{{Offset: 0, Data: pattern}}}}, nil, true, none)
	e.expectTARW(si, we, []sharestore.TestAndWrite{{Shnum: 0, NewLength: ptr(20)}}, nil, true, none)
	e.expectTARW(si, we, nil, []sharestore.ReadRange{rr(20, 1980)}, true, map[int][][]byte{0: rv(""), 1: rv(""), 2: rv("")})
	e.expectTARW(si, we, []sharestore.TestAndWrite{{Shnum: 0, Writes: []sharestore.DataVector{dv(50, "hellothere")}}}, nil, true, none)
	e.expectTARW(si, we, nil, []sharestore.ReadRange{rr(20, 30)}, true, map[int][][]byte{0: {make([]byte, 30)}, 1: rv(""), 2: rv("")})
	want := append(append(append([]byte(nil), pattern[:20]...), make([]byte, 30)...), "hellothere"...)
	e.expectMutable(si, 0, we, want)

	e.expectTARW(si, we, []sharestore.TestAndWrite{{Shnum: 0, Writes: []sharestore.DataVector{{Offset: 0, Data: data}}, NewLength: ptr(0)}}, nil, true, none)
	e.expectTARW(si, we, nil, []sharestore.ReadRange{rr(0, 10)}, true, map[int][][]byte{1: rv(""), 2: rv("")})
	e.expectAbsent(si, 0)
	e.expectShnums(si, []int{1, 2}, nil)
}

// new_length 0 on an absent share creates nothing, even with writes.
func testMutNewLengthZeroAbsent(e *env) {
	si, we := e.anySI(), e.we()
	e.expectTARW(si, we, []sharestore.TestAndWrite{{Shnum: 0, NewLength: ptr(0)}}, nil, true, map[int][][]byte{})
	e.expectTARW(si, we, []sharestore.TestAndWrite{{Shnum: 1, Writes: []sharestore.DataVector{dv(0, "abc")}, NewLength: ptr(0)}}, nil, true, map[int][][]byte{})
	e.expectNoShares(si, 0, 1)
}

// Writes are applied first and new_length truncates the result, even
// cutting into or past what was just written.
func testMutTruncateSameCall(e *env) {
	si, we := e.anySI(), e.we()
	data := tahoeData()
	e.mutable(si, we, 0, data)
	w1 := []sharestore.DataVector{dv(0, "zz")}
	e.tarw(si, we, []sharestore.TestAndWrite{{Shnum: 0, Writes: w1, NewLength: ptr(9)}}, nil)
	cur := applyWrites(data, w1, ptr(9))
	e.expectMutable(si, 0, we, cur)
	w2 := []sharestore.DataVector{dv(50, "q")}
	e.tarw(si, we, []sharestore.TestAndWrite{{Shnum: 0, Writes: w2, NewLength: ptr(20)}}, nil)
	cur = applyWrites(cur, w2, ptr(20))
	if !bytes.Equal(cur[9:], make([]byte, 11)) {
		e.t.Fatal("suite bug: model")
	}
	e.expectMutable(si, 0, we, cur)
}

// A write past the end zero-fills the gap, on an existing share and on a
// share created by the write.
func testMutGap(e *env) {
	si, we := e.anySI(), e.we()
	e.mutable(si, we, 0, []byte("abc"))
	e.tarw(si, we, []sharestore.TestAndWrite{{Shnum: 0, Writes: []sharestore.DataVector{dv(10, "xyz")}}, {Shnum: 1, Writes: []sharestore.DataVector{dv(5, "q")}}}, nil)
	e.expectMutable(si, 0, we, []byte("abc\x00\x00\x00\x00\x00\x00\x00xyz"))
	e.expectMutable(si, 1, we, []byte("\x00\x00\x00\x00\x00q"))
}

// Scenario 9: a write ending past MAX_MUTABLE_SHARE_SIZE fails with
// ErrOutOfRange and changes nothing: no share is written or created, even
// when the bad write is not the first, and when offset+length overflows.
func testMutMaxSize(e *env) {
	si, we := e.anySI(), e.we()
	e.mutable(si, we, 0, []byte("abc"))
	before := e.raw(si, 0)
	max := fixture.MaxMutableShareSize
	for i, tw := range [][]sharestore.TestAndWrite{
		{{Shnum: 0, Writes: []sharestore.DataVector{dv(max+10, "x")}}},
		{{Shnum: 7, Writes: []sharestore.DataVector{dv(max+10, "x")}}},
		{{Shnum: 0, Writes: []sharestore.DataVector{dv(max-5, "0123456789")}}},
		{{Shnum: 0, Writes: []sharestore.DataVector{dv(0, "ok")}}, {Shnum: 1, Writes: []sharestore.DataVector{dv(max+10, "x")}}},
		{{Shnum: 0, Writes: []sharestore.DataVector{dv(0, "ok"), dv(max+10, "x")}}},
		{{Shnum: 0, Writes: []sharestore.DataVector{dv(math.MaxInt64-1, "0123456789")}}},
		{{Shnum: 7, Writes: []sharestore.DataVector{dv(math.MaxInt64, "x")}}},
	} {
		_, _, err := e.b.Shareset(si).TestAndReadAndWrite(e.ctx, we, tw, nil)
		mustErr(e.t, err, sharestore.ErrOutOfRange, fmt.Sprintf("case %d: TestAndReadAndWrite past the maximum size", i))
		if got := e.raw(si, 0); !bytes.Equal(got, before) {
			e.t.Fatalf("case %d: share 0 changed to %s", i, clipq(got))
		}
		e.expectAbsent(si, 1)
		e.expectAbsent(si, 7)
	}
}

// Scenario 11 (Tahoe test_remove): the reads describe the shares as they
// were before the call, for every share that existed before it; deleting
// every share removes the shareset from listings.
func testMutReadsBeforeWrites(e *env) {
	si, we := e.anySI(), e.we()
	e.createEmpty(si, we, 0, 1, 2)
	del := func(n int) []sharestore.TestAndWrite { return []sharestore.TestAndWrite{{Shnum: n, NewLength: ptr(0)}} }
	read := []sharestore.ReadRange{rr(0, 10)}
	e.expectTARW(si, we, del(0), nil, true, map[int][][]byte{0: {}, 1: {}, 2: {}})
	e.expectTARW(si, we, nil, read, true, map[int][][]byte{1: rv(""), 2: rv("")})
	e.expectTARW(si, we, del(1), nil, true, map[int][][]byte{1: {}, 2: {}})
	e.expectTARW(si, we, nil, read, true, map[int][][]byte{2: rv("")})
	e.expectTARW(si, we, del(2), nil, true, map[int][][]byte{2: {}})
	e.expectTARW(si, we, nil, read, true, map[int][][]byte{})
	e.expectNoShares(si, 0, 1, 2)
	e.expectSharesets(si.Prefix(), nil)

	// With data: the reads are the old bytes, and a share created by the
	// call is not among them.
	si2 := e.anySI()
	e.mutable(si2, we, 0, []byte("old0"))
	e.mutable(si2, we, 1, []byte("old1"))
	e.expectTARW(si2, we, []sharestore.TestAndWrite{
		{Shnum: 1, Writes: []sharestore.DataVector{dv(0, "NEW1")}},
		{Shnum: 5, Writes: []sharestore.DataVector{dv(0, "five")}},
		{Shnum: 0, NewLength: ptr(0)},
	}, []sharestore.ReadRange{rr(0, 4), rr(2, 10)}, true, map[int][][]byte{0: rv("old0", "d0"), 1: rv("old1", "d1")})
	e.expectAbsent(si2, 0)
	e.expectMutable(si2, 1, we, []byte("NEW1"))
	e.expectMutable(si2, 5, we, []byte("five"))
}

// A call with no test-and-write entries only reads: nothing is created or
// changed.
func testMutReadOnlyCall(e *env) {
	si, we := e.anySI(), e.we()
	e.expectTARW(si, we, nil, []sharestore.ReadRange{rr(0, 10)}, true, map[int][][]byte{})
	e.expectNoShares(si, 0)
	e.mutable(si, we, 0, []byte("hello"))
	before := e.raw(si, 0)
	e.expectTARW(si, we, nil, []sharestore.ReadRange{rr(0, 2), rr(3, 10), rr(10, 1), rr(0, 0), rr(1, math.MaxInt64), rr(math.MaxInt64, math.MaxInt64)}, true, map[int][][]byte{0: rv("he", "lo", "", "", "ello", "")})
	e.expectTARW(si, we, []sharestore.TestAndWrite{{Shnum: 0, Tests: []sharestore.TestVector{tv(1, math.MaxInt64, sharestore.OpEQ, "ello"), tv(math.MaxInt64, 1, sharestore.OpEQ, "")}}}, nil, true, map[int][][]byte{0: {}})
	e.expectTARW(si, we, []sharestore.TestAndWrite{}, nil, true, map[int][][]byte{0: {}})
	if got := e.raw(si, 0); !bytes.Equal(got, before) {
		e.t.Fatalf("a read-only call changed the share to %s", clipq(got))
	}
}

// A corrupt share is never read, matches no test vector, and cannot be
// written: a write naming it either returns false (Tahoe) or fails with
// ErrCorrupt or ErrConflict, and in every case nothing is written.
func testMutCorrupt(e *env) {
	si, we := e.anySI(), e.we()
	e.mutable(si, we, 0, []byte("valid"))
	bad := corruptNamed(e, "BadMagic")
	e.put(si, 1, bad)
	// The corrupt share is left out of the reads and does not disturb a
	// write to another share.
	e.expectTARW(si, we, []sharestore.TestAndWrite{{Shnum: 0, Tests: []sharestore.TestVector{tv(0, 5, sharestore.OpEQ, "valid")}, Writes: []sharestore.DataVector{dv(0, "VALID")}}},
		[]sharestore.ReadRange{rr(0, 5)}, true, map[int][][]byte{0: rv("valid")})
	e.expectData(si, 0, []byte("VALID"))
	for i, tw := range [][]sharestore.TestAndWrite{
		{{Shnum: 1, Writes: []sharestore.DataVector{dv(0, "x")}}, {Shnum: 0, Writes: []sharestore.DataVector{dv(0, "should not")}}},
		{{Shnum: 0, Writes: []sharestore.DataVector{dv(0, "should not")}}, {Shnum: 1, Tests: []sharestore.TestVector{tv(0, 1, sharestore.OpEQ, "")}}},
		{{Shnum: 1, NewLength: ptr(0)}},
	} {
		ok, reads, err := e.b.Shareset(si).TestAndReadAndWrite(e.ctx, we, tw, []sharestore.ReadRange{rr(0, 5)})
		switch {
		case err == nil:
			if ok || !readsEqual(reads, map[int][][]byte{0: rv("VALID")}) {
				e.t.Fatalf("case %d: = (%v, %s), want (false, {0: [\"VALID\"]}) or ErrCorrupt/ErrConflict", i, ok, fmtReads(reads))
			}
		case errors.Is(err, sharestore.ErrCorrupt), errors.Is(err, sharestore.ErrConflict):
		default:
			e.t.Fatalf("case %d: error %v, want (false, reads) or ErrCorrupt/ErrConflict", i, err)
		}
		if got := e.raw(si, 1); !bytes.Equal(got, bad) {
			e.t.Fatalf("case %d: corrupt share changed to %s", i, clipq(got))
		}
		e.expectData(si, 0, []byte("VALID"))
	}
	e.expectShnums(si, []int{0}, []int{1})
}

// Scenario 7 (Tahoe test_bad_magic): a mutable share whose magic is
// overwritten with "BAD MAGIC" is ignored by reads; after the healthy share
// is deleted the reads are empty.
func testMutBadMagic(e *env) {
	si, we := e.anySI(), e.we()
	e.createEmpty(si, we, 0, 1)
	raw := e.raw(si, 0)
	copy(raw, "BAD MAGIC")
	e.put(si, 0, raw)
	e.expectTARW(si, we, nil, []sharestore.ReadRange{rr(0, 10)}, true, map[int][][]byte{1: rv("")})
	e.expectShnums(si, []int{1}, []int{0})
	e.expectTARW(si, we, []sharestore.TestAndWrite{{Shnum: 1, NewLength: ptr(0)}}, nil, true, map[int][][]byte{1: {}})
	e.expectTARW(si, we, nil, []sharestore.ReadRange{rr(0, 10)}, true, map[int][][]byte{})
	e.expectShnums(si, nil, []int{0})
}

// Immutable shares under the same SI are invisible to the mutable
// operation: not read, not checked for a write enabler, not changed.
func testMutImmutableIgnored(e *env) {
	si, we := e.anySI(), e.we()
	imm := fixture.ImmutableV1([]byte("immutable"))
	e.put(si, 3, imm)
	e.expectTARW(si, we, nil, []sharestore.ReadRange{rr(0, 3)}, true, map[int][][]byte{})
	e.mutable(si, we, 0, []byte("mut"))
	e.expectTARW(si, we, []sharestore.TestAndWrite{{Shnum: 0, Tests: []sharestore.TestVector{tv(0, 3, sharestore.OpEQ, "mut")}, Writes: []sharestore.DataVector{dv(3, "able")}}},
		[]sharestore.ReadRange{rr(0, 3)}, true, map[int][][]byte{0: rv("mut")})
	e.expectMutable(si, 0, we, []byte("mutable"))
	if got := e.raw(si, 3); !bytes.Equal(got, imm) {
		e.t.Fatalf("immutable share changed to %s", clipq(got))
	}
	e.expectShnums(si, []int{0, 3}, nil)
}

// mdmfVector is a 10-element write vector in the shape the MDMF publisher
// sends, with one exact duplicate element and a gap of 1402 bytes.
func mdmfVector() []sharestore.DataVector {
	r := strings.Repeat
	return []sharestore.DataVector{
		dv(0, r("i", 41)),
		dv(41, r("j", 59)),
		dv(0, r("i", 41)),
		dv(100, r("k", 200)),
		dv(300, r("l", 100)),
		dv(1802, r("m", 50)),
		dv(1852, r("n", 10)),
		dv(1862, "o"),
		dv(1863, r("p", 137)),
		dv(2000, r("q", 221)),
	}
}

// Scenario 13 (Tahoe test_writev, data results only): a sequence of
// writes that grow, overwrite and gap-fill a share, an MDMF vector with a
// duplicate element, deletion, and the same vector on the absent share.
// Every call returns the data as it was before the call.
func testMutWritev(e *env) {
	si, we := e.anySI(), e.we()
	r := strings.Repeat
	var cur []byte
	exists := false
	step := func(name string, writes []sharestore.DataVector, newLength *int64, want []byte) {
		e.t.Helper()
		wantReads := map[int][][]byte{}
		if exists {
			wantReads[0] = [][]byte{cur}
		}
		e.expectTARW(si, we, []sharestore.TestAndWrite{{Shnum: 0, Writes: writes, NewLength: newLength}}, []sharestore.ReadRange{rr(0, 3000)}, true, wantReads)
		if newLength != nil && *newLength == 0 {
			cur, exists = nil, false
			e.expectAbsent(si, 0)
			return
		}
		got := applyWrites(cur, writes, newLength)
		if !bytes.Equal(got, want) {
			e.t.Fatalf("suite bug: step %s model gives %d bytes", name, len(got))
		}
		cur, exists = want, true
		e.expectMutable(si, 0, we, want)
	}
	step("a*10", []sharestore.DataVector{dv(0, r("a", 10))}, nil, []byte(r("a", 10)))
	step("b*18 at 20", []sharestore.DataVector{dv(20, r("b", 18))}, nil, []byte(r("a", 10)+r("\x00", 10)+r("b", 18)))
	step("c at 1038", []sharestore.DataVector{dv(1038, "c")}, nil, []byte(r("a", 10)+r("\x00", 10)+r("b", 18)+r("\x00", 1000)+"c"))
	step("d*1038", []sharestore.DataVector{dv(0, r("d", 1038))}, nil, []byte(r("d", 1038)+"c"))
	step("a*54 at 2167", []sharestore.DataVector{dv(2167, r("a", 54))}, nil, []byte(r("d", 1038)+"c"+r("\x00", 1128)+r("a", 54)))
	if len(cur) != 2221 {
		e.t.Fatalf("suite bug: data is %d bytes", len(cur))
	}
	mdmf := mdmfVector()
	step("mdmf", mdmf, nil, applyWrites(cur, mdmf, nil))
	if !bytes.Equal(cur[400:1802], []byte(r("d", 638)+"c"+r("\x00", 763))) {
		e.t.Fatalf("suite bug: untouched range")
	}
	step("delete", nil, ptr(0), nil)
	want := applyWrites(nil, mdmf, nil)
	if !bytes.Equal(want[400:1802], make([]byte, 1402)) {
		e.t.Fatal("suite bug: gap")
	}
	step("mdmf on absent share", mdmf, nil, want)
}

// A planted v2 container with an extra lease is read and written
// correctly: its data excludes the lease, and after a write that grows it
// the header stays consistent.
func testMutPlantedV2(e *env) {
	si, we := e.anySI(), e.we()
	c := fixture.Mutable{Version: 2, WriteEnabler: we, Data: []byte("hello world"), ExtraLeases: 1}.Bytes()
	e.put(si, 0, c)
	s := e.share(si, 0)
	if s.Type != sharestore.ShareTypeMutable || s.Version != 2 || s.DataLength != 11 || s.Size != int64(len(c)) {
		e.t.Fatalf("Share = %+v", s)
	}
	e.expectTARW(si, we, []sharestore.TestAndWrite{{Shnum: 0, Tests: []sharestore.TestVector{tv(0, 100, sharestore.OpEQ, "hello world")}, Writes: []sharestore.DataVector{dv(11, " and more")}}},
		[]sharestore.ReadRange{rr(0, 200)}, true, map[int][][]byte{0: rv("hello world")})
	e.expectMutable(si, 0, we, []byte("hello world and more"))
	h, _, _ := fixture.ParseMutable(e.raw(si, 0))
	if h.Version != 2 {
		e.t.Errorf("a write changed the container version from 2 to %d", h.Version)
	}
	// Truncate, then write past the end: the gap is zeros, not old bytes.
	e.tarw(si, we, []sharestore.TestAndWrite{{Shnum: 0, NewLength: ptr(5)}}, nil)
	e.expectMutable(si, 0, we, []byte("hello"))
	e.tarw(si, we, []sharestore.TestAndWrite{{Shnum: 0, Writes: []sharestore.DataVector{dv(30, "X")}}}, nil)
	e.expectMutable(si, 0, we, append(append([]byte("hello"), make([]byte, 25)...), 'X'))
	_, _, err := e.b.Shareset(si).TestAndReadAndWrite(e.ctx, e.we(), nil, nil)
	expectBadWE(e, err, sharestore.NodeID{})
}

// A negative offset in a write, test or read vector is ErrInvalidArgument
// and changes nothing.
func testMutNegative(e *env) {
	si, we := e.anySI(), e.we()
	e.mutable(si, we, 0, []byte("abc"))
	before := e.raw(si, 0)
	cases := []struct {
		tw    []sharestore.TestAndWrite
		reads []sharestore.ReadRange
	}{
		{[]sharestore.TestAndWrite{{Shnum: 0, Writes: []sharestore.DataVector{dv(-1, "x")}}}, nil},
		{[]sharestore.TestAndWrite{{Shnum: 1, Writes: []sharestore.DataVector{dv(-1, "x")}}}, nil},
		{[]sharestore.TestAndWrite{{Shnum: 0, Tests: []sharestore.TestVector{tv(-1, 1, sharestore.OpEQ, "")}, Writes: []sharestore.DataVector{dv(0, "x")}}}, nil},
		{[]sharestore.TestAndWrite{{Shnum: 0, Writes: []sharestore.DataVector{dv(0, "x")}}}, []sharestore.ReadRange{rr(-1, 1)}},
		{[]sharestore.TestAndWrite{{Shnum: 0, Writes: []sharestore.DataVector{dv(0, "x")}}}, []sharestore.ReadRange{rr(0, -1)}},
	}
	for i, c := range cases {
		_, _, err := e.b.Shareset(si).TestAndReadAndWrite(e.ctx, we, c.tw, c.reads)
		mustErr(e.t, err, sharestore.ErrInvalidArgument, fmt.Sprintf("case %d", i))
		if got := e.raw(si, 0); !bytes.Equal(got, before) {
			e.t.Fatalf("case %d changed share 0 to %s", i, clipq(got))
		}
		e.expectAbsent(si, 1)
	}
}

// One call writes several shares; if any share's test fails, no share is
// written.
func testMutAllOrNothing(e *env) {
	si, we := e.anySI(), e.we()
	e.expectTARW(si, we, []sharestore.TestAndWrite{
		{Shnum: 0, Writes: []sharestore.DataVector{dv(0, "zero")}},
		{Shnum: 1, Writes: []sharestore.DataVector{dv(0, "one")}},
		{Shnum: 2, Writes: []sharestore.DataVector{dv(0, "two")}},
	}, nil, true, map[int][][]byte{})
	e.expectShnums(si, []int{0, 1, 2}, nil)
	e.expectTARW(si, we, []sharestore.TestAndWrite{
		{Shnum: 0, Tests: []sharestore.TestVector{tv(0, 4, sharestore.OpEQ, "zero")}, Writes: []sharestore.DataVector{dv(0, "ZERO")}},
		{Shnum: 1, Tests: []sharestore.TestVector{tv(0, 3, sharestore.OpEQ, "one")}, Writes: []sharestore.DataVector{dv(0, "ONE")}},
		{Shnum: 2, Tests: []sharestore.TestVector{tv(0, 3, sharestore.OpEQ, "TWO")}, Writes: []sharestore.DataVector{dv(0, "TWO")}},
		{Shnum: 3, Writes: []sharestore.DataVector{dv(0, "three")}},
	}, []sharestore.ReadRange{rr(0, 4)}, false, map[int][][]byte{0: rv("zero"), 1: rv("one"), 2: rv("two")})
	e.expectMutable(si, 0, we, []byte("zero"))
	e.expectMutable(si, 1, we, []byte("one"))
	e.expectMutable(si, 2, we, []byte("two"))
	e.expectAbsent(si, 3)
	// Several tests on one share must all pass.
	e.expectTARW(si, we, []sharestore.TestAndWrite{
		{Shnum: 0, Tests: []sharestore.TestVector{tv(0, 1, sharestore.OpEQ, "z"), tv(1, 1, sharestore.OpEQ, "X")}, Writes: []sharestore.DataVector{dv(0, "ZERO")}},
	}, nil, false, map[int][][]byte{0: {}, 1: {}, 2: {}})
	e.expectMutable(si, 0, we, []byte("zero"))
}

// A mutable share of several chunks is patched across a chunk boundary,
// shrunk to half a chunk and grown past its old end: the data is right at
// every step, the listing size agrees with Share and OpenRaw, and no stale
// bytes from the old chunks show through.
func testMutChunks(e *env) {
	si, we := e.anySI(), e.we()
	k := int64(e.chunk())
	cur := e.bytes(int(2*k + k/2))
	// The second chunk boundary, as a data offset, and a patch across it.
	boundary, patch := 2*k-fixture.MutableDataOffset, min(1000, k)
	e.mutable(si, we, 0, cur)
	e.expectMutable(si, 0, we, cur)
	for _, step := range []struct {
		writes    []sharestore.DataVector
		newLength *int64
	}{
		{[]sharestore.DataVector{{Offset: boundary - patch/2, Data: e.bytes(int(patch))}}, nil},
		{nil, ptr(k / 2)},
		{[]sharestore.DataVector{{Offset: 3 * k, Data: []byte("tail")}}, nil},
		{[]sharestore.DataVector{{Offset: 10, Data: []byte("head")}}, ptr(k + 1)},
	} {
		ok, reads := e.tarw(si, we, []sharestore.TestAndWrite{{Shnum: 0, Writes: step.writes, NewLength: step.newLength}}, []sharestore.ReadRange{{Offset: 0, Length: 4 * k}})
		if !ok || len(reads[0]) != 1 || !bytes.Equal(reads[0][0], cur) {
			e.t.Fatalf("TestAndReadAndWrite = %v, reads of %d bytes; want true and the %d bytes before the call", ok, len(reads[0]), len(cur))
		}
		cur = applyWrites(cur, step.writes, step.newLength)
		e.expectMutable(si, 0, we, cur)
		e.expectListing(si.Prefix(), []listed{{si, 0, e.share(si, 0).Size}})
	}
}
