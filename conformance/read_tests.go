package conformance

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/conformance/fixture"
)

func readTests() []test {
	return []test{
		{name: "Scenario4ClampImmutable", writes: true, fn: testScenario4},
		{name: "ClampMutable", writes: true, fn: testClampMutable},
		{name: "NegativeArguments", writes: true, fn: testReadNegative},
		{name: "MissingShare", writes: true, fn: testReadMissing},
		{name: "LargeShareRanges", writes: true, fn: testReadLarge},
		{name: "OpenRawExact", writes: true, fn: testOpenRawExact},
		{name: "PutRawReplaces", writes: true, fn: testPutRawReplaces},
		{name: "PutRawShortReader", writes: true, fn: testPutRawShort},
		{name: "PutRawLongReader", writes: true, fn: testPutRawLong},
		{name: "PutRawShortReaderKeepsOldShare", writes: true, fn: testPutRawShortKeepsOld},
		{name: "PutRawNegativeSize", writes: true, fn: testPutRawNegative},
	}
}

// Scenario 4 (Tahoe test_read_old_share): an immutable share with one
// lease holding "a" reads "a" for read(0, 74) and "" for read(2, 3).
func testScenario4(e *env) {
	si := e.anySI()
	c := fixture.Immutable{Version: 1, LengthField: 1, Data: []byte("a"), Leases: 1}.Bytes()
	if len(c) != 85 {
		e.t.Fatalf("suite bug: fixture is %d bytes, want 85", len(c))
	}
	e.put(si, 0, c)
	for _, r := range []struct {
		off, n int64
		want   string
	}{{0, 74, "a"}, {2, 3, ""}, {1, 10, ""}, {0, 1, "a"}, {0, 0, ""}, {1 << 40, 1, ""}, {0, 1 << 40, "a"}, {0, math.MaxInt64, "a"}, {1, math.MaxInt64, ""}, {math.MaxInt64, math.MaxInt64, ""}} {
		if got := e.read(si, 0, r.off, r.n); string(got) != r.want {
			e.t.Errorf("ReadShareData(%d, %d) = %q, want %q", r.off, r.n, got, r.want)
		}
	}
	if s := e.share(si, 0); s.DataLength != 1 || s.Size != 85 {
		e.t.Errorf("Share = DataLength %d, Size %d; want 1, 85", s.DataLength, s.Size)
	}
}

// Mutable reads clamp to the data length too (without overflowing
// offset+length), and never return the extra lease count or extra leases.
func testClampMutable(e *env) {
	si := e.anySI()
	data := []byte("0123456789")
	e.put(si, 0, fixture.Mutable{Version: 1, Data: data, ExtraLeases: 1}.Bytes())
	for _, r := range []struct {
		off, n int64
		want   string
	}{{0, 10, "0123456789"}, {0, 100, "0123456789"}, {5, 100, "56789"}, {9, 1, "9"}, {10, 5, ""}, {11, 5, ""}, {3, 0, ""}, {3, math.MaxInt64, "3456789"}, {math.MaxInt64 - 1, 2, ""}} {
		if got := e.read(si, 0, r.off, r.n); string(got) != r.want {
			e.t.Errorf("ReadShareData(%d, %d) = %q, want %q", r.off, r.n, got, r.want)
		}
	}
}

// A negative offset or length is ErrInvalidArgument.
func testReadNegative(e *env) {
	si := e.anySI()
	e.put(si, 0, fixture.ImmutableV1([]byte("abc")))
	for _, r := range [][2]int64{{-1, 1}, {0, -1}, {-1, -1}, {-1 << 62, 1}} {
		_, err := e.b.Shareset(si).ReadShareData(e.ctx, 0, r[0], r[1])
		mustErr(e.t, err, sharestore.ErrInvalidArgument, fmt.Sprintf("ReadShareData(%d, %d)", r[0], r[1]))
	}
}

// Reading a missing share is ErrNotFound.
func testReadMissing(e *env) {
	si := e.anySI()
	e.expectAbsent(si, 0)
	e.put(si, 1, fixture.ImmutableV1([]byte("abc")))
	e.expectAbsent(si, 0)
	e.expectAbsent(si, 10)
}

// A share of more than two chunks (Capabilities().ChunkSize, or 512 KiB)
// reads back exactly, in ranges that cross chunk boundaries, and raw.
func testReadLarge(e *env) {
	si := e.anySI()
	k := int64(e.chunk())
	data := e.bytes(int(2*k + k/5))
	c := fixture.ImmutableV1(data)
	e.put(si, 0, c)
	if s := e.share(si, 0); s.DataLength != int64(len(data)) || s.Size != int64(len(c)) {
		e.t.Fatalf("Share = DataLength %d, Size %d; want %d, %d", s.DataLength, s.Size, len(data), len(c))
	}
	for _, r := range [][2]int64{{0, 100}, {k - 12 - 5, 10}, {k - 12, 1}, {k - 100, 2*k + 200}, {2*k - 12, 7}, {int64(len(data)) - 3, 100}, {0, int64(len(data))}} {
		want := data[min(r[0], int64(len(data))):min(r[0]+r[1], int64(len(data)))]
		if got := e.read(si, 0, r[0], r[1]); !bytes.Equal(got, want) {
			e.t.Errorf("ReadShareData(%d, %d): got %d bytes, want %d (content differs: %v)", r[0], r[1], len(got), len(want), len(got) == len(want))
		}
	}
	if got := e.raw(si, 0); !bytes.Equal(got, c) {
		e.t.Errorf("OpenRaw returned %d bytes that differ from the %d stored", len(got), len(c))
	}
	e.expectListing(si.Prefix(), []listed{{si, 0, int64(len(c))}})
}

// OpenRaw returns exactly the stored bytes and size, for valid and corrupt
// shares; a missing share is ErrNotFound.
func testOpenRawExact(e *env) {
	si := e.anySI()
	cs := [][]byte{
		fixture.Immutable{Version: 1, LengthField: 3, Data: []byte("abc"), Leases: 2}.Bytes(),
		fixture.Mutable{Version: 2, WriteEnabler: e.we(), Data: e.bytes(1000), ExtraLeases: 1}.Bytes(),
	}
	for _, c := range fixture.CorruptContainers() {
		cs = append(cs, c.Bytes)
	}
	for shnum, c := range cs {
		e.put(si, shnum, c)
	}
	for shnum, c := range cs {
		if got := e.raw(si, shnum); !bytes.Equal(got, c) {
			e.t.Errorf("OpenRaw(%d) = %s, want %s", shnum, clipq(got), clipq(c))
		}
	}
	e.expectAbsent(si, len(cs))
}

// PutRaw replaces an existing share completely: a large share replaced by a
// small one leaves no trace of the large one (no stale chunks).
func testPutRawReplaces(e *env) {
	si := e.anySI()
	big := fixture.ImmutableV1(e.bytes(2*e.chunk() + 7))
	e.put(si, 0, big)
	small := fixture.Mutable{Version: 1, Data: []byte("small")}.Bytes()
	e.put(si, 0, small)
	if got := e.raw(si, 0); !bytes.Equal(got, small) {
		e.t.Fatalf("after replacing, OpenRaw = %s, want %s", clipq(got), clipq(small))
	}
	s := e.share(si, 0)
	if s.Type != sharestore.ShareTypeMutable || s.DataLength != 5 || s.Size != int64(len(small)) {
		e.t.Fatalf("after replacing, Share = %+v", s)
	}
	e.expectListing(si.Prefix(), []listed{{si, 0, int64(len(small))}})
	// And back to an immutable share of another size.
	again := fixture.ImmutableV2([]byte("again"))
	e.put(si, 0, again)
	e.expectData(si, 0, []byte("again"))
	e.expectListing(si.Prefix(), []listed{{si, 0, int64(len(again))}})
}

// PutRaw with a reader shorter than size fails with ErrInvalidArgument and
// stores nothing.
func testPutRawShort(e *env) {
	si := e.anySI()
	c := fixture.ImmutableV1(e.bytes(100))
	err := e.b.Shareset(si).PutRaw(e.ctx, 0, bytes.NewReader(c[:50]), int64(len(c)))
	mustErr(e.t, err, sharestore.ErrInvalidArgument, "PutRaw with a short reader")
	e.expectAbsent(si, 0)
	e.expectShnums(si, nil, nil)
	e.expectListing(si.Prefix(), nil)
}

// PutRaw with a reader longer than size fails with ErrInvalidArgument and
// stores nothing.
func testPutRawLong(e *env) {
	si := e.anySI()
	c := fixture.ImmutableV1(e.bytes(100))
	err := e.b.Shareset(si).PutRaw(e.ctx, 0, io.MultiReader(bytes.NewReader(c), strings.NewReader("extra")), int64(len(c)))
	mustErr(e.t, err, sharestore.ErrInvalidArgument, "PutRaw with a long reader")
	e.expectAbsent(si, 0)
	e.expectListing(si.Prefix(), nil)
}

// A failed PutRaw over an existing share leaves the old share intact.
func testPutRawShortKeepsOld(e *env) {
	si := e.anySI()
	old := fixture.ImmutableV1([]byte("old share"))
	e.put(si, 0, old)
	c := fixture.ImmutableV1(e.bytes(1000))
	err := e.b.Shareset(si).PutRaw(e.ctx, 0, bytes.NewReader(c[:999]), int64(len(c)))
	mustErr(e.t, err, sharestore.ErrInvalidArgument, "PutRaw with a short reader")
	if got := e.raw(si, 0); !bytes.Equal(got, old) {
		e.t.Fatalf("after a failed PutRaw, OpenRaw = %s, want the old %s", clipq(got), clipq(old))
	}
	e.expectListing(si.Prefix(), []listed{{si, 0, int64(len(old))}})
}

// PutRaw with a negative size is ErrInvalidArgument and stores nothing.
func testPutRawNegative(e *env) {
	si := e.anySI()
	err := e.b.Shareset(si).PutRaw(e.ctx, 0, strings.NewReader(""), -1)
	mustErr(e.t, err, sharestore.ErrInvalidArgument, "PutRaw with size -1")
	e.expectAbsent(si, 0)
}
