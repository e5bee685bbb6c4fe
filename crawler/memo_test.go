package crawler

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/disk"
	"github.com/sharestore/sharestore/leasedb"
	"github.com/sharestore/sharestore/share"
)

// A memo world is a small disk store with its lease database. The tests
// below build two identical worlds, one whose crawler may settle
// prefixes from their memos and one whose crawler reconciles every
// prefix in full, change both the same way, and require the same
// results from both: the prefix results, the history, the lease
// database and the shares left. They also require that the short cut
// was taken, so a short cut that is never used cannot pass them.
type memoWorld struct {
	dir   string
	b     *disk.Backend
	db    *leasedb.DB
	clock *FakeClock
	memo  bool
}

// memoPrefixes are the prefixes the worlds' shares live in.
var memoPrefixes = []int{3, 40, 41, 500, 1023}

// memoSI returns the j-th storage index of the world in prefix k.
func memoSI(k int, j byte) sharestore.StorageIndex { return siAt(k, j) }

func newMemoWorld(t *testing.T, memo bool) *memoWorld {
	return newMemoWorldOf(t, memo, memoPrefixes, 3)
}

// newMemoWorldOf builds a world with sis storage indexes, two shares
// each, in each of prefixes, plus a mutable and a corrupt share.
func newMemoWorldOf(t *testing.T, memo bool, prefixes []int, sis byte) *memoWorld {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	b, err := disk.Open(filepath.Join(dir, "store"), disk.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	w := &memoWorld{dir: dir, b: b, clock: NewFakeClock(t0), memo: memo}
	w.openDB(t)
	t.Cleanup(func() { w.db.Close(); b.Close() })
	for _, k := range prefixes {
		for j := byte(0); j < sis; j++ {
			for shnum := 0; shnum < 2; shnum++ {
				w.put(t, memoSI(k, j), shnum, 10+int(j))
			}
		}
	}
	// One mutable share and one corrupt share.
	ok, _, err := b.Shareset(memoSI(41, 9)).TestAndReadAndWrite(ctx, sharestore.WriteEnabler{1},
		[]sharestore.TestAndWrite{{Shnum: 0, Writes: []sharestore.DataVector{{Offset: 0, Data: []byte("mutable data")}}}}, nil)
	if !ok || err != nil {
		t.Fatal(err)
	}
	junk := "this is not a share container"
	if err := b.Shareset(memoSI(500, 9)).PutRaw(ctx, 1, strings.NewReader(junk), int64(len(junk))); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *memoWorld) openDB(t *testing.T) {
	t.Helper()
	db, err := leasedb.Open(context.Background(), filepath.Join(w.dir, "leasedb.sqlite"), leasedb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w.db = db
}

// put stores an immutable share with n data bytes.
func (w *memoWorld) put(t *testing.T, si sharestore.StorageIndex, shnum, n int) {
	t.Helper()
	raw := append(share.NewImmutableHeader(1, int64(n)), []byte(strings.Repeat("d", n))...)
	if err := w.b.Shareset(si).PutRaw(context.Background(), shnum, strings.NewReader(string(raw)), int64(len(raw))); err != nil {
		t.Fatal(err)
	}
}

// cycle runs one whole accounting cycle with policy, as a fresh process
// would, and returns the prefixes settled from memos and a canonical
// picture of the outcome.
func (w *memoWorld) cycle(t *testing.T, policy leasedb.ExpirationPolicy) (hits int, outcome string) {
	t.Helper()
	ctx := context.Background()
	a, err := NewAccounting(w.b, w.db, w.clock, AccountingConfig{Policy: policy, Logger: quiet, Prefetch: true})
	if err != nil {
		t.Fatal(err)
	}
	a.noMemo = !w.memo
	e, err := New(a, filepath.Join(w.dir, "accounting.json"), w.clock, Config{CPUSlice: time.Hour, OneShot: true, Logger: quiet}, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Run(ctx); err != nil {
		t.Fatal(err)
	}
	var results map[sharestore.Prefix]json.RawMessage
	var dump *leasedb.Dump
	var plan json.RawMessage
	err = w.db.View(ctx, func(tx *leasedb.Tx) error {
		var err error
		if results, err = tx.PrefixResults(ctx, AccountingName, a.LastCycleID()); err != nil {
			return err
		}
		if plan, _, err = tx.CyclePlan(ctx, planName(), a.LastCycleID()); err != nil {
			return err
		}
		dump, err = tx.Dump(ctx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	decoded := map[sharestore.Prefix]PrefixResult{}
	for p, raw := range results {
		var r PrefixResult
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatal(err)
		}
		decoded[p] = r
	}
	var stored []sharestore.ShareInfo
	for i := 0; i < sharestore.NumPrefixes; i++ {
		l, err := sharestore.ListOne(ctx, w.b, sharestore.PrefixAt(i), false)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range l.Shares {
			s.ModTime = time.Time{}
			stored = append(stored, s)
		}
	}
	js, err := json.MarshalIndent(map[string]any{"results": decoded, "plan": plan, "leasedb": dump, "stored": stored}, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return a.memoHits, string(js)
}

// sql opens the world's lease database as another program would.
func (w *memoWorld) sql(t *testing.T, stmt string, args ...any) {
	t.Helper()
	conn, err := sql.Open("sqlite", filepath.Join(w.dir, "leasedb.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	res, err := conn.Exec(stmt, args...)
	if err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
	if n, _ := res.RowsAffected(); n == 0 && !strings.HasPrefix(stmt, "DROP") {
		t.Fatalf("%s changed no row", stmt)
	}
}

// shareFile is the path of a share in the world's disk store.
func (w *memoWorld) shareFile(si sharestore.StorageIndex, shnum int) string {
	return filepath.Join(w.dir, "store", "shares", string(si.Prefix()), si.String(), string(rune('0'+shnum)))
}

var day = 24 * time.Hour

// TestMemoDetectsEveryChange runs, for each kind of change, two cycles
// to make every prefix steady and a third after the change, in twin
// worlds with and without memos. The third cycle's outcome must be the
// same in both, the changed prefix must not be settled from its memo,
// and the others must be.
func TestMemoDetectsEveryChange(t *testing.T) {
	renewed := memoSI(40, 1)
	none := leasedb.ExpirationPolicy{}
	cases := []struct {
		name string
		// change alters w before the third cycle and returns that
		// cycle's policy; missed is how many of the occupied prefixes
		// may not be settled from memos.
		change func(t *testing.T, w *memoWorld) leasedb.ExpirationPolicy
		missed int
		// before is the policy of the first two cycles.
		before leasedb.ExpirationPolicy
	}{
		{"nothing", func(t *testing.T, w *memoWorld) leasedb.ExpirationPolicy { return none }, 0, none},
		{"nothing, with expiry on", func(t *testing.T, w *memoWorld) leasedb.ExpirationPolicy {
			return leasedb.ExpirationPolicy{Enabled: true, Mode: leasedb.ModeAge, Override: 9 * day}
		}, 0, leasedb.ExpirationPolicy{Enabled: true, Mode: leasedb.ModeAge, Override: 9 * day}},
		{"size grows", func(t *testing.T, w *memoWorld) leasedb.ExpirationPolicy {
			f, err := os.OpenFile(w.shareFile(memoSI(3, 0), 1), os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write([]byte("more"))
			f.Close()
			return none
		}, 1, none},
		{"new share", func(t *testing.T, w *memoWorld) leasedb.ExpirationPolicy {
			w.put(t, memoSI(41, 7), 4, 20)
			return none
		}, 1, none},
		{"vanished share", func(t *testing.T, w *memoWorld) leasedb.ExpirationPolicy {
			if err := os.Remove(w.shareFile(memoSI(1023, 2), 0)); err != nil {
				t.Fatal(err)
			}
			return none
		}, 1, none},
		{"lease expires by its expiration time", func(t *testing.T, w *memoWorld) leasedb.ExpirationPolicy {
			// Starter leases run 60 days; the third cycle starts after.
			w.clock.Advance(60 * day)
			return leasedb.ExpirationPolicy{Enabled: true, Mode: leasedb.ModeAge}
		}, -1, leasedb.ExpirationPolicy{Enabled: true, Mode: leasedb.ModeAge}},
		{"lease expires by the age override", func(t *testing.T, w *memoWorld) leasedb.ExpirationPolicy {
			w.clock.Advance(8 * day)
			return leasedb.ExpirationPolicy{Enabled: true, Mode: leasedb.ModeAge, Override: 9 * day}
		}, -1, leasedb.ExpirationPolicy{Enabled: true, Mode: leasedb.ModeAge, Override: 9 * day}},
		{"policy changes to a cutoff date", func(t *testing.T, w *memoWorld) leasedb.ExpirationPolicy {
			return leasedb.ExpirationPolicy{Enabled: true, Mode: leasedb.ModeCutoffDate, CutoffDate: t0.Add(day)}
		}, -1, none},
		{"lease row deleted by another program", func(t *testing.T, w *memoWorld) leasedb.ExpirationPolicy {
			w.sql(t, "DELETE FROM leases WHERE storage_index = ? AND shnum = 0", renewed.String())
			return none
		}, 1, none},
		{"lease renewal edited by another program", func(t *testing.T, w *memoWorld) leasedb.ExpirationPolicy {
			w.sql(t, "UPDATE leases SET renewal_time = renewal_time - 864000 WHERE storage_index = ? AND shnum = 1", renewed.String())
			return none
		}, 1, none},
		{"lease added by another program", func(t *testing.T, w *memoWorld) leasedb.ExpirationPolicy {
			w.sql(t, "INSERT INTO leases VALUES (?, 1, 0, ?, NULL)", renewed.String(), t0.Add(-30*day).Unix())
			return none
		}, 1, none},
		{"share type edited by another program", func(t *testing.T, w *memoWorld) leasedb.ExpirationPolicy {
			w.sql(t, "UPDATE shares SET sharetype = 1 WHERE storage_index = ? AND shnum = 0", renewed.String())
			return none
		}, 1, none},
		{"used space edited by another program", func(t *testing.T, w *memoWorld) leasedb.ExpirationPolicy {
			w.sql(t, "UPDATE shares SET used_space = used_space + 1 WHERE storage_index = ? AND shnum = 0", renewed.String())
			return none
		}, 1, none},
		{"triggers dropped, then a lease deleted", func(t *testing.T, w *memoWorld) leasedb.ExpirationPolicy {
			w.db.Close()
			w.sql(t, "DROP TRIGGER prefix_changes_leases_delete")
			w.sql(t, "DELETE FROM leases WHERE storage_index = ?", renewed.String())
			w.openDB(t)
			return none
		}, -1, none},
		{"lease database lost", func(t *testing.T, w *memoWorld) leasedb.ExpirationPolicy {
			w.db.Close()
			for _, suffix := range []string{"", "-wal", "-shm"} {
				os.Remove(filepath.Join(w.dir, "leasedb.sqlite"+suffix))
			}
			w.openDB(t)
			return none
		}, -1, none},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var outcomes [2]string
			for i, memo := range []bool{true, false} {
				w := newMemoWorld(t, memo)
				w.cycle(t, c.before)
				w.clock.Advance(day)
				hits, _ := w.cycle(t, c.before)
				if memo && hits != len(memoPrefixes) {
					t.Fatalf("steady cycle settled %d prefixes from memos, want %d", hits, len(memoPrefixes))
				}
				w.clock.Advance(day + 7*time.Hour)
				policy := c.change(t, w)
				hits, outcomes[i] = w.cycle(t, policy)
				switch {
				case !memo && hits != 0:
					t.Fatalf("memos off, yet %d prefixes were settled from them", hits)
				case memo && c.missed >= 0 && hits != len(memoPrefixes)-c.missed:
					t.Fatalf("settled %d prefixes from memos after the change, want %d", hits, len(memoPrefixes)-c.missed)
				case memo && c.missed < 0 && hits != 0:
					t.Fatalf("settled %d prefixes from memos after the change, want none", hits)
				}
			}
			if outcomes[0] != outcomes[1] {
				t.Fatalf("with memos the cycle gave\n%s\nwithout them\n%s", outcomes[0], outcomes[1])
			}
		})
	}
}

// TestMemoForecast checks the deletion forecast a cycle makes from its
// memos against the database-wide one, in a store with shares in every
// prefix (so the forecast asks the changed prefixes one by one), after
// another program removed leases in two prefixes.
func TestMemoForecast(t *testing.T) {
	all := make([]int, sharestore.NumPrefixes)
	for i := range all {
		all[i] = i
	}
	policy := leasedb.ExpirationPolicy{Enabled: true, Mode: leasedb.ModeAge} // nothing expires in these days
	var outcomes [2]string
	for i, memo := range []bool{true, false} {
		w := newMemoWorldOf(t, memo, all, 1)
		w.cycle(t, policy)
		w.clock.Advance(day)
		if hits, _ := w.cycle(t, policy); memo && hits != sharestore.NumPrefixes {
			t.Fatalf("steady cycle settled %d prefixes from memos", hits)
		}
		w.sql(t, "DELETE FROM leases WHERE storage_index IN (?, ?) AND shnum = 1", memoSI(7, 0).String(), memoSI(900, 0).String())
		w.clock.Advance(day)
		hold := DeleteLimits{HoldAbovePercent: 0.05} // 2 of 2050 shares is more
		a, err := NewAccounting(w.b, w.db, w.clock, AccountingConfig{Logger: quiet, Limits: hold, Policy: policy})
		if err != nil {
			t.Fatal(err)
		}
		a.noMemo = !memo
		cycle := Cycle{ID: "forecast", Number: 3, Start: w.clock.Now()}
		if err := a.StartedCycle(context.Background(), cycle); err != nil {
			t.Fatal(err)
		}
		var plan deletionPlan
		err = w.db.View(context.Background(), func(tx *leasedb.Tx) error {
			raw, _, err := tx.CyclePlan(context.Background(), planName(), cycle.ID)
			if err == nil {
				err = json.Unmarshal(raw, &plan)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if plan.Forecast.Shares != 2*sharestore.NumPrefixes+2 || plan.Forecast.Unleased != 2 {
			t.Fatalf("memos %v: forecast %+v, want 2050 shares and 2 unleased", memo, plan.Forecast)
		}
		if a.HeldReason() == "" {
			t.Fatalf("memos %v: the cycle is not held back", memo)
		}
		outcomes[i] = a.HeldReason()
	}
	if outcomes[0] != outcomes[1] {
		t.Fatalf("held with memos: %q, without: %q", outcomes[0], outcomes[1])
	}
}
