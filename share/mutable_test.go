package share

import (
	"bytes"
	"context"
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/sharestore/sharestore"
)

func newBuf(t *testing.T) (*Buffer, Header) {
	b := &Buffer{B: NewMutable(1, sharestore.NodeID{}, sharestore.WriteEnabler{})}
	h, err := Classify(b.B, b.Size())
	if err != nil {
		t.Fatal(err)
	}
	return b, h
}

func data(t *testing.T, b *Buffer, h Header) []byte {
	t.Helper()
	got, err := ReadData(b, h, 0, 1<<40)
	if err != nil {
		t.Fatal(err)
	}
	h2, err := Classify(b.B[:min(len(b.B), HeaderReadSize)], b.Size())
	if err != nil || h2.DataLength != h.DataLength {
		t.Fatalf("header on disk disagrees: %+v %v", h2, err)
	}
	return got
}

func dv(off int64, s string) sharestore.DataVector {
	return sharestore.DataVector{Offset: off, Data: []byte(s)}
}

func i64(v int64) *int64 { return &v }

// Tahoe test_writev: the data after each step (scenario 13 of
// docs/scenarios.md).
func TestWritevSequence(t *testing.T) {
	b, h := newBuf(t)
	steps := []struct {
		w    []sharestore.DataVector
		want string
	}{
		{[]sharestore.DataVector{dv(0, strings.Repeat("a", 10))}, strings.Repeat("a", 10)},
		{[]sharestore.DataVector{dv(20, strings.Repeat("b", 18))}, strings.Repeat("a", 10) + strings.Repeat("\x00", 10) + strings.Repeat("b", 18)},
		{[]sharestore.DataVector{dv(1038, "c")}, strings.Repeat("a", 10) + strings.Repeat("\x00", 10) + strings.Repeat("b", 18) + strings.Repeat("\x00", 1000) + "c"},
		{[]sharestore.DataVector{dv(0, strings.Repeat("d", 1038))}, strings.Repeat("d", 1038) + "c"},
		{[]sharestore.DataVector{dv(2167, strings.Repeat("a", 54))}, strings.Repeat("d", 1038) + "c" + strings.Repeat("\x00", 1128) + strings.Repeat("a", 54)},
	}
	var err error
	for i, s := range steps {
		if h, err = ApplyMutableWrites(b, h, s.w, nil); err != nil {
			t.Fatal(err)
		}
		if got := data(t, b, h); string(got) != s.want {
			t.Fatalf("step %d: got %d bytes, want %d", i, len(got), len(s.want))
		}
	}
	// duplicate identical elements (MDMF publisher 1.9.0) are harmless
	dup := []sharestore.DataVector{dv(0, strings.Repeat("i", 41)), dv(0, strings.Repeat("i", 41))}
	if h, err = ApplyMutableWrites(b, h, dup, nil); err != nil {
		t.Fatal(err)
	}
	if got := data(t, b, h); !bytes.HasPrefix(got, bytes.Repeat([]byte("i"), 41)) || len(got) != 2221 {
		t.Fatalf("dup: %d", len(got))
	}
}

// Tahoe test_container_size.
func TestContainerSize(t *testing.T) {
	b, h := newBuf(t)
	var err error
	d := "0123456789abcdefghij" + strings.Repeat("x", 80) // 100 bytes
	if h, err = ApplyMutableWrites(b, h, []sharestore.DataVector{dv(0, d)}, i64(int64(len(d)+12))); err != nil {
		t.Fatal(err)
	}
	if got := data(t, b, h); string(got) != d {
		t.Fatalf("len+12 changed data: %d", len(got))
	}
	before := append([]byte(nil), b.B...)
	_, err = ApplyMutableWrites(b, h, []sharestore.DataVector{dv(MaxMutableShareSize+10, "x")}, nil)
	if !errors.Is(err, sharestore.ErrOutOfRange) || !bytes.Equal(before, b.B) {
		t.Fatalf("too large: %v", err)
	}
	if h, err = ApplyMutableWrites(b, h, nil, i64(9)); err != nil || string(data(t, b, h)) != d[:9] {
		t.Fatalf("truncate 9: %v", err)
	}
	if h, err = ApplyMutableWrites(b, h, nil, i64(20)); err != nil || string(data(t, b, h)) != d[:9] {
		t.Fatalf("new_length 20 extended: %v", err)
	}
	// Truncate to 20 from a longer share, then write at 50: 20..50 are zeros.
	b, h = newBuf(t)
	h, _ = ApplyMutableWrites(b, h, []sharestore.DataVector{dv(0, d)}, nil)
	h, _ = ApplyMutableWrites(b, h, nil, i64(20))
	if h, err = ApplyMutableWrites(b, h, []sharestore.DataVector{dv(50, "z")}, nil); err != nil {
		t.Fatal(err)
	}
	got := data(t, b, h)
	if string(got[:20]) != d[:20] || !bytes.Equal(got[20:50], make([]byte, 30)) || string(got[50:]) != "z" {
		t.Fatalf("gap not zero-filled: %q", got)
	}
}

func TestLeaseBlockMovesWithGrowth(t *testing.T) {
	b, h := newBuf(t)
	// give it one extra lease with owner 5
	b.B = append(b.B[:468], 0, 0, 0, 1)
	rec := make([]byte, 92)
	rec[3] = 5
	b.B = append(b.B, rec...)
	h.Size = b.Size()
	var err error
	if h, err = ApplyMutableWrites(b, h, []sharestore.DataVector{dv(0, "hello world")}, nil); err != nil {
		t.Fatal(err)
	}
	if h.ExtraLeaseOffset != 468+11 {
		t.Fatalf("elo %d", h.ExtraLeaseOffset)
	}
	ls, err := Leases(b, h)
	if err != nil || len(ls) != 1 || ls[0].Owner != 5 {
		t.Fatalf("leases after move: %+v %v", ls, err)
	}
	if string(data(t, b, h)) != "hello world" {
		t.Fatal("data")
	}
}

// memSlot is an in-memory SlotStore for testing the slot algorithm.
type memSlot struct {
	files map[int]*Buffer
}

func (m *memSlot) Shares(ctx context.Context) ([]sharestore.Share, []int, error) {
	var out []sharestore.Share
	var bad []int
	for n, f := range m.files {
		h, err := Classify(f.B[:min(len(f.B), HeaderReadSize)], f.Size())
		if err != nil {
			bad = append(bad, n)
			continue
		}
		out = append(out, sharestore.Share{ShareInfo: sharestore.ShareInfo{Shnum: n, Size: f.Size()}, Type: h.Type, Version: h.Version, DataLength: h.DataLength})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Shnum < out[j].Shnum })
	sort.Ints(bad)
	return out, bad, nil
}
func (m *memSlot) Open(ctx context.Context, n int) (MutableFile, error) { return m.files[n], nil }
func (m *memSlot) Create(ctx context.Context, n int, c []byte) (MutableFile, error) {
	m.files[n] = &Buffer{B: append([]byte(nil), c...)}
	return m.files[n], nil
}
func (m *memSlot) Delete(ctx context.Context, n int) error { delete(m.files, n); return nil }

func TestSlotAlgorithm(t *testing.T) {
	ctx := context.Background()
	m := &memSlot{files: map[int]*Buffer{}}
	var we, other sharestore.WriteEnabler
	copy(we[:], "secret")
	copy(other[:], "wrong")
	tw := func(n int, tests []sharestore.TestVector, w ...sharestore.DataVector) sharestore.TestAndWrite {
		return sharestore.TestAndWrite{Shnum: n, Tests: tests, Writes: w}
	}
	ok, reads, err := TestAndReadAndWrite(ctx, m, SlotOptions{}, we, []sharestore.TestAndWrite{
		tw(0, nil, dv(0, "000000000011")), tw(1, nil, dv(0, "")), tw(2, nil)}, nil)
	if !ok || err != nil || len(reads) != 0 || len(m.files) != 3 {
		t.Fatalf("create: %v %v %v", ok, reads, err)
	}
	if m.files[2].Size() != 472 {
		t.Fatalf("empty share is %d bytes", m.files[2].Size())
	}
	// wrong write enabler
	_, _, err = TestAndReadAndWrite(ctx, m, SlotOptions{}, other, []sharestore.TestAndWrite{tw(0, nil, dv(0, "zz"))}, nil)
	if !errors.Is(err, sharestore.ErrPermissionDenied) || !strings.Contains(err.Error(), "The write enabler was recorded by nodeid 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'.") {
		t.Fatalf("bad WE: %v", err)
	}
	// failing test: returns reads of all shares, writes nothing (scenario 12)
	ok, reads, err = TestAndReadAndWrite(ctx, m, SlotOptions{}, we,
		[]sharestore.TestAndWrite{tw(0, []sharestore.TestVector{{Offset: 10, Length: 5, Op: sharestore.OpEQ, Specimen: []byte("12")}}, dv(0, "x"))},
		[]sharestore.ReadRange{{Offset: 0, Length: 12}, {Offset: 10, Length: 5}})
	if ok || err != nil {
		t.Fatalf("test should fail: %v %v", ok, err)
	}
	if string(reads[0][0]) != "000000000011" || string(reads[0][1]) != "11" || len(reads[1]) != 2 || len(reads[1][0]) != 0 || len(reads) != 3 {
		t.Fatalf("reads %v", reads)
	}
	// reads are taken before writes; new_length 0 deletes (scenario 11)
	ok, reads, err = TestAndReadAndWrite(ctx, m, SlotOptions{}, we,
		[]sharestore.TestAndWrite{{Shnum: 0, NewLength: i64(0)}}, []sharestore.ReadRange{{Offset: 0, Length: 2}})
	if !ok || err != nil || string(reads[0][0]) != "00" || len(reads) != 3 {
		t.Fatalf("delete: %v %v %v", ok, reads, err)
	}
	if _, exists := m.files[0]; exists {
		t.Fatal("share 0 not deleted")
	}
	// corrupt share matches no test and cannot be written
	m.files[5] = &Buffer{B: []byte("garbage!garbage!")}
	ok, _, err = TestAndReadAndWrite(ctx, m, SlotOptions{}, we,
		[]sharestore.TestAndWrite{tw(5, []sharestore.TestVector{{Offset: 0, Length: 1, Op: sharestore.OpNE, Specimen: []byte("q")}})}, nil)
	if ok || err != nil {
		t.Fatalf("corrupt test: %v %v", ok, err)
	}
	_, _, err = TestAndReadAndWrite(ctx, m, SlotOptions{}, we, []sharestore.TestAndWrite{tw(5, nil, dv(0, "x"))}, nil)
	if !errors.Is(err, sharestore.ErrCorrupt) {
		t.Fatalf("write corrupt: %v", err)
	}
	// missing share compares as empty
	for op, want := range map[sharestore.TestOp]bool{"eq": true, "ne": false, "lt": false, "le": true, "ge": true, "gt": false} {
		ok, _, err = TestAndReadAndWrite(ctx, m, SlotOptions{}, we,
			[]sharestore.TestAndWrite{{Shnum: 9, Tests: []sharestore.TestVector{{Offset: 0, Length: 3, Op: op, Specimen: nil}}, NewLength: i64(0)}}, nil)
		if ok != want || err != nil {
			t.Errorf("missing share %s \"\": %v %v", op, ok, err)
		}
	}
	// invalid requests
	for _, bad := range [][]sharestore.TestAndWrite{
		{{Shnum: -1}},
		{{Shnum: 1}, {Shnum: 1}},
		{{Shnum: 1, Tests: []sharestore.TestVector{{Op: "xx"}}}},
		{{Shnum: 1, Writes: []sharestore.DataVector{{Offset: -1}}}},
	} {
		if _, _, err := TestAndReadAndWrite(ctx, m, SlotOptions{}, we, bad, nil); !errors.Is(err, sharestore.ErrInvalidArgument) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}

func TestCompareOperators(t *testing.T) {
	stored := []byte("11111")
	cases := []struct {
		op   sharestore.TestOp
		spec string
		want bool
	}{
		{"lt", "11110", false}, {"lt", "11111", false}, {"lt", "11112", true},
		{"le", "11110", false}, {"le", "11111", true}, {"le", "11112", true},
		{"eq", "11112", false}, {"eq", "11111", true},
		{"ne", "11111", false}, {"ne", "11112", true},
		{"ge", "11110", true}, {"ge", "11111", true}, {"ge", "11112", false},
		{"gt", "11110", true}, {"gt", "11111", false}, {"gt", "11112", false},
		{"lt", "2", true}, {"gt", "1111", true},
	}
	for _, c := range cases {
		if got := Compare(stored, c.op, []byte(c.spec)); got != c.want {
			t.Errorf("11111 %s %s = %v", c.op, c.spec, got)
		}
	}
}
