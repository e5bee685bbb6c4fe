package leasedb

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"github.com/sharestore/sharestore"
)

func TestPrefixResults(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	err := db.Update(ctx, func(tx *Tx) error {
		if err := tx.PutPrefixResult(ctx, "acct", "c1", "aa", json.RawMessage(`{"n":1}`)); err != nil {
			return err
		}
		if err := tx.PutPrefixResult(ctx, "acct", "c1", "aa", json.RawMessage(`{"n":2}`)); err != nil {
			return err
		}
		return tx.PutPrefixResult(ctx, "acct", "c0", "ab", json.RawMessage(`{"n":3}`))
	})
	if err != nil {
		t.Fatal(err)
	}
	db.View(ctx, func(tx *Tx) error {
		r, ok, err := tx.PrefixResult(ctx, "acct", "c1", "aa")
		if !ok || err != nil || string(r) != `{"n":2}` {
			t.Fatalf("replace: %s %v %v", r, ok, err)
		}
		if _, ok, _ := tx.PrefixResult(ctx, "acct", "c1", "ab"); ok {
			t.Fatal("result of another cycle returned")
		}
		return nil
	})
	// A rolled-back transaction leaves no result.
	tx, _ := db.Begin(ctx)
	tx.PutPrefixResult(ctx, "acct", "c1", "ac", json.RawMessage(`{}`))
	tx.Rollback()
	db.Update(ctx, func(tx *Tx) error { return tx.ClearPrefixResults(ctx, "acct", "c1") })
	db.View(ctx, func(tx *Tx) error {
		all, err := tx.PrefixResults(ctx, "acct", "c1")
		if err != nil || len(all) != 1 || string(all["aa"]) != `{"n":2}` {
			t.Fatalf("results %v %v", all, err)
		}
		old, _ := tx.PrefixResults(ctx, "acct", "c0")
		if len(old) != 0 {
			t.Fatal("old cycle not cleared")
		}
		return nil
	})
}

// CycleIDs names every cycle with a stored result or plan of the crawler,
// and no other crawler's.
func TestCycleIDs(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	err := db.Update(ctx, func(tx *Tx) error {
		for _, put := range []error{
			tx.PutPrefixResult(ctx, "acct", "7@1", "aa", json.RawMessage(`{}`)),
			tx.PutPrefixResult(ctx, "acct", "7@1", "ab", json.RawMessage(`{}`)),
			tx.PutPrefixResult(ctx, "acct", "6@0", "ac", json.RawMessage(`{}`)),
			tx.PutCyclePlan(ctx, "acct", "9@2", json.RawMessage(`{}`)),
			tx.PutPrefixResult(ctx, "other", "12@3", "aa", json.RawMessage(`{}`)),
		} {
			if put != nil {
				return put
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db.View(ctx, func(tx *Tx) error {
		ids, err := tx.CycleIDs(ctx, "acct")
		if err != nil || len(ids) != 3 || ids[0] != "6@0" || ids[1] != "7@1" || ids[2] != "9@2" {
			t.Fatalf("cycle IDs %v %v", ids, err)
		}
		return nil
	})
}

// PutPrefixResults stores a batch as PutPrefixResult would, replacing
// earlier results, and leaves its argument as it was.
func TestPutPrefixResults(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	update(t, db, func(tx *Tx) error {
		return tx.PutPrefixResult(ctx, "acct", "c1", "ab", json.RawMessage(`{"old":1}`))
	})
	rows := []PrefixResultRow{
		{Cycle: "c1", Prefix: "zz", Result: json.RawMessage(`{"n":3}`)},
		{Cycle: "c1", Prefix: "ab", Result: json.RawMessage(`{"n":1}`)},
		{Cycle: "c1", Prefix: "aa", Result: json.RawMessage(`{"n":2}`)},
	}
	before := slices.Clone(rows)
	must(t, db.PutPrefixResults(ctx, "acct", rows))
	must(t, db.PutPrefixResults(ctx, "acct", nil))
	if !reflect.DeepEqual(rows, before) {
		t.Fatalf("PutPrefixResults reordered its argument: %v", rows)
	}
	must(t, db.View(ctx, func(tx *Tx) error {
		all, err := tx.PrefixResults(ctx, "acct", "c1")
		want := map[string]string{"aa": `{"n":2}`, "ab": `{"n":1}`, "zz": `{"n":3}`}
		if err != nil || len(all) != len(want) {
			t.Fatalf("results %v %v, want %v", all, err, want)
		}
		for p, js := range want {
			if string(all[sharestore.Prefix(p)]) != js {
				t.Errorf("result of %s: %s, want %s", p, all[sharestore.Prefix(p)], js)
			}
		}
		return nil
	}))
}
