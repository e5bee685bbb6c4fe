package leasedb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
)

// mkSI returns a storage index made of byte b repeated, varied in its last
// bytes by n, so that mkSI(b, n) for every n shares one prefix. mkSI(0, 0)
// is Tahoe's test SI "\x00"*16 (prefix aa), mkSI(1, 0) is "\x01"*16 (ae).
func mkSI(b byte, n int) sharestore.StorageIndex {
	var si sharestore.StorageIndex
	for i := range si {
		si[i] = b
	}
	si[15] ^= byte(n)
	si[14] ^= byte(n >> 8)
	si[13] ^= byte(n >> 16)
	return si
}

func update(t *testing.T, db *DB, fn func(tx *Tx) error) {
	t.Helper()
	if err := db.Update(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

// must fails the test at once if err is not nil.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var bg = context.Background()

func TestStateTransitions(t *testing.T) {
	const none State = -1
	si := mkSI(0, 0)
	setups := map[State]func(tx *Tx) error{
		none:        func(tx *Tx) error { return nil },
		StateComing: func(tx *Tx) error { return tx.AddNewShare(bg, si, 0, 10, sharestore.ShareTypeImmutable, t0) },
		StateStable: func(tx *Tx) error { return tx.AddDiscoveredShare(bg, si, 0, 10, sharestore.ShareTypeImmutable) },
		StateGoing: func(tx *Tx) error {
			if err := tx.AddDiscoveredShare(bg, si, 0, 10, sharestore.ShareTypeImmutable); err != nil {
				return err
			}
			return tx.MarkGoing(bg, si, 0)
		},
	}
	type outcome struct {
		state State           // resulting state (none = no row)
		code  sharestore.Code // 0 = success
	}
	ops := []struct {
		name string
		op   func(tx *Tx) error
		want map[State]outcome
	}{
		{"AddNewShare", func(tx *Tx) error {
			return tx.AddNewShare(bg, si, 0, 20, sharestore.ShareTypeMutable, t0.Add(time.Hour))
		}, map[State]outcome{
			none: {StateComing, 0}, StateComing: {StateComing, 0}, StateStable: {StateComing, 0}, StateGoing: {StateGoing, sharestore.ErrConflict}}},
		{"AddDiscoveredShare", func(tx *Tx) error { return tx.AddDiscoveredShare(bg, si, 0, 20, sharestore.ShareTypeMutable) }, map[State]outcome{
			none: {StateStable, 0}, StateComing: {StateComing, sharestore.ErrConflict}, StateStable: {StateStable, sharestore.ErrConflict}, StateGoing: {StateGoing, sharestore.ErrConflict}}},
		{"MarkStable", func(tx *Tx) error { return tx.MarkStable(bg, si, 0, 20) }, map[State]outcome{
			none: {none, sharestore.ErrNotFound}, StateComing: {StateStable, 0}, StateStable: {StateStable, 0}, StateGoing: {StateStable, 0}}},
		{"MarkGoing", func(tx *Tx) error { return tx.MarkGoing(bg, si, 0) }, map[State]outcome{
			none: {none, sharestore.ErrNotFound}, StateComing: {StateComing, sharestore.ErrConflict}, StateStable: {StateGoing, 0}, StateGoing: {StateGoing, sharestore.ErrConflict}}},
		{"RemoveDeletedShare", func(tx *Tx) error { return tx.RemoveDeletedShare(bg, si, 0) }, map[State]outcome{
			none: {none, 0}, StateComing: {none, 0}, StateStable: {none, 0}, StateGoing: {none, 0}}},
		{"ChangeShareSpace", func(tx *Tx) error { return tx.ChangeShareSpace(bg, si, 0, 20) }, map[State]outcome{
			none: {none, sharestore.ErrNotFound}, StateComing: {StateComing, 0}, StateStable: {StateStable, 0}, StateGoing: {StateGoing, 0}}},
		{"AddStarterLease", func(tx *Tx) error { return tx.AddStarterLease(bg, si, 0, t0) }, map[State]outcome{
			none: {none, sharestore.ErrNotFound}, StateComing: {StateComing, 0}, StateStable: {StateStable, 0}, StateGoing: {StateGoing, 0}}},
	}
	for _, op := range ops {
		for _, from := range []State{none, StateComing, StateStable, StateGoing} {
			want := op.want[from]
			t.Run(fmt.Sprintf("%s/from_%v", op.name, from), func(t *testing.T) {
				db := openTest(t)
				update(t, db, setups[from])
				err := db.Update(bg, op.op)
				if want.code == 0 && err != nil {
					t.Fatalf("err = %v, want success", err)
				}
				if want.code != 0 {
					wantCode(t, err, want.code)
				}
				d, err := db.Dump(bg)
				must(t, err)
				got := none
				if len(d.Shares) == 1 {
					got = State(d.Shares[0].State)
					// share_coming is kept in step with the state.
					if (got == StateComing) != (d.Shares[0].ComingSince != nil) {
						t.Errorf("state %v with coming_since %v", got, d.Shares[0].ComingSince)
					}
				}
				if got != want.state {
					t.Errorf("state = %v, want %v", got, want.state)
				}
				if want.code == 0 && want.state != none && op.name != "AddStarterLease" {
					if d.Shares[0].UsedSpace != 20 && op.name != "MarkGoing" {
						t.Errorf("used_space = %d, want 20", d.Shares[0].UsedSpace)
					}
				}
			})
		}
	}
}

// A refused transition inside a transaction does not spoil it: the caller
// can go on and commit the rest.
func TestRefusedTransitionKeepsTransaction(t *testing.T) {
	db := openTest(t)
	a, b := mkSI(0, 1), mkSI(0, 2)
	update(t, db, func(tx *Tx) error {
		must(t, tx.AddNewShare(bg, a, 0, 1, 0, t0))
		wantCode(t, tx.MarkGoing(bg, a, 0), sharestore.ErrConflict)
		return tx.AddDiscoveredShare(bg, b, 0, 1, 0)
	})
	shares, err := db.SharesForPrefix(bg, "aa")
	must(t, err)
	if len(shares) != 2 {
		t.Errorf("shares = %v", shares)
	}
}

func TestMarkStableKeepsUsedSpace(t *testing.T) {
	db := openTest(t)
	si := mkSI(0, 0)
	update(t, db, func(tx *Tx) error {
		must(t, tx.AddNewShare(bg, si, 3, 1000, sharestore.ShareTypeImmutable, t0))
		return tx.MarkStable(bg, si, 3, -1)
	})
	sh, err := db.LookupShare(bg, si, 3)
	must(t, err)
	if sh.UsedSpace != 1000 || sh.State != StateStable || sh.Type != sharestore.ShareTypeImmutable {
		t.Errorf("share = %+v", sh)
	}
	_, err = db.LookupShare(bg, si, 4)
	wantCode(t, err, sharestore.ErrNotFound)
}

// Scenario 31 through the API, and Tahoe's test_basic.
func TestLeaseForUnknownShare(t *testing.T) {
	db := openTest(t)
	si1, si2 := mkSI(0, 1), mkSI(0, 2)
	update(t, db, func(tx *Tx) error {
		must(t, tx.AddNewShare(bg, si1, 0, 12345, sharestore.ShareTypeImmutable, t0))
		wantCode(t, tx.AddStarterLease(bg, si2, 0, t0), sharestore.ErrNotFound)
		wantCode(t, tx.AddOrRenewLease(bg, si2, 0, AccountAnonymous, t0, t0), sharestore.ErrNotFound)
		wantCode(t, tx.AddOrRenewLease(bg, si1, 1, AccountAnonymous, t0, t0), sharestore.ErrNotFound)
		wantCode(t, tx.AddOrRenewLease(bg, si1, 0, 99, t0, t0), sharestore.ErrNotFound) // no such account
		n, err := tx.AddOrRenewLeasesForSI(bg, si2, AccountAnonymous, t0, t0)
		if err != nil || n != 0 {
			t.Errorf("AddOrRenewLeasesForSI(unknown SI) = %d, %v; want a silent no-op", n, err)
		}
		// A repeated starter lease updates in place.
		must(t, tx.AddStarterLease(bg, si1, 0, t0))
		must(t, tx.AddStarterLease(bg, si1, 0, t0.Add(time.Hour)))
		return nil
	})
	leases, err := db.Leases(bg, si1)
	must(t, err)
	want := []Lease{{si1, 0, AccountStarter, t0.Add(time.Hour), t0.Add(time.Hour + StarterLeaseDuration)}}
	if !reflect.DeepEqual(leases, want) {
		t.Errorf("leases = %+v, want %+v", leases, want)
	}
	if StarterLeaseDuration != 60*24*time.Hour || DefaultLeaseDuration != 31*24*time.Hour {
		t.Error("lease duration constants differ from Tahoe's")
	}
}

// Scenario 32: renewing replaces in place, one lease per (share, account),
// backdating allowed.
func TestRenewInPlaceAndBackdate(t *testing.T) {
	db := openTest(t)
	si := mkSI(0, 1)
	update(t, db, func(tx *Tx) error {
		must(t, tx.AddNewShare(bg, si, 0, 1, 0, t0))
		must(t, tx.AddOrRenewLease(bg, si, 0, AccountAnonymous, time.Unix(0, 0), time.Unix(0, 0)))
		return tx.AddOrRenewLease(bg, si, 0, AccountAnonymous, time.Unix(1, 0), time.Unix(2, 0))
	})
	d, err := db.Dump(bg)
	must(t, err)
	two := int64(2)
	if want := []DumpLease{{si.String(), 0, 0, 1, &two}}; !reflect.DeepEqual(d.Leases, want) {
		t.Errorf("leases = %+v", d.Leases)
	}
	// Backdate, and make it never expire.
	update(t, db, func(tx *Tx) error {
		return tx.AddOrRenewLease(bg, si, 0, AccountAnonymous, time.Unix(-5, 0), time.Time{})
	})
	d, err = db.Dump(bg)
	must(t, err)
	if want := []DumpLease{{si.String(), 0, 0, -5, nil}}; !reflect.DeepEqual(d.Leases, want) {
		t.Errorf("leases after backdating = %+v", d.Leases)
	}
}

// Scenario 33: AddNewShare on an existing row keeps its leases and resets
// the state to COMING.
func TestAddNewShareKeepsLeases(t *testing.T) {
	db := openTest(t)
	si := mkSI(0, 1)
	update(t, db, func(tx *Tx) error {
		must(t, tx.AddNewShare(bg, si, 0, 100, sharestore.ShareTypeMutable, t0))
		must(t, tx.AddOrRenewLease(bg, si, 0, AccountAnonymous, t0, t0.Add(DefaultLeaseDuration)))
		must(t, tx.AddStarterLease(bg, si, 0, t0))
		must(t, tx.MarkStable(bg, si, 0, 90))
		return tx.AddNewShare(bg, si, 0, 200, sharestore.ShareTypeMutable, t0.Add(time.Minute))
	})
	sh, err := db.LookupShare(bg, si, 0)
	must(t, err)
	if sh.State != StateComing || sh.UsedSpace != 200 {
		t.Errorf("share = %+v", sh)
	}
	if n, err := db.LeaseCount(bg, si, 0); err != nil || n != 2 {
		t.Errorf("LeaseCount = %d, %v; want 2", n, err)
	}
}

// Scenario 34: only STABLE rows without leases are unleased; COMING and
// GOING rows never are.
func TestUnleasedSharesForPrefix(t *testing.T) {
	db := openTest(t)
	coming, stable, going, leased := mkSI(0, 1), mkSI(0, 2), mkSI(0, 3), mkSI(0, 4)
	other := mkSI(1, 0) // prefix ae
	update(t, db, func(tx *Tx) error {
		must(t, tx.AddNewShare(bg, coming, 0, 1, 0, t0))
		must(t, tx.AddDiscoveredShare(bg, stable, 0, 2, 0))
		must(t, tx.AddDiscoveredShare(bg, stable, 1, 3, 1))
		must(t, tx.AddDiscoveredShare(bg, going, 0, 4, 0))
		must(t, tx.MarkGoing(bg, going, 0))
		must(t, tx.AddDiscoveredShare(bg, leased, 0, 5, 0))
		must(t, tx.AddStarterLease(bg, leased, 0, t0))
		return tx.AddDiscoveredShare(bg, other, 0, 6, 0)
	})
	got, err := db.UnleasedSharesForPrefix(bg, "aa")
	must(t, err)
	want := []Share{
		{stable, 0, 2, sharestore.ShareTypeImmutable, StateStable},
		{stable, 1, 3, sharestore.ShareTypeMutable, StateStable},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("unleased = %+v, want %+v", got, want)
	}
	all, err := db.SharesForPrefix(bg, "aa")
	must(t, err)
	if len(all) != 5 {
		t.Errorf("SharesForPrefix(aa) has %d rows, want 5", len(all))
	}
	if !sort.SliceIsSorted(all, func(i, j int) bool {
		a, b := all[i], all[j]
		return a.SI.String() < b.SI.String() || a.SI == b.SI && a.Shnum < b.Shnum
	}) {
		t.Errorf("SharesForPrefix not sorted: %v", all)
	}
	ae, err := db.SharesForPrefix(bg, "ae")
	must(t, err)
	if len(ae) != 1 || ae[0].SI != other {
		t.Errorf("SharesForPrefix(ae) = %v", ae)
	}
	_, err = db.SharesForPrefix(bg, "A!")
	wantCode(t, err, sharestore.ErrInvalidArgument)
	_, err = db.UnleasedSharesForPrefix(bg, "")
	wantCode(t, err, sharestore.ErrInvalidArgument)
}

// Scenario 35, plus the default retention and replacement.
func TestHistoryRetention(t *testing.T) {
	db := openTest(t)
	for c := 0; c < 5; c++ {
		update(t, db, func(tx *Tx) error {
			return tx.AddHistoryEntry(bg, c, json.RawMessage(fmt.Sprintf(`{"cycle": %d}`, c)), 2)
		})
	}
	h, err := db.History(bg)
	must(t, err)
	if len(h) != 2 || string(h[3]) != `{"cycle":3}` || string(h[4]) != `{"cycle":4}` {
		t.Errorf("history = %v, want keys {3, 4}", h)
	}

	db = openTest(t)
	for c := 0; c < 12; c++ {
		update(t, db, func(tx *Tx) error {
			return tx.AddHistoryEntry(bg, c, json.RawMessage(`[1]`), DefaultRetainedHistory)
		})
	}
	update(t, db, func(tx *Tx) error { return tx.AddHistoryEntry(bg, 11, json.RawMessage(`[2]`), DefaultRetainedHistory) })
	h, err = db.History(bg)
	must(t, err)
	var keys []int
	for k := range h {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	if !reflect.DeepEqual(keys, []int{2, 3, 4, 5, 6, 7, 8, 9, 10, 11}) || string(h[11]) != `[2]` {
		t.Errorf("history keys = %v, h[11] = %s", keys, h[11])
	}
	err = db.Update(bg, func(tx *Tx) error { return tx.AddHistoryEntry(bg, 12, json.RawMessage(`{bad`), 10) })
	wantCode(t, err, sharestore.ErrInvalidArgument)
	err = db.Update(bg, func(tx *Tx) error { return tx.AddHistoryEntry(bg, 12, json.RawMessage(`{}`), 0) })
	wantCode(t, err, sharestore.ErrInvalidArgument)
	if empty, err := openTest(t).History(bg); err != nil || len(empty) != 0 || empty == nil {
		t.Errorf("fresh history = %v, %v; want an empty map", empty, err)
	}
}

// Scenario 36.
func TestRemoveExpiredLeases(t *testing.T) {
	now := t0
	// Per share: (account, renewal, expiration).
	setup := func(t *testing.T) (*DB, []sharestore.StorageIndex) {
		db := openTest(t)
		sis := []sharestore.StorageIndex{mkSI(0, 0), mkSI(1, 0), mkSI(2, 0), mkSI(3, 0), mkSI(4, 0)}
		update(t, db, func(tx *Tx) error {
			for _, si := range sis {
				must(t, tx.AddDiscoveredShare(bg, si, 0, 1000, 0))
			}
			old := now.Add(-3000 * time.Second)
			must(t, tx.AddOrRenewLease(bg, sis[0], 0, AccountAnonymous, old, old.Add(DefaultLeaseDuration))) // renewed 3000 s ago, not yet expired
			must(t, tx.AddOrRenewLease(bg, sis[1], 0, AccountAnonymous, now, now.Add(DefaultLeaseDuration))) // fresh
			must(t, tx.AddOrRenewLease(bg, sis[2], 0, AccountStarter, now.Add(-61*Day), now.Add(-Day)))      // expired yesterday
			must(t, tx.AddOrRenewLease(bg, sis[3], 0, AccountAnonymous, now.Add(-400*Day), time.Time{}))     // never expires, renewed long ago
			return tx.AddOrRenewLease(bg, sis[4], 0, AccountAnonymous, now.Add(-1000*time.Second), now)      // expires exactly now
		})
		return db, sis
	}
	cases := []struct {
		name    string
		policy  ExpirationPolicy
		removed []int // indexes into sis
	}{
		{"disabled", ExpirationPolicy{Enabled: false, Mode: ModeAge, Override: time.Second}, nil},
		{"age, no override", ExpirationPolicy{Enabled: true, Mode: ModeAge}, []int{2}},
		{"age, override 2000s", ExpirationPolicy{Enabled: true, Mode: ModeAge, Override: 2000 * time.Second}, []int{0, 2, 3}},
		{"cutoff-date now-2000s", ExpirationPolicy{Enabled: true, Mode: ModeCutoffDate, CutoffDate: now.Add(-2000 * time.Second)}, []int{0, 2, 3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db, sis := setup(t)
			var n int64
			update(t, db, func(tx *Tx) (err error) {
				n, err = tx.RemoveExpiredLeases(bg, c.policy, now)
				return err
			})
			if int(n) != len(c.removed) {
				t.Errorf("removed %d leases, want %d", n, len(c.removed))
			}
			gone := map[int]bool{}
			for _, i := range c.removed {
				gone[i] = true
			}
			for i, si := range sis {
				cnt, err := db.LeaseCount(bg, si, 0)
				must(t, err)
				if (cnt == 0) != gone[i] {
					t.Errorf("share %d has %d leases; removed should be %v", i, cnt, gone[i])
				}
			}
		})
	}
	db, _ := setup(t)
	err := db.Update(bg, func(tx *Tx) error {
		_, err := tx.RemoveExpiredLeases(bg, ExpirationPolicy{Enabled: true, Mode: "bogus"}, now)
		return err
	})
	wantCode(t, err, sharestore.ErrInvalidArgument)
}

// Scenario 37 and Tahoe 1836's test_leasedb and test_stats numbers.
func TestStats(t *testing.T) {
	db := openTest(t)
	si1, si2 := mkSI(0, 1), mkSI(0, 2)
	stats := func() Stats {
		st, err := db.Stats(bg)
		must(t, err)
		return st
	}
	if st := stats(); st != (Stats{}) {
		t.Errorf("empty stats = %+v", st)
	}
	update(t, db, func(tx *Tx) error {
		must(t, tx.AddNewShare(bg, si1, 0, 12345, 0, t0))
		return tx.AddStarterLease(bg, si1, 0, t0)
	})
	if st := stats(); st != (Stats{1, 12345, 1}) {
		t.Errorf("stats = %+v, want (1, 12345, 1)", st)
	}
	update(t, db, func(tx *Tx) error {
		must(t, tx.AddNewShare(bg, si1, 1, 12345, 0, t0))
		return tx.AddStarterLease(bg, si1, 1, t0)
	})
	if st := stats(); st != (Stats{2, 24690, 1}) {
		t.Errorf("stats = %+v, want (2, 24690, 1)", st)
	}
	update(t, db, func(tx *Tx) error {
		must(t, tx.AddNewShare(bg, si2, 0, 12345, 0, t0))
		return tx.AddStarterLease(bg, si2, 0, t0)
	})
	if st := stats(); st != (Stats{3, 37035, 2}) {
		t.Errorf("stats = %+v, want (3, 37035, 2)", st)
	}

	// test_stats: allocate si1 [0,1] of 50 bytes with one add_lease, no close.
	db = openTest(t)
	lease := func(tx *Tx, si sharestore.StorageIndex) {
		if _, err := tx.AddOrRenewLeasesForSI(bg, si, AccountAnonymous, t0, t0.Add(DefaultLeaseDuration)); err != nil {
			t.Fatal(err)
		}
	}
	update(t, db, func(tx *Tx) error {
		must(t, tx.AddNewShare(bg, si1, 0, 50, 0, t0))
		must(t, tx.AddNewShare(bg, si1, 1, 50, 0, t0))
		lease(tx, si1)
		return nil
	})
	if st := stats(); st != (Stats{LeasedShares: 2, LeasedBytes: 100, Sharesets: 1}) {
		t.Errorf("stats = %+v, want sharesets 1, leased 2, bytes 100", st)
	}
	update(t, db, func(tx *Tx) error {
		must(t, tx.AddNewShare(bg, si1, 2, 50, 0, t0))
		lease(tx, si1)
		return nil
	})
	if st := stats(); st != (Stats{3, 150, 1}) {
		t.Errorf("stats = %+v, want (3, 150, 1)", st)
	}
	update(t, db, func(tx *Tx) error {
		must(t, tx.AddNewShare(bg, si2, 0, 50, 0, t0))
		lease(tx, si2)
		// An unleased share counts as a shareset but not as leased.
		return tx.AddDiscoveredShare(bg, mkSI(5, 5), 0, 7, 0)
	})
	if st := stats(); st != (Stats{4, 200, 3}) {
		t.Errorf("stats = %+v, want (4, 200, 3)", st)
	}
}

// Scenario 48: after the database is lost, one crawler pass gives every
// stored share exactly one starter lease, expiring 60 days after discovery.
// Scenario 49: a mutable write to an existing share still works.
func TestRebuildAfterLoss(t *testing.T) {
	db := openTest(t)
	stored := []sharestore.ShareID{{SI: mkSI(0, 0), Shnum: 0}, {SI: mkSI(1, 0), Shnum: 0}, {SI: mkSI(2, 0), Shnum: 0}, {SI: mkSI(3, 0), Shnum: 0}}
	// What the accounting crawler does for each prefix.
	for _, id := range stored {
		update(t, db, func(tx *Tx) error {
			rows, err := tx.SharesForPrefix(bg, id.SI.Prefix())
			must(t, err)
			if len(rows) != 0 {
				t.Fatalf("rows before rebuild: %v", rows)
			}
			must(t, tx.AddDiscoveredShare(bg, id.SI, id.Shnum, 1000, sharestore.ShareTypeUnknown))
			return tx.AddStarterLease(bg, id.SI, id.Shnum, t0)
		})
	}
	for _, id := range stored {
		leases, err := db.Leases(bg, id.SI)
		must(t, err)
		want := []Lease{{id.SI, id.Shnum, AccountStarter, t0, t0.Add(60 * 24 * time.Hour)}}
		if !reflect.DeepEqual(leases, want) {
			t.Errorf("%v leases = %+v", id, leases)
		}
		sh, err := db.LookupShare(bg, id.SI, id.Shnum)
		must(t, err)
		if sh.State != StateStable {
			t.Errorf("%v state = %v, want stable (scenario 51)", id, sh.State)
		}
	}
	// Scenario 49: a mutable write on a wiped database re-creates the row.
	db = openTest(t)
	si := mkSI(2, 0)
	update(t, db, func(tx *Tx) error {
		must(t, tx.AddNewShare(bg, si, 0, 1000, sharestore.ShareTypeMutable, t0))
		must(t, tx.AddOrRenewLease(bg, si, 0, AccountAnonymous, t0, t0.Add(DefaultLeaseDuration)))
		return tx.MarkStable(bg, si, 0, 1000)
	})
	if n, err := db.LeaseCount(bg, si, 0); err != nil || n != 1 {
		t.Errorf("lease count = %d, %v", n, err)
	}
}

// Scenario 51: a discovered share is STABLE and can be collected once it
// loses its lease; an interrupted upload's COMING row is found after the
// grace period.
func TestDiscoveredAndAbandoned(t *testing.T) {
	db := openTest(t)
	found, aborted := mkSI(0, 1), mkSI(0, 2)
	update(t, db, func(tx *Tx) error {
		must(t, tx.AddDiscoveredShare(bg, found, 0, 10, sharestore.ShareTypeImmutable))
		must(t, tx.AddStarterLease(bg, found, 0, t0))
		return tx.AddNewShare(bg, aborted, 0, 10, sharestore.ShareTypeImmutable, t0)
	})
	expire := ExpirationPolicy{Enabled: true, Mode: ModeAge}
	update(t, db, func(tx *Tx) error {
		n, err := tx.RemoveExpiredLeases(bg, expire, t0.Add(61*Day))
		if n != 1 {
			t.Errorf("removed %d, want the starter lease", n)
		}
		return err
	})
	unleased, err := db.UnleasedSharesForPrefix(bg, "aa")
	must(t, err)
	if len(unleased) != 1 || unleased[0].SI != found {
		t.Errorf("unleased = %v, want only the discovered share", unleased)
	}
	grace := 24 * time.Hour
	stale, err := db.StaleComing(bg, t0.Add(grace-time.Second).Add(-grace))
	must(t, err)
	if len(stale) != 0 {
		t.Errorf("stale within the grace period: %v", stale)
	}
	stale, err = db.StaleComing(bg, t0.Add(grace+time.Second).Add(-grace))
	must(t, err)
	if len(stale) != 1 || stale[0].SI != aborted || stale[0].State != StateComing {
		t.Errorf("stale = %v, want the aborted upload", stale)
	}
	err = db.View(bg, func(tx *Tx) error {
		s, err := tx.StaleComingForPrefix(bg, "aa", t0.Add(time.Second))
		if len(s) != 1 {
			t.Errorf("StaleComingForPrefix(aa) = %v", s)
		}
		s, _ = tx.StaleComingForPrefix(bg, "ae", t0.Add(time.Second))
		if len(s) != 0 {
			t.Errorf("StaleComingForPrefix(ae) = %v", s)
		}
		return err
	})
	must(t, err)
	// A retried write restarts the grace clock.
	update(t, db, func(tx *Tx) error { return tx.AddNewShare(bg, aborted, 0, 10, 0, t0.Add(time.Hour)) })
	if stale, _ := db.StaleComing(bg, t0.Add(time.Minute)); len(stale) != 0 {
		t.Errorf("stale after retry = %v", stale)
	}
	// Cleaning up: the crawler removes it (or marks it stable).
	update(t, db, func(tx *Tx) error { return tx.RemoveDeletedShare(bg, aborted, 0) })
	if stale, _ := db.StaleComing(bg, t0.Add(100*Day)); len(stale) != 0 {
		t.Errorf("stale after cleanup = %v", stale)
	}
}

// Scenario 52: a failed delete returns the row to STABLE, where the next
// cycle can try again.
func TestFailedDeleteReturnsToStable(t *testing.T) {
	db := openTest(t)
	si := mkSI(0, 1)
	update(t, db, func(tx *Tx) error { return tx.AddDiscoveredShare(bg, si, 0, 10, 0) })
	update(t, db, func(tx *Tx) error { return tx.MarkGoing(bg, si, 0) })
	if u, _ := db.UnleasedSharesForPrefix(bg, "aa"); len(u) != 0 {
		t.Errorf("GOING row returned as unleased: %v", u)
	}
	// The backend delete fails:
	update(t, db, func(tx *Tx) error { return tx.MarkStable(bg, si, 0, -1) })
	u, err := db.UnleasedSharesForPrefix(bg, "aa")
	must(t, err)
	if len(u) != 1 || u[0].State != StateStable || u[0].UsedSpace != 10 {
		t.Errorf("after failed delete unleased = %v", u)
	}
	// Next cycle: delete succeeds.
	update(t, db, func(tx *Tx) error { return tx.MarkGoing(bg, si, 0) })
	update(t, db, func(tx *Tx) error { return tx.RemoveDeletedShare(bg, si, 0) })
	_, err = db.LookupShare(bg, si, 0)
	wantCode(t, err, sharestore.ErrNotFound)
}

func TestRemoveDeletedShareRemovesLeases(t *testing.T) {
	db := openTest(t)
	si := mkSI(0, 1)
	update(t, db, func(tx *Tx) error {
		must(t, tx.AddDiscoveredShare(bg, si, 0, 10, 0))
		must(t, tx.AddDiscoveredShare(bg, si, 1, 10, 0))
		if n, err := tx.AddOrRenewLeasesForSI(bg, si, AccountAnonymous, t0, time.Time{}); n != 2 || err != nil {
			t.Errorf("AddOrRenewLeasesForSI = %d, %v", n, err)
		}
		must(t, tx.AddStarterLease(bg, si, 0, t0))
		return tx.RemoveDeletedShare(bg, si, 0)
	})
	leases, err := db.Leases(bg, si)
	must(t, err)
	if len(leases) != 1 || leases[0].Shnum != 1 {
		t.Errorf("leases = %+v", leases)
	}
}

func TestLeaseAgesForPrefix(t *testing.T) {
	db := openTest(t)
	a, b, other := mkSI(0, 1), mkSI(0, 2), mkSI(1, 0)
	update(t, db, func(tx *Tx) error {
		for _, si := range []sharestore.StorageIndex{a, b, other} {
			must(t, tx.AddDiscoveredShare(bg, si, 0, 1, 0))
			must(t, tx.AddStarterLease(bg, si, 0, t0))
		}
		must(t, tx.AddOrRenewLease(bg, a, 0, AccountAnonymous, t0.Add(-2*Day), time.Time{}))
		return tx.AddDiscoveredShare(bg, a, 1, 1, 0) // no lease
	})
	now := t0.Add(time.Hour)
	ages, err := db.LeaseAges(bg, "aa", now)
	must(t, err)
	want := map[sharestore.ShareID][]time.Duration{
		{SI: a, Shnum: 0}: {2*Day + time.Hour, time.Hour}, // account 0, then 1
		{SI: b, Shnum: 0}: {time.Hour},
	}
	if !reflect.DeepEqual(ages, want) {
		t.Errorf("ages = %v, want %v", ages, want)
	}
	leases, err := db.LeasesForPrefix(bg, "ae")
	must(t, err)
	if len(leases) != 1 || leases[0].SI != other {
		t.Errorf("LeasesForPrefix(ae) = %v", leases)
	}
	// "zz" is the last prefix: the range bound must still work.
	if l, err := db.LeasesForPrefix(bg, "zz"); err != nil || len(l) != 0 {
		t.Errorf("LeasesForPrefix(zz) = %v, %v", l, err)
	}
}

func TestNegativeShnumRefused(t *testing.T) {
	db := openTest(t)
	err := db.Update(bg, func(tx *Tx) error { return tx.AddNewShare(bg, mkSI(0, 0), -1, 1, 0, t0) })
	wantCode(t, err, sharestore.ErrInvalidArgument)
}

func TestContextCanceled(t *testing.T) {
	db := openTest(t)
	ctx, cancel := context.WithCancel(bg)
	cancel()
	err := db.Update(ctx, func(tx *Tx) error { return nil })
	if !errors.Is(err, context.Canceled) || !errors.Is(err, sharestore.ErrCanceled) {
		t.Errorf("Update with a canceled context: %v", err)
	}
	_, err = db.SharesForPrefix(ctx, "aa")
	if !errors.Is(err, sharestore.ErrCanceled) {
		t.Errorf("SharesForPrefix with a canceled context: %v", err)
	}
}

func TestAddDiscoveredSharesBulk(t *testing.T) {
	db := openTest(t)
	var batch []Share
	for i := 0; i < 250; i++ { // three statements: 100, 100, 50
		batch = append(batch, Share{SI: mkSI(0, i/2), Shnum: i % 2, UsedSpace: int64(i), Type: sharestore.ShareTypeMutable, State: StateGoing})
	}
	update(t, db, func(tx *Tx) error { return tx.AddDiscoveredShares(bg, batch, t0) })
	rows, err := db.SharesForPrefix(bg, "aa")
	must(t, err)
	if len(rows) != 250 {
		t.Fatalf("%d rows, want 250", len(rows))
	}
	byID := map[sharestore.ShareID]Share{}
	for _, r := range rows {
		byID[r.ID()] = r
	}
	for _, want := range batch {
		got := byID[want.ID()]
		want.State = StateStable // State is ignored
		if got != want {
			t.Errorf("row %+v, want %+v", got, want)
		}
	}
	leases, err := db.LeasesForPrefix(bg, "aa")
	must(t, err)
	if len(leases) != 250 {
		t.Fatalf("%d leases, want 250", len(leases))
	}
	for _, l := range leases {
		if l.Account != AccountStarter || !l.Renewal.Equal(t0) || !l.Expiration.Equal(t0.Add(StarterLeaseDuration)) {
			t.Errorf("lease %+v", l)
		}
	}
	// An existing row, or a repeat in the batch, is a conflict.
	err = db.Update(bg, func(tx *Tx) error {
		return tx.AddDiscoveredShares(bg, []Share{{SI: mkSI(1, 0)}, {SI: mkSI(0, 0), Shnum: 0}}, t0)
	})
	wantCode(t, err, sharestore.ErrConflict)
	err = db.Update(bg, func(tx *Tx) error {
		return tx.AddDiscoveredShares(bg, []Share{{SI: mkSI(2, 0)}, {SI: mkSI(2, 0)}}, t0)
	})
	wantCode(t, err, sharestore.ErrConflict)
	if rows, _ := db.SharesForPrefix(bg, "ae"); len(rows) != 0 {
		t.Errorf("a failed batch left rows: %v", rows)
	}
	err = db.Update(bg, func(tx *Tx) error { return tx.AddDiscoveredShares(bg, nil, t0) })
	must(t, err)
}
