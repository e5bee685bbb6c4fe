package conformance

import (
	"errors"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/conformance/fixture"
)

func classificationTests() []test {
	return []test{
		{name: "ValidContainers", writes: true, fn: testValidContainers},
		{name: "CorruptContainers", writes: true, fn: testCorruptContainers},
		{name: "Scenario5Version0AmongValid", writes: true, fn: testScenario5},
		{name: "SharesSortedWithCorrupt", writes: true, fn: testSharesSorted},
		{name: "ShareMissing", writes: true, fn: testShareMissing},
	}
}

type validCase struct {
	name      string
	container []byte
	typ       sharestore.ShareType
	version   int
	data      []byte
}

func validCases(e *env) []validCase {
	d := func(n int) []byte { return e.bytes(n) }
	var cases []validCase
	add := func(name string, typ sharestore.ShareType, version int, data, container []byte) {
		cases = append(cases, validCase{name, container, typ, version, data})
	}
	x := d(100)
	add("ImmutableV1", sharestore.ShareTypeImmutable, 1, x, fixture.ImmutableV1(x))
	x = []byte("a")
	add("ImmutableV1OneLease", sharestore.ShareTypeImmutable, 1, x, fixture.Immutable{Version: 1, LengthField: 1, Data: x, Leases: 1}.Bytes())
	x = d(300)
	add("ImmutableV1ThreeLeases", sharestore.ShareTypeImmutable, 1, x, fixture.Immutable{Version: 1, LengthField: 0, Data: x, Leases: 3}.Bytes())
	x = d(50)
	add("ImmutableV1MaxLengthField", sharestore.ShareTypeImmutable, 1, x, fixture.Immutable{Version: 1, LengthField: 1<<32 - 1, Data: x}.Bytes())
	add("ImmutableV1Empty", sharestore.ShareTypeImmutable, 1, nil, fixture.ImmutableV1(nil))
	x = d(200)
	add("ImmutableV2", sharestore.ShareTypeImmutable, 2, x, fixture.ImmutableV2(x))
	x = d(10)
	add("ImmutableV2TwoLeases", sharestore.ShareTypeImmutable, 2, x, fixture.Immutable{Version: 2, LengthField: 10, Data: x, Leases: 2}.Bytes())
	x = d(123)
	add("MutableV1", sharestore.ShareTypeMutable, 1, x, fixture.Mutable{Version: 1, WriteEnabler: e.we(), Data: x}.Bytes())
	add("MutableV1Empty", sharestore.ShareTypeMutable, 1, nil, fixture.Mutable{Version: 1}.Bytes())
	x = d(40)
	add("MutableV1ExtraLeases", sharestore.ShareTypeMutable, 1, x, fixture.Mutable{Version: 1, Data: x, ExtraLeases: 2}.Bytes())
	x = d(77)
	add("MutableV2", sharestore.ShareTypeMutable, 2, x, fixture.Mutable{Version: 2, NodeID: sharestore.NodeID{1, 2, 3}, Data: x}.Bytes())
	x = d(5)
	add("MutableV2ExtraLeases", sharestore.ShareTypeMutable, 2, x, fixture.Mutable{Version: 2, Data: x, ExtraLeases: 1}.Bytes())
	return cases
}

// Valid containers of every kind and version are classified from their
// headers with the exact data length, and their
// data reads back without header or lease bytes.
func testValidContainers(e *env) {
	cases := validCases(e)
	si := e.anySI()
	var want []int
	for shnum, c := range cases {
		e.put(si, shnum, c.container)
		want = append(want, shnum)
	}
	all := e.expectShnums(si, want, nil)
	for shnum, c := range cases {
		e.run(c.name, func(e *env) {
			t := e.t
			for _, s := range []sharestore.Share{all[shnum], e.share(si, shnum)} {
				if s.Type != c.typ || s.Version != c.version || s.DataLength != int64(len(c.data)) || s.Size != int64(len(c.container)) {
					t.Errorf("share %d = {Type %v, Version %d, DataLength %d, Size %d}, want {%v, %d, %d, %d}",
						shnum, s.Type, s.Version, s.DataLength, s.Size, c.typ, c.version, len(c.data), len(c.container))
				}
				if s.UsedSpace < 0 {
					t.Errorf("share %d UsedSpace = %d", shnum, s.UsedSpace)
				}
			}
			got, err := e.b.Shareset(si).ReadShareData(e.ctx, shnum, 0, int64(len(c.data))+500)
			if err != nil {
				t.Fatalf("ReadShareData: %v", err)
			}
			if string(got) != string(c.data) {
				t.Errorf("ReadShareData = %s, want %s", clipq(got), clipq(c.data))
			}
		})
	}
}

// Every unparseable container is reported by shnum in Shares' corrupt list,
// is ErrCorrupt from Share and ReadShareData, still shows in listings, and
// can be read raw.
func testCorruptContainers(e *env) {
	for _, c := range fixture.CorruptContainers() {
		e.run(c.Name, func(e *env) {
			t := e.t
			si := e.anySI()
			good := fixture.ImmutableV1([]byte("good"))
			e.put(si, 0, good)
			e.put(si, 4, c.Bytes)
			s, corrupt, err := e.b.Shareset(si).Shares(e.ctx)
			if err != nil {
				t.Fatalf("Shares: %v", err)
			}
			if len(s) != 1 || s[0].Shnum != 0 || !intsEqual(corrupt, []int{4}) {
				t.Fatalf("Shares = %d valid (first %+v), corrupt %v; want valid [0], corrupt [4]", len(s), s, corrupt)
			}
			_, err = e.b.Shareset(si).Share(e.ctx, 4)
			mustErr(t, err, sharestore.ErrCorrupt, "Share of a corrupt share")
			_, err = e.b.Shareset(si).ReadShareData(e.ctx, 4, 0, 10)
			mustErr(t, err, sharestore.ErrCorrupt, "ReadShareData of a corrupt share")
			if got := e.raw(si, 4); string(got) != string(c.Bytes) {
				t.Fatalf("OpenRaw = %s, want %s", clipq(got), clipq(c.Bytes))
			}
			e.expectListingOf(si, []listed{{si, 0, int64(len(good))}, {si, 4, int64(len(c.Bytes))}})
		})
	}
}

// corruptNamed returns the corrupt fixture with the given name.
func corruptNamed(e *env, name string) []byte {
	for _, c := range fixture.CorruptContainers() {
		if c.Name == name {
			return c.Bytes
		}
	}
	e.t.Fatalf("suite bug: no corrupt fixture %q", name)
	return nil
}

// Scenario 5 (Tahoe test_bad_container_version): a version-0 immutable
// share is reported as corrupt and the other share is returned; once the
// other is deleted, no valid share remains.
func testScenario5(e *env) {
	si := e.anySI()
	e.put(si, 0, fixture.Immutable{Version: 0, LengthField: 1, Data: []byte("a")}.Bytes())
	e.put(si, 1, fixture.ImmutableV1([]byte("b")))
	e.expectShnums(si, []int{1}, []int{0})
	if err := e.b.Shareset(si).DeleteShare(e.ctx, 1, nil); err != nil {
		e.t.Fatalf("DeleteShare: %v", err)
	}
	e.expectShnums(si, nil, []int{0})
}

// Shares are sorted by numeric shnum and corrupt shnums are sorted ints.
func testSharesSorted(e *env) {
	si := e.anySI()
	bad := fixture.CorruptContainers()
	for i, shnum := range []int{100, 10, 2, 1, 0, 20} {
		e.put(si, shnum, fixture.ImmutableV1([]byte{byte(i)}))
	}
	e.put(si, 30, fixture.Mutable{Version: 1, Data: []byte("m")}.Bytes())
	for i, shnum := range []int{11, 3, 200} {
		e.put(si, shnum, bad[i].Bytes)
	}
	s := e.expectShnums(si, []int{0, 1, 2, 10, 20, 30, 100}, []int{3, 11, 200})
	if s[5].Type != sharestore.ShareTypeMutable || s[0].Type != sharestore.ShareTypeImmutable {
		e.t.Errorf("types: share 30 is %v, share 0 is %v", s[5].Type, s[0].Type)
	}
}

// A missing share is ErrNotFound from Share, ReadShareData and OpenRaw,
// both in an empty shareset and next to other shares.
func testShareMissing(e *env) {
	si := e.anySI()
	e.expectAbsent(si, 0)
	e.put(si, 1, fixture.ImmutableV1([]byte("x")))
	e.put(si, 10, fixture.ImmutableV1([]byte("y")))
	for _, shnum := range []int{0, 2, 11, 100} {
		e.expectAbsent(si, shnum)
	}
	if _, err := e.b.Shareset(si).Share(e.ctx, 1); errors.Is(err, sharestore.ErrNotFound) || err != nil {
		e.t.Fatalf("Share(1): %v", err)
	}
}
