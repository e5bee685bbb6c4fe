package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/conformance/fixture"
)

func listingTests() []test {
	return []test{
		{name: "EmptyPrefix", fn: testListEmptyPrefix},
		{name: "InvalidPrefix", fn: testListInvalidPrefix},
		{name: "OrderNumericShnum", writes: true, fn: testListOrder},
		{name: "SizesAreContainerLengths", writes: true, fn: testListSizes},
		{name: "Completeness300", writes: true, fn: testListCompleteness},
		{name: "Scenario19PastOnePage", writes: true, fn: testListPastOnePage},
		{name: "CallbackErrorStopsWalk", writes: true, fn: testListCallbackError},
		{name: "IgnoresNonNumericNames", writes: true, fn: testListNonNumeric},
		{name: "IgnoresStrayObjects", writes: true, fn: testListStray},
		{name: "IgnoresInvalidStorageIndexNames", writes: true, fn: testListInvalidSI},
		{name: "IgnoresFileNamedLikeStorageIndex", writes: true, fn: testListSIFile},
		{name: "SharesetsForPrefixSorted", writes: true, fn: testSharesetsSorted},
		{name: "PrefixIsolation", writes: true, fn: testPrefixIsolation},
	}
}

// A prefix with no shares lists nothing and is not an error.
func testListEmptyPrefix(e *env) {
	for _, p := range []sharestore.Prefix{"22", "aa", "zz"} {
		e.expectListing(p, nil)
		e.expectSharesets(p, nil)
	}
}

// An invalid prefix is ErrInvalidArgument for ListPrefix and
// SharesetsForPrefix; the callback is never called.
func testListInvalidPrefix(e *env) {
	for _, p := range []sharestore.Prefix{"", "a", "aaa", "AA", "a1", "a8", "..", "./", "a/", "a\x00", "i"} {
		e.run(fmt.Sprintf("%q", p), func(e *env) {
			t := e.t
			called := false
			err := e.b.ListPrefix(e.ctx, p, func(sharestore.ShareInfo) error { called = true; return nil })
			mustErr(t, err, sharestore.ErrInvalidArgument, fmt.Sprintf("ListPrefix(%q)", p))
			if called {
				t.Errorf("ListPrefix(%q) called the callback", p)
			}
			_, err = e.b.SharesetsForPrefix(e.ctx, p)
			mustErr(t, err, sharestore.ErrInvalidArgument, fmt.Sprintf("SharesetsForPrefix(%q)", p))
		})
	}
}

// ListPrefix reports shares in (SI, shnum) order with shnums in numeric
// order (1, 2, 10, not "1", "10", "2"), whatever order they were stored in.
func testListOrder(e *env) {
	p := sharestore.Prefix("aa")
	sis := []sharestore.StorageIndex{e.si(p), e.si(p), e.si(p)}
	var want []listed
	for i, si := range sis {
		for _, shnum := range []int{10, 2, 100, 1} {
			c := fixture.ImmutableV1(e.bytes(shnum + i))
			e.put(si, shnum, c)
			want = append(want, listed{si, shnum, int64(len(c))})
		}
	}
	sortListed(want)
	e.expectListing(p, want)
}

// ListPrefix sizes are the container lengths (header, data and leases),
// for every kind of container, corrupt ones included (the listing does not
// open shares).
func testListSizes(e *env) {
	p := sharestore.Prefix("sg")
	si := e.si(p)
	containers := [][]byte{
		fixture.ImmutableV1(e.bytes(100)),
		fixture.Immutable{Version: 1, LengthField: 5, Data: e.bytes(5), Leases: 3}.Bytes(),
		fixture.ImmutableV2(e.bytes(1000)),
		fixture.Mutable{Version: 1, Data: e.bytes(77)}.Bytes(),
		fixture.Mutable{Version: 2, Data: e.bytes(33), ExtraLeases: 2}.Bytes(),
		fixture.CorruptContainers()[0].Bytes,
		{},
	}
	var want []listed
	for shnum, c := range containers {
		e.put(si, shnum, c)
		want = append(want, listed{si, shnum, int64(len(c))})
	}
	e.expectListing(p, want)
}

// Every one of 300 shares (60 SIs × 5 shnums) in one prefix is listed
// exactly once, in order; neighbouring prefixes do not leak in.
func testListCompleteness(e *env) {
	p := sharestore.Prefix("b4")
	var want []listed
	var sis []sharestore.StorageIndex
	for i := 0; i < 60; i++ {
		si := e.si(p)
		sis = append(sis, si)
		for j := 0; j < 5; j++ {
			shnum := j * 3
			c := fixture.ImmutableV1(e.bytes(i%7 + j))
			e.put(si, shnum, c)
			want = append(want, listed{si, shnum, int64(len(c))})
		}
	}
	for _, q := range []sharestore.Prefix{"b3", "b5"} {
		e.put(e.si(q), 0, fixture.ImmutableV1([]byte("neighbour")))
	}
	sortListed(want)
	e.expectListing(p, want)
	sortSIs(sis)
	e.expectSharesets(p, sis)
}

// listPage is the number of keys in one page of an S3 or GCS listing.
const listPage = 1000

// Scenario 19: a prefix with one share more than a listing page holds,
// each in a shareset of its own, is listed whole, and so are its storage
// indexes. An object store lists 1000 keys a page, and a listing that
// stops after its first page loses the rest without an error.
// pastOnePageTimeout bounds the writes of testListPastOnePage.
const pastOnePageTimeout = 10 * time.Minute

func testListPastOnePage(e *env) {
	p := sharestore.Prefix("c7")
	c := fixture.ImmutableV1([]byte("paged"))
	want := make([]listed, 0, listPage+1)
	sis := make([]sharestore.StorageIndex, 0, listPage+1)
	for range listPage + 1 {
		si := e.si(p)
		sis = append(sis, si)
		want = append(want, listed{si, 0, int64(len(c))})
	}
	// Stored by 16 writers at once, with a longer deadline than the
	// subtest's: a thousand writes to an emulator whose listings scan the
	// whole bucket (fake-gcs-server) take minutes on a loaded machine.
	ctx, cancel := context.WithTimeout(e.t.Context(), pastOnePageTimeout)
	defer cancel()
	long := *e
	long.ctx = ctx
	e = &long
	const writers = 16
	err := parallel(writers, func(w int) error {
		for i := w; i < len(sis); i += writers {
			if err := e.b.Shareset(sis[i]).PutRaw(ctx, 0, bytes.NewReader(c), int64(len(c))); err != nil {
				return fmt.Errorf("PutRaw(%s/0): %w", sis[i], err)
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	sortListed(want)
	sortSIs(sis)
	// Not expectListing: its message would quote a thousand entries.
	var got []sharestore.ShareInfo
	err = e.settle(func() (err error) {
		got, err = e.list(p)
		if err == nil {
			err = compareListing(got, want)
		}
		return err
	})
	if err != nil {
		e.t.Fatalf("ListPrefix(%q) of %d shares: %v (the first one missing is %s)", p, len(want), err, firstMissing(got, want))
	}
	var gotSIs []sharestore.StorageIndex
	err = e.settle(func() (err error) {
		gotSIs, err = e.b.SharesetsForPrefix(e.ctx, p)
		if err == nil && len(gotSIs) != len(sis) {
			err = fmt.Errorf("got %d storage indexes, want %d", len(gotSIs), len(sis))
		}
		for i := 0; err == nil && i < len(sis); i++ {
			if gotSIs[i] != sis[i] {
				err = fmt.Errorf("entry %d is %s, want %s", i, gotSIs[i], sis[i])
			}
		}
		return err
	})
	if err != nil {
		e.t.Fatalf("SharesetsForPrefix(%q) of %d storage indexes: %v", p, len(sis), err)
	}
}

// firstMissing names the first entry of want that got lacks, or says
// that none is missing.
func firstMissing(got []sharestore.ShareInfo, want []listed) string {
	have := map[sharestore.ShareID]bool{}
	for _, g := range got {
		have[g.ID()] = true
	}
	for _, w := range want {
		if id := (sharestore.ShareID{SI: w.si, Shnum: w.shnum}); !have[id] {
			return id.String()
		}
	}
	return "none"
}

// An error from the callback stops the walk at once and is returned
// unchanged.
func testListCallbackError(e *env) {
	p := sharestore.Prefix("cd")
	for i := 0; i < 3; i++ {
		si := e.si(p)
		e.put(si, 0, fixture.ImmutableV1([]byte("a")))
		e.put(si, 1, fixture.ImmutableV1([]byte("b")))
	}
	stop := errors.New("conformance: stop the walk")
	calls := 0
	err := e.b.ListPrefix(e.ctx, p, func(sharestore.ShareInfo) error {
		calls++
		return stop
	})
	if err != stop {
		e.t.Fatalf("ListPrefix returned %v (%T), want the callback's error unchanged", err, err)
	}
	if calls != 1 {
		e.t.Fatalf("callback called %d times after returning an error, want 1", calls)
	}
}

// Names in a shareset that are not decimal share numbers are ignored by
// ListPrefix, Shares and SharesetsForPrefix.
func testListNonNumeric(e *env) {
	p := sharestore.Prefix("ab")
	si := e.si(p)
	c := fixture.ImmutableV1([]byte("real"))
	e.put(si, 3, c)
	for _, name := range []string{"not-a-share", "ignore_me.txt", "x1", "1x", "-1", "+2"} {
		e.plant(fmt.Sprintf("shares/%s/%s/%s", p, si, name), fixture.ImmutableV1([]byte("planted")))
	}
	// An SI holding only non-share names has no shares.
	si2 := e.si(p)
	e.plant(fmt.Sprintf("shares/%s/%s/not-a-share", p, si2), []byte("junk"))
	e.expectListing(p, []listed{{si, 3, int64(len(c))}})
	e.expectShnums(si, []int{3}, nil)
	e.expectShnums(si2, nil, nil)
}

// Objects outside the share layout are never listed.
func testListStray(e *env) {
	p := sharestore.Prefix("ac")
	si := e.si(p)
	c := fixture.ImmutableV1([]byte("real"))
	e.put(si, 0, c)
	for _, key := range []string{
		"stray.txt",
		"shares/stray.txt",
		"shares/" + string(p) + "x/" + si.String() + "/1",
		"other/" + string(p) + "/" + si.String() + "/2",
		"shares/" + string(p) + "/" + si.String() + "/nested/4",
		"shares/" + string(p) + "/" + si.String() + "/5/6",
	} {
		e.plant(key, fixture.ImmutableV1([]byte("stray")))
	}
	e.expectListing(p, []listed{{si, 0, int64(len(c))}})
	e.expectSharesets(p, []sharestore.StorageIndex{si})
	e.expectShnums(si, []int{0}, nil)
	e.expectAbsent(si, 5)
}

// Entries in a prefix that are not storage indexes are ignored: a stray
// file in the prefix, and a directory (key component) that is not 26
// characters of base32.
func testListInvalidSI(e *env) {
	p := sharestore.Prefix("ad")
	si := e.si(p)
	c := fixture.ImmutableV1([]byte("real"))
	e.put(si, 0, c)
	e.plant("shares/"+string(p)+"/stray.txt", []byte("stray"))
	e.plant("shares/"+string(p)+"/"+string(p)+"notbase32!/0", fixture.ImmutableV1([]byte("x")))
	e.plant("shares/"+string(p)+"/"+string(p)+"AAAAAAAAAAAAAAAAAAAAAAAA/0", fixture.ImmutableV1([]byte("x")))
	e.expectListing(p, []listed{{si, 0, int64(len(c))}})
	e.expectSharesets(p, []sharestore.StorageIndex{si})
}

// SharesetsForPrefix returns the SIs with shares, sorted, whatever order
// they were stored in.
func testSharesetsSorted(e *env) {
	p := sharestore.Prefix("zz")
	var sis []sharestore.StorageIndex
	for i := 0; i < 12; i++ {
		si := e.si(p)
		sis = append(sis, si)
		e.put(si, i%3, fixture.ImmutableV1([]byte{byte(i)}))
	}
	sortSIs(sis)
	e.expectSharesets(p, sis)
}

// Every prefix of Prefixes() lists only its own SIs, and together the
// prefixes list every stored share exactly once.
func testPrefixIsolation(e *env) {
	planted := map[sharestore.Prefix][]listed{}
	for _, p := range []sharestore.Prefix{"22", "23", "27", "2a", "7z", "a7", "aa", "aa", "ab", "ba", "sg", "z7", "zz"} {
		si := e.si(p)
		c := fixture.ImmutableV1([]byte(p))
		e.put(si, 0, c)
		planted[p] = append(planted[p], listed{si, 0, int64(len(c))})
	}
	prefixes := sharestore.Prefixes()
	if e.opts.Short {
		prefixes = prefixes[:0]
		for p := range planted {
			prefixes = append(prefixes, p)
		}
		prefixes = append(prefixes, "24", "a2", "a6", "ac", "zy")
	}
	for _, p := range prefixes {
		want := planted[p]
		sortListed(want)
		e.expectListing(p, want)
	}
	for p, l := range planted {
		var sis []sharestore.StorageIndex
		for _, x := range l {
			sis = append(sis, x.si)
		}
		sortSIs(sis)
		e.expectSharesets(p, sis)
	}
}

// sortSIs sorts by the text form, as Tahoe's get_sharesets_for_prefix
// does.
func sortSIs(s []sharestore.StorageIndex) {
	sort.Slice(s, func(i, j int) bool { return s[i].String() < s[j].String() })
}

// An object named like a storage index directly in the prefix (a file on
// disk, where a shareset is a directory) holds no shares: it is not listed
// and does not break the listing of the real sharesets.
func testListSIFile(e *env) {
	p := sharestore.Prefix("ae")
	si := e.si(p)
	c := fixture.ImmutableV1([]byte("real"))
	e.put(si, 0, c)
	e.plant("shares/"+string(p)+"/"+e.si(p).String(), fixture.ImmutableV1([]byte("x")))
	e.expectListing(p, []listed{{si, 0, int64(len(c))}})
	e.expectSharesets(p, []sharestore.StorageIndex{si})
}
