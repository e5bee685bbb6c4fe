package leasedb

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
)

var claimT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func prefixesOf(ps ...string) []sharestore.Prefix {
	out := make([]sharestore.Prefix, len(ps))
	for i, p := range ps {
		out[i] = sharestore.Prefix(p)
	}
	return out
}

func mustClaim(t *testing.T, db *DB, id, holder string, now time.Time, n int, want ...string) {
	t.Helper()
	got, err := db.ClaimPrefixes(context.Background(), "acct", id, holder, now, now.Add(time.Minute), n)
	if err != nil {
		t.Fatalf("%s claims: %v", holder, err)
	}
	if !slices.Equal(got, prefixesOf(want...)) {
		t.Fatalf("%s claimed %v at %s, want %v", holder, got, now.Sub(claimT0), want)
	}
}

// One shared cycle through its life: one starter, claims that never
// overlap, a claim taken over after its deadline (whose late work is
// refused), a released prefix that waits its pause, one finisher, and
// the next cycle.
func TestSharedCycleClaims(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	if _, ok, err := db.SharedCycle(ctx, "acct"); err != nil || ok {
		t.Fatalf("SharedCycle of a new database = %v, %v", ok, err)
	}
	c0 := SharedCycle{Number: 0, ID: "0@1", Start: claimT0, Holder: "w1", Deadline: claimT0.Add(time.Minute), Store: "disk:/s"}
	if ok, err := db.TakeCycleStart(ctx, "acct", "", c0, claimT0); err != nil || !ok {
		t.Fatalf("first start = %v, %v", ok, err)
	}
	c0b := c0
	c0b.Holder, c0b.ID = "w2", "0@2"
	if ok, err := db.TakeCycleStart(ctx, "acct", "", c0b, claimT0); err != nil || ok {
		t.Fatalf("a second worker took the start too: %v, %v", ok, err)
	}
	if err := db.OpenCycle(ctx, "acct", "0@1", "w2", prefixesOf("aa")); !errors.Is(err, sharestore.ErrConflict) {
		t.Fatalf("OpenCycle by a worker that is not the starter = %v", err)
	}
	if err := db.OpenCycle(ctx, "acct", "0@1", "w1", prefixesOf("aa", "ab", "ac", "ad")); err != nil {
		t.Fatal(err)
	}
	if c, _, _ := db.SharedCycle(ctx, "acct"); c.State != CycleRunning || c.Holder != "" || c.Number != 0 || !c.Start.Equal(claimT0) {
		t.Fatalf("record after OpenCycle = %+v", c)
	}

	mustClaim(t, db, "0@1", "w1", claimT0, 2, "aa", "ab")
	mustClaim(t, db, "0@1", "w2", claimT0, 5, "ac", "ad")
	mustClaim(t, db, "0@1", "w3", claimT0, 5)

	check := func(p, holder string) error {
		return db.Update(ctx, func(tx *Tx) error { return tx.CheckClaim(ctx, "acct", "0@1", sharestore.Prefix(p), holder) })
	}
	if err := check("aa", "w1"); err != nil {
		t.Fatalf("the holder's check: %v", err)
	}
	if err := check("aa", "w2"); !errors.Is(err, sharestore.ErrConflict) {
		t.Fatalf("another worker's check = %v", err)
	}

	// w2 renews; w1 does not, and loses its claims after their deadline.
	later := claimT0.Add(90 * time.Second)
	if n, err := db.RenewClaims(ctx, "acct", "0@1", "w2", later.Add(time.Minute)); err != nil || n != 2 {
		t.Fatalf("RenewClaims = %d, %v", n, err)
	}
	mustClaim(t, db, "0@1", "w3", later, 5, "aa", "ab")
	if err := check("aa", "w1"); !errors.Is(err, sharestore.ErrConflict) {
		t.Fatalf("check by the worker whose claim was taken = %v", err)
	}
	lost, remaining, err := db.CompleteClaims(ctx, "acct", "0@1", "w1", []ClaimOutcome{{Prefix: "aa", Result: json.RawMessage(`"late"`)}})
	if err != nil || !slices.Equal(lost, prefixesOf("aa")) || remaining != 4 {
		t.Fatalf("late completion = %v, %d, %v", lost, remaining, err)
	}

	// A failed attempt releases the prefix until its pause is over.
	if n, done, held, err := db.FailClaim(ctx, "acct", "0@1", "ab", "w3", json.RawMessage(`{}`), 3, later.Add(time.Hour)); err != nil || !held || done || n != 1 {
		t.Fatalf("FailClaim = %d, %v, %v, %v", n, done, held, err)
	}
	if _, _, held, err := db.FailClaim(ctx, "acct", "0@1", "ab", "w3", nil, 3, later); err != nil || held {
		t.Fatalf("second failure of a released prefix = %v, %v", held, err)
	}
	mustClaim(t, db, "0@1", "w1", later.Add(time.Second), 5)

	lost, remaining, err = db.CompleteClaims(ctx, "acct", "0@1", "w3", []ClaimOutcome{{Prefix: "aa", Result: json.RawMessage(`{"n":1}`)}})
	if err != nil || len(lost) != 0 || remaining != 3 {
		t.Fatalf("completion = %v, %d, %v", lost, remaining, err)
	}
	lost, remaining, err = db.CompleteClaims(ctx, "acct", "0@1", "w2", []ClaimOutcome{{Prefix: "ac"}, {Prefix: "ad", Failure: json.RawMessage(`{"class":"CORRUPT"}`)}})
	if err != nil || len(lost) != 0 || remaining != 1 {
		t.Fatalf("completion = %v, %d, %v", lost, remaining, err)
	}
	if ok, err := db.TakeCycleFinish(ctx, "acct", "0@1", "w2", later, later.Add(time.Minute)); err != nil || ok {
		t.Fatalf("finish with a prefix left = %v, %v", ok, err)
	}
	mustClaim(t, db, "0@1", "w1", later.Add(2*time.Hour), 5, "ab")
	if _, remaining, err = db.CompleteClaims(ctx, "acct", "0@1", "w1", []ClaimOutcome{{Prefix: "ab"}}); err != nil || remaining != 0 {
		t.Fatalf("last completion = %d, %v", remaining, err)
	}

	claims, err := db.Claims(ctx, "acct", "0@1")
	if err != nil || len(claims) != 4 {
		t.Fatalf("Claims = %v, %v", claims, err)
	}
	if string(claims[0].Result) != `{"n":1}` || claims[1].Attempts != 1 || string(claims[3].Failure) != `{"class":"CORRUPT"}` || !claims[2].Done || claims[2].Holder != "" {
		t.Fatalf("Claims = %+v", claims)
	}

	if done, failed, err := db.ClaimProgress(ctx, "acct", "0@1"); err != nil || done != 4 || len(failed) != 1 || failed[0].Prefix != "ad" {
		t.Fatalf("ClaimProgress = %d, %+v, %v", done, failed, err)
	}

	end := later.Add(3 * time.Hour)
	if ok, err := db.TakeCycleFinish(ctx, "acct", "0@1", "w2", end, end.Add(time.Minute)); err != nil || !ok {
		t.Fatalf("TakeCycleFinish = %v, %v", ok, err)
	}
	if ok, err := db.TakeCycleFinish(ctx, "acct", "0@1", "w3", end, end.Add(time.Minute)); err != nil || ok {
		t.Fatalf("a second finisher = %v, %v", ok, err)
	}
	if err := db.EndCycle(ctx, "acct", "0@1", "w3", end, nil); !errors.Is(err, sharestore.ErrConflict) {
		t.Fatalf("EndCycle by a worker that is not the finisher = %v", err)
	}
	if err := db.EndCycle(ctx, "acct", "0@1", "w2", end, json.RawMessage(`{"count":6}`)); err != nil {
		t.Fatal(err)
	}
	c, _, err := db.SharedCycle(ctx, "acct")
	if err != nil || c.State != CycleFinished || !c.End.Equal(end) || string(c.Extra) != `{"count":6}` || c.Holder != "" {
		t.Fatalf("finished record = %+v, %v", c, err)
	}

	// Another store is refused; the next cycle has one starter, and a
	// starter that does not open its cycle in time is replaced.
	other := SharedCycle{Number: 1, ID: "1@5", Start: end, Holder: "w1", Deadline: end.Add(time.Minute), Store: "disk:/other"}
	if _, err := db.TakeCycleStart(ctx, "acct", "0@1", other, end); !errors.Is(err, sharestore.ErrConflict) {
		t.Fatalf("start for another store = %v", err)
	}
	c1 := SharedCycle{Number: 1, ID: "1@5", Start: end, Holder: "w1", Deadline: end.Add(time.Minute), Store: "disk:/s"}
	if ok, err := db.TakeCycleStart(ctx, "acct", "0@1", c1, end); err != nil || !ok {
		t.Fatalf("next start = %v, %v", ok, err)
	}
	c1b := SharedCycle{Number: 1, ID: "1@6", Start: end, Holder: "w2", Deadline: end.Add(2 * time.Minute), Store: "disk:/s"}
	if ok, err := db.TakeCycleStart(ctx, "acct", "1@5", c1b, end.Add(30*time.Second)); err != nil || ok {
		t.Fatalf("start taken from a live starter = %v, %v", ok, err)
	}
	if ok, err := db.TakeCycleStart(ctx, "acct", "1@5", c1b, end.Add(2*time.Minute)); err != nil || !ok {
		t.Fatalf("start taken from a starter past its deadline = %v, %v", ok, err)
	}
	if err := db.OpenCycle(ctx, "acct", "1@5", "w1", prefixesOf("aa")); !errors.Is(err, sharestore.ErrConflict) {
		t.Fatalf("OpenCycle by the replaced starter = %v", err)
	}
	if c, _, _ := db.SharedCycle(ctx, "acct"); string(c.Extra) != `{"count":6}` || c.ID != "1@6" || c.State != CycleStarting {
		t.Fatalf("record of the replaced start = %+v", c)
	}
}

// Prefixes stopped for good are reopened for a later try.
func TestReopenClaims(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	c := SharedCycle{ID: "0@1", Start: claimT0, Holder: "w1", Deadline: claimT0.Add(time.Minute), Store: "s"}
	if _, err := db.TakeCycleStart(ctx, "acct", "", c, claimT0); err != nil {
		t.Fatal(err)
	}
	if err := db.OpenCycle(ctx, "acct", "0@1", "w1", prefixesOf("aa", "ab")); err != nil {
		t.Fatal(err)
	}
	mustClaim(t, db, "0@1", "w1", claimT0, 2, "aa", "ab")
	for _, p := range []sharestore.Prefix{"aa", "ab"} {
		if n, done, held, err := db.FailClaim(ctx, "acct", "0@1", p, "w1", json.RawMessage(`{"class":"PERMISSION_DENIED"}`), 1, claimT0); err != nil || !held || !done || n != 1 {
			t.Fatalf("FailClaim(%s) = %d, %v, %v, %v", p, n, done, held, err)
		}
	}
	claims, _ := db.Claims(ctx, "acct", "0@1")
	if string(claims[0].Failure) != `{"class":"PERMISSION_DENIED"}` || !claims[0].Done || !claims[0].Deadline.IsZero() {
		t.Fatalf("claim failed for good = %+v", claims[0])
	}
	if err := db.ReopenClaims(ctx, "acct", "0@1", prefixesOf("ab")); err != nil {
		t.Fatal(err)
	}
	mustClaim(t, db, "0@1", "w2", claimT0, 2, "ab")
	claims, _ = db.Claims(ctx, "acct", "0@1")
	if claims[1].Failure != nil || claims[1].Done || claims[1].Attempts != 0 {
		t.Fatalf("reopened claim = %+v", claims[1])
	}
}
