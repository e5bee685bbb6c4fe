package conformance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/conformance/fixture"
)

// The scan tests drive sharestore.Scan and sharestore.ReadHeaders, so a
// backend's own PrefixScanner or HeaderReader (a plugin's streams) is
// checked against the contract, and any other backend's fallback is too.
func scanTests() []test {
	return []test{
		{name: "MatchesListings", writes: true, fn: testScanMatches},
		{name: "InvalidFirstPrefix", fn: testScanInvalid},
		{name: "MaxAgeBoundsStaleness", writes: true, fn: testScanFresh},
		{name: "Canceled", fn: testScanCanceled},
		{name: "ReadHeadersMatchesShare", writes: true, fn: testReadHeaders},
		{name: "ReadHeadersNone", fn: testReadHeadersNone},
	}
}

// scanFrom is where the scan tests start: near the end, so a scan is a
// few dozen listings, not 1024.
const scanFrom = 1008

// scanAll runs a scan from scanFrom to the end and returns its listings.
func (e *env) scanAll(opts sharestore.ScanOptions) ([]sharestore.PrefixListing, error) {
	s, err := sharestore.Scan(e.ctx, e.b, sharestore.PrefixAt(scanFrom), opts)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	var out []sharestore.PrefixListing
	for {
		l, err := s.Next()
		if err == io.EOF {
			if _, err := s.Next(); err != io.EOF {
				return out, fmt.Errorf("Next after the end returned %v, want io.EOF", err)
			}
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, l)
	}
}

// A scan returns every prefix from the first to zz, in order, each with
// exactly what ListPrefix (or SharesetsForPrefix) reports, whatever it
// lists ahead.
func testScanMatches(e *env) {
	want := map[sharestore.Prefix][]listed{}
	for _, i := range []int{scanFrom, scanFrom + 3, sharestore.NumPrefixes - 1} {
		p := sharestore.PrefixAt(i)
		for k := 0; k < 3; k++ {
			si := e.si(p)
			for _, shnum := range []int{0, 7} {
				c := fixture.ImmutableV1(e.bytes(10 + k + shnum))
				e.put(si, shnum, c)
				want[p] = append(want[p], listed{si, shnum, int64(len(c))})
			}
		}
		sortListed(want[p])
	}
	for _, ahead := range []int{0, 1, 5} {
		for _, sharesets := range []bool{false, true} {
			e.run(fmt.Sprintf("ahead=%d/sharesets=%v", ahead, sharesets), func(e *env) {
				err := e.settle(func() error {
					got, err := e.scanAll(sharestore.ScanOptions{Ahead: ahead, Sharesets: sharesets})
					if err != nil {
						return err
					}
					if len(got) != sharestore.NumPrefixes-scanFrom {
						return fmt.Errorf("scan returned %d prefixes, want %d", len(got), sharestore.NumPrefixes-scanFrom)
					}
					for k, l := range got {
						p := sharestore.PrefixAt(scanFrom + k)
						if l.Prefix != p {
							return fmt.Errorf("listing %d is of prefix %q, want %q", k, l.Prefix, p)
						}
						if sharesets {
							if len(l.Shares) != 0 {
								return fmt.Errorf("prefix %s: a sharesets scan returned %d shares", p, len(l.Shares))
							}
							if err := compareSIs(l.Sharesets, sisOf(want[p])); err != nil {
								return fmt.Errorf("prefix %s: %v", p, err)
							}
							continue
						}
						if len(l.Sharesets) != 0 {
							return fmt.Errorf("prefix %s: a shares scan returned %d storage indexes", p, len(l.Sharesets))
						}
						if err := compareListing(l.Shares, want[p]); err != nil {
							return fmt.Errorf("prefix %s: %v\ngot:  %s\nwant: %s", p, err, fmtInfos(l.Shares), fmtListed(want[p]))
						}
					}
					return nil
				})
				if err != nil {
					e.t.Fatal(err)
				}
			})
		}
	}
}

func sisOf(l []listed) []sharestore.StorageIndex {
	var out []sharestore.StorageIndex
	for _, x := range l {
		if len(out) == 0 || out[len(out)-1] != x.si {
			out = append(out, x.si)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Compare(out[j]) < 0 })
	return out
}

func compareSIs(got, want []sharestore.StorageIndex) error {
	if len(got) != len(want) {
		return fmt.Errorf("got %d storage indexes %v, want %d %v", len(got), got, len(want), want)
	}
	for i := range got {
		if got[i] != want[i] {
			return fmt.Errorf("storage index %d is %s, want %s", i, got[i], want[i])
		}
	}
	return nil
}

// A scan cannot start at an invalid prefix.
func testScanInvalid(e *env) {
	for _, p := range []sharestore.Prefix{"", "a", "aaa", "AA", "a1"} {
		s, err := sharestore.Scan(e.ctx, e.b, p, sharestore.ScanOptions{Ahead: 2})
		if err == nil {
			s.Close()
		}
		mustErr(e.t, err, sharestore.ErrInvalidArgument, fmt.Sprintf("Scan(%q)", p))
	}
}

// A listing made ahead and older than MaxAge is never returned: a share
// stored after the scan started, in a prefix it may already have listed,
// is in that prefix's listing when MaxAge is tiny.
func testScanFresh(e *env) {
	last := sharestore.PrefixAt(sharestore.NumPrefixes - 1)
	s, err := sharestore.Scan(e.ctx, e.b, sharestore.PrefixAt(sharestore.NumPrefixes-4), sharestore.ScanOptions{Ahead: 8, MaxAge: 1})
	if err != nil {
		e.t.Fatal(err)
	}
	defer s.Close()
	first, err := s.Next()
	if err != nil {
		e.t.Fatal(err)
	}
	if first.Prefix != sharestore.PrefixAt(sharestore.NumPrefixes-4) {
		e.t.Fatalf("first listing is of %q", first.Prefix)
	}
	si := e.si(last)
	c := fixture.ImmutableV1(e.bytes(33))
	e.put(si, 4, c)
	var got sharestore.PrefixListing
	for got.Prefix != last {
		if got, err = s.Next(); err != nil {
			e.t.Fatal(err)
		}
	}
	if !e.caps.StrongListConsistency {
		return // a fresh listing may still miss the share
	}
	if err := compareListing(got.Shares, []listed{{si, 4, int64(len(c))}}); err != nil {
		e.t.Fatalf("listing of %s made after the share was stored: %v\ngot: %s", last, err, fmtInfos(got.Shares))
	}
}

// A scan stops when its context is canceled.
func testScanCanceled(e *env) {
	ctx, cancel := context.WithCancel(e.ctx)
	s, err := sharestore.Scan(ctx, e.b, "22", sharestore.ScanOptions{Ahead: 4})
	if err != nil {
		cancel()
		e.t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Next(); err != nil {
		e.t.Fatalf("Next: %v", err)
	}
	cancel()
	for i := 0; ; i++ {
		_, err := s.Next()
		if err != nil {
			mustErr(e.t, err, context.Canceled, "Next after cancel")
			break
		}
		// Listings already made may be returned; a scan never runs on.
		if i > 16 {
			e.t.Fatal("scan went on after its context was canceled")
		}
	}
	if _, err := s.Next(); !errors.Is(err, context.Canceled) {
		e.t.Fatalf("Next after the scan ended: %v, want the same cancellation", err)
	}
}

// ReadHeaders reports, once for each share asked for, exactly what Share
// reports: a header, ErrCorrupt or ErrNotFound.
func testReadHeaders(e *env) {
	type want struct {
		share sharestore.Share
		err   error
	}
	wants := map[sharestore.ShareID]want{}
	var ids []sharestore.ShareID
	for k := 0; k < 40; k++ {
		si := e.anySI()
		var c []byte
		switch k % 4 {
		case 0:
			c = fixture.ImmutableV1(e.bytes(k))
		case 1:
			c = fixture.ImmutableV2(e.bytes(k))
		case 2:
			c = fixture.Mutable{Version: 1, Data: e.bytes(k)}.Bytes()
		default:
			c = fixture.CorruptContainers()[k%len(fixture.CorruptContainers())].Bytes
		}
		e.put(si, k, c)
		id := sharestore.ShareID{SI: si, Shnum: k}
		sh, err := e.b.Shareset(si).Share(e.ctx, k)
		wants[id] = want{sh, err}
		ids = append(ids, id)
	}
	missing := sharestore.ShareID{SI: e.anySI(), Shnum: 3}
	wants[missing] = want{err: sharestore.ErrNotFound}
	ids = append(ids, missing)
	seen := map[sharestore.ShareID]int{}
	err := sharestore.ReadHeaders(e.ctx, e.b, ids, 4, func(id sharestore.ShareID, sh sharestore.Share, err error) {
		seen[id]++
		w, ok := wants[id]
		switch {
		case !ok:
			e.t.Errorf("ReadHeaders reported %s, which was not asked for", id)
		case w.err != nil:
			if !errors.Is(err, sharestore.CodeOf(w.err)) {
				e.t.Errorf("ReadHeaders(%s): error %v, want %v", id, err, sharestore.CodeOf(w.err))
			}
		case err != nil:
			e.t.Errorf("ReadHeaders(%s): %v", id, err)
		case sh.ShareInfo.ID() != id || sh.Size != w.share.Size || sh.Type != w.share.Type || sh.Version != w.share.Version || sh.DataLength != w.share.DataLength:
			e.t.Errorf("ReadHeaders(%s) = %+v, Share = %+v", id, sh, w.share)
		}
	})
	if err != nil {
		e.t.Fatalf("ReadHeaders: %v", err)
	}
	for _, id := range ids {
		if seen[id] != 1 {
			e.t.Errorf("ReadHeaders reported %s %d times, want once", id, seen[id])
		}
	}
}

// ReadHeaders of nothing calls nothing.
func testReadHeadersNone(e *env) {
	err := sharestore.ReadHeaders(e.ctx, e.b, nil, 4, func(id sharestore.ShareID, _ sharestore.Share, _ error) {
		e.t.Errorf("ReadHeaders of nothing reported %s", id)
	})
	if err != nil {
		e.t.Fatal(err)
	}
}
