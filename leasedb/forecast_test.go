package leasedb

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
)

// DeletionForecast counts exactly the shares that RemoveExpiredLeases
// would leave without a lease, skips corrupt ones, counts GOING rows, and
// changes nothing; RemoveExpiredLeasesOf touches one share's leases only.
func TestDeletionForecast(t *testing.T) {
	db := openTest(t)
	old, fresh := t0.Add(-100*24*time.Hour), t0
	// s0: one old lease; s1: an old and a fresh lease; s2: no lease;
	// s3: corrupt, old lease; s4: GOING; s5: old lease (second share).
	update(t, db, func(tx *Tx) error {
		for n := 0; n < 6; n++ {
			typ := sharestore.ShareTypeImmutable
			if n == 3 {
				typ = sharestore.ShareTypeCorrupt
			}
			must(t, tx.AddDiscoveredShare(bg, mkSI(0, n), 0, 10, typ))
		}
		for _, n := range []int{0, 1, 3, 5} {
			must(t, tx.AddOrRenewLease(bg, mkSI(0, n), 0, 0, old, old.Add(31*24*time.Hour)))
		}
		must(t, tx.AddOrRenewLease(bg, mkSI(0, 1), 0, 1, fresh, fresh.Add(31*24*time.Hour)))
		return tx.MarkGoing(bg, mkSI(0, 4), 0)
	})
	policy, err := NewExpirationPolicy(true, ModeCutoffDate, "", t0.Add(-24*time.Hour).Format("2006-01-02"))
	must(t, err)
	var f Forecast
	update(t, db, func(tx *Tx) error {
		var err error
		f, err = tx.DeletionForecast(bg, policy, t0)
		return err
	})
	// s0, s5 (expired), s2 (no lease), s4 (GOING).
	if f != (Forecast{Shares: 6, Unleased: 4}) {
		t.Fatalf("forecast = %+v, want 6 shares, 4 unleased", f)
	}
	if p := f.Percent(); p < 66 || p > 67 {
		t.Errorf("percent = %v", p)
	}
	var off Forecast
	update(t, db, func(tx *Tx) error {
		var err error
		off, err = tx.DeletionForecast(bg, ExpirationPolicy{}, t0)
		return err
	})
	if off != (Forecast{Shares: 6, Unleased: 2}) { // s2 and s4 only
		t.Errorf("forecast with expiration off = %+v", off)
	}
	update(t, db, func(tx *Tx) error {
		n, err := tx.LeaseCount(bg, mkSI(0, 0), 0)
		if n != 1 || err != nil {
			t.Errorf("the forecast removed a lease: %d, %v", n, err)
		}
		removed, err := tx.RemoveExpiredLeasesOf(bg, mkSI(0, 1), 0, policy, t0)
		if removed != 1 || err != nil {
			t.Errorf("RemoveExpiredLeasesOf(s1) = %d, %v; want the old lease only", removed, err)
		}
		for n, want := range map[int]int{0: 1, 1: 1, 5: 1} {
			if got, _ := tx.LeaseCount(bg, mkSI(0, n), 0); got != want {
				t.Errorf("s%d has %d leases, want %d", n, got, want)
			}
		}
		return nil
	})
}

// A cycle plan is kept per crawler for one cycle and never shows up among
// the prefix results.
func TestCyclePlan(t *testing.T) {
	db := openTest(t)
	update(t, db, func(tx *Tx) error {
		must(t, tx.PutPrefixResult(bg, "accounting", "c1", "aa", json.RawMessage(`{"p":1}`)))
		must(t, tx.PutCyclePlan(bg, "accounting", "c1", json.RawMessage(`{"budget":3}`)))
		plan, ok, err := tx.CyclePlan(bg, "accounting", "c1")
		if !ok || err != nil || string(plan) != `{"budget":3}` {
			t.Errorf("plan = %s, %v, %v", plan, ok, err)
		}
		if _, ok, _ := tx.CyclePlan(bg, "accounting", "c2"); ok {
			t.Error("a plan of cycle c1 was returned for c2")
		}
		res, err := tx.PrefixResults(bg, "accounting", "c1")
		if err != nil || len(res) != 1 {
			t.Errorf("prefix results = %v, %v; want only aa", res, err)
		}
		must(t, tx.ClearPrefixResults(bg, "accounting", "c2"))
		if _, ok, _ := tx.CyclePlan(bg, "accounting", "c1"); !ok {
			t.Error("clearing prefix results removed the plan")
		}
		must(t, tx.PutCyclePlan(bg, "accounting", "c2", json.RawMessage(`{}`)))
		if _, ok, _ := tx.CyclePlan(bg, "accounting", "c1"); ok {
			t.Error("a new cycle's plan did not replace the old one")
		}
		return nil
	})
}
