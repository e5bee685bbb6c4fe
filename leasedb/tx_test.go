package leasedb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
)

// A reader is served while a writer's transaction is open, sees only
// committed state, and sees the writer's work once it commits.
func TestReaderDuringWriter(t *testing.T) {
	db := openTest(t)
	si := mkSI(0, 1)
	update(t, db, func(tx *Tx) error { return tx.AddDiscoveredShare(bg, si, 0, 1, 0) })

	tx, err := db.Begin(bg)
	must(t, err)
	defer tx.Rollback()
	must(t, tx.AddDiscoveredShare(bg, si, 1, 1, 0))
	must(t, tx.AddStarterLease(bg, si, 1, t0))
	// The writer sees its own work.
	if rows, err := tx.SharesForPrefix(bg, "aa"); err != nil || len(rows) != 2 {
		t.Fatalf("writer sees %v, %v", rows, err)
	}

	// Readers must not wait for the writer. The deadline only turns a
	// regression (a reader blocked behind the writer) into a failure
	// instead of a hang; nothing here sleeps.
	ctx, cancel := context.WithTimeout(bg, 10*time.Second)
	defer cancel()
	rows, err := db.SharesForPrefix(ctx, "aa")
	if err != nil || len(rows) != 1 {
		t.Fatalf("reader during writer: %v, %v; want the one committed row", rows, err)
	}
	err = db.View(ctx, func(rtx *Tx) error {
		st, err := rtx.Stats(ctx)
		if st != (Stats{0, 0, 1}) {
			t.Errorf("stats during writer = %+v", st)
		}
		return err
	})
	must(t, err)

	// A second writer waits; with an expired context it gives up with a
	// context error rather than blocking for ever.
	short, cancel2 := context.WithCancel(bg)
	cancel2()
	if _, err := db.Begin(short); !errors.Is(err, sharestore.ErrCanceled) {
		t.Errorf("second Begin while a writer is open: %v", err)
	}

	must(t, tx.Commit())
	rows, err = db.SharesForPrefix(ctx, "aa")
	if err != nil || len(rows) != 2 {
		t.Fatalf("reader after commit: %v, %v", rows, err)
	}
	if err := tx.Rollback(); err != nil {
		t.Errorf("Rollback after Commit = %v, want nil", err)
	}
	wantCode(t, tx.Commit(), sharestore.ErrConflict)
	wantCode(t, tx.AddDiscoveredShare(bg, si, 9, 1, 0), sharestore.ErrConflict)
}

// A View keeps one snapshot even while writers commit.
func TestViewSnapshot(t *testing.T) {
	db := openTest(t)
	si := mkSI(0, 1)
	update(t, db, func(tx *Tx) error { return tx.AddDiscoveredShare(bg, si, 0, 1, 0) })
	err := db.View(bg, func(rtx *Tx) error {
		first, err := rtx.SharesForPrefix(bg, "aa")
		must(t, err)
		update(t, db, func(tx *Tx) error { return tx.AddDiscoveredShare(bg, si, 1, 1, 0) })
		second, err := rtx.SharesForPrefix(bg, "aa")
		if len(first) != 1 || len(second) != 1 {
			t.Errorf("snapshot changed: %d then %d rows", len(first), len(second))
		}
		wantCode(t, rtx.AddDiscoveredShare(bg, si, 2, 1, 0), sharestore.ErrInvalidArgument)
		return err
	})
	must(t, err)
	if rows, _ := db.SharesForPrefix(bg, "aa"); len(rows) != 2 {
		t.Errorf("after View: %d rows", len(rows))
	}
}

// One prefix's work is committed whole or not at all.
func TestUpdateRollsBack(t *testing.T) {
	db := openTest(t)
	si := mkSI(0, 1)
	boom := errors.New("boom")
	err := db.Update(bg, func(tx *Tx) error {
		must(t, tx.AddDiscoveredShare(bg, si, 0, 1, 0))
		must(t, tx.AddStarterLease(bg, si, 0, t0))
		return boom
	})
	if err != boom {
		t.Errorf("Update returned %v, want fn's error unchanged", err)
	}
	func() {
		defer func() {
			if p := recover(); p != "panic in fn" {
				t.Errorf("recovered %v", p)
			}
		}()
		db.Update(bg, func(tx *Tx) error {
			must(t, tx.AddDiscoveredShare(bg, si, 0, 1, 0))
			panic("panic in fn")
		})
	}()
	d, err := db.Dump(bg)
	must(t, err)
	if len(d.Shares) != 0 || len(d.Leases) != 0 {
		t.Errorf("rolled-back work is visible: %+v", d)
	}
	// The writer connection is usable again.
	update(t, db, func(tx *Tx) error { return tx.AddDiscoveredShare(bg, si, 0, 1, 0) })
}

func TestDumpCanonical(t *testing.T) {
	a, b := mkSI(0, 1), mkSI(1, 0)
	build := func(reverse bool) *DB {
		db := openTest(t)
		steps := []func(tx *Tx) error{
			func(tx *Tx) error { return tx.AddDiscoveredShare(bg, a, 1, 100, sharestore.ShareTypeMutable) },
			func(tx *Tx) error { return tx.AddNewShare(bg, a, 0, 200, sharestore.ShareTypeImmutable, t0) },
			func(tx *Tx) error { return tx.AddDiscoveredShare(bg, b, 0, 300, sharestore.ShareTypeUnknown) },
			func(tx *Tx) error {
				return tx.AddHistoryEntry(bg, 4, json.RawMessage(`{ "b": [1, 2], "a": null }`), 10)
			},
			func(tx *Tx) error { return tx.AddHistoryEntry(bg, 3, json.RawMessage(`"x"`), 10) },
		}
		leases := []func(tx *Tx) error{
			func(tx *Tx) error { return tx.AddStarterLease(bg, b, 0, t0) },
			func(tx *Tx) error { return tx.AddOrRenewLease(bg, a, 1, AccountAnonymous, t0, time.Time{}) },
			func(tx *Tx) error { return tx.AddStarterLease(bg, a, 1, t0) },
		}
		if reverse {
			for i, j := 0, len(steps)-1; i < j; i, j = i+1, j-1 {
				steps[i], steps[j] = steps[j], steps[i]
			}
			leases[0], leases[2] = leases[2], leases[0]
		}
		update(t, db, func(tx *Tx) error {
			for _, s := range append(steps, leases...) {
				must(t, s(tx))
			}
			return nil
		})
		return db
	}
	dump := func(db *DB) string {
		d, err := db.Dump(bg)
		must(t, err)
		out, err := json.Marshal(d)
		must(t, err)
		return string(out)
	}
	got := dump(build(false))
	if again := dump(build(true)); again != got {
		t.Errorf("dump depends on insertion order:\n%s\n%s", got, again)
	}
	const want = `{"schema_version":4,` +
		`"accounts":[{"id":0,"pubkey_vs":"anonymous","creation_time":0},{"id":1,"pubkey_vs":"starter","creation_time":0}],` +
		`"shares":[{"storage_index":"aaaaaaaaaaaaaaaaaaaaaaaaae","shnum":0,"used_space":200,"sharetype":0,"state":0,"coming_since":1700000000},` +
		`{"storage_index":"aaaaaaaaaaaaaaaaaaaaaaaaae","shnum":1,"used_space":100,"sharetype":1,"state":1},` +
		`{"storage_index":"aeaqcaibaeaqcaibaeaqcaibae","shnum":0,"used_space":300,"sharetype":3,"state":1}],` +
		`"leases":[{"storage_index":"aaaaaaaaaaaaaaaaaaaaaaaaae","shnum":1,"account_id":0,"renewal_time":1700000000},` +
		`{"storage_index":"aaaaaaaaaaaaaaaaaaaaaaaaae","shnum":1,"account_id":1,"renewal_time":1700000000,"expiration_time":1705184000},` +
		`{"storage_index":"aeaqcaibaeaqcaibaeaqcaibae","shnum":0,"account_id":1,"renewal_time":1700000000,"expiration_time":1705184000}],` +
		`"history":[{"cycle":3,"entry":"x"},{"cycle":4,"entry":{"b":[1,2],"a":null}}]}`
	if got != want {
		t.Errorf("dump:\n got %s\nwant %s", got, want)
	}
	empty := dump(openTest(t))
	if empty != `{"schema_version":4,"accounts":[{"id":0,"pubkey_vs":"anonymous","creation_time":0},{"id":1,"pubkey_vs":"starter","creation_time":0}],"shares":[],"leases":[],"history":[]}` {
		t.Errorf("empty dump = %s", empty)
	}
}

// Writers in many goroutines are serialized, readers run beside them, and
// nothing is lost (run with -race).
func TestConcurrentWritersAndReaders(t *testing.T) {
	db := openTest(t)
	const writers, perWriter = 4, 25
	errs := make(chan error, writers+2)
	done := make(chan struct{})
	for w := 0; w < writers; w++ {
		go func(w int) {
			for i := 0; i < perWriter; i++ {
				si := mkSI(byte(w), i+1)
				err := db.Update(bg, func(tx *Tx) error {
					if err := tx.AddDiscoveredShare(bg, si, 0, 10, 0); err != nil {
						return err
					}
					return tx.AddStarterLease(bg, si, 0, t0)
				})
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}(w)
	}
	for r := 0; r < 2; r++ {
		go func() {
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				st, err := db.Stats(bg)
				if err != nil || st.LeasedShares != st.Sharesets || st.LeasedBytes != 10*st.LeasedShares {
					errs <- fmt.Errorf("inconsistent stats %+v, %v", st, err)
					return
				}
			}
		}()
	}
	// Each goroutine sends exactly one result.
	for w := 0; w < writers; w++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	close(done)
	for r := 0; r < 2; r++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	st, err := db.Stats(bg)
	must(t, err)
	if st != (Stats{writers * perWriter, writers * perWriter * 10, writers * perWriter}) {
		t.Errorf("final stats = %+v", st)
	}
}

// Another process holding the write lock makes Begin fail with
// ErrUnavailable once the busy timeout passes, rather than hang.
func TestBusyIsUnavailable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "leasedb.sqlite")
	db, err := Open(bg, path, Options{BusyTimeout: time.Millisecond})
	must(t, err)
	defer db.Close()
	other := rawDB(t, path)
	conn, err := other.Conn(bg)
	must(t, err)
	defer conn.Close()
	_, err = conn.ExecContext(bg, "BEGIN IMMEDIATE")
	must(t, err)
	_, err = db.Begin(bg)
	wantCode(t, err, sharestore.ErrUnavailable)
	// Readers are not blocked by the other process's write lock.
	if _, err := db.Stats(bg); err != nil {
		t.Errorf("Stats while another process writes: %v", err)
	}
	_, err = conn.ExecContext(bg, "ROLLBACK")
	must(t, err)
	tx, err := db.Begin(bg)
	must(t, err)
	must(t, tx.Rollback())
}

// Canceling Begin's context rolls the transaction back; Commit says so.
func TestCancelDuringTransaction(t *testing.T) {
	db := openTest(t)
	ctx, cancel := context.WithCancel(bg)
	tx, err := db.Begin(ctx)
	must(t, err)
	must(t, tx.AddDiscoveredShare(bg, mkSI(0, 0), 0, 1, 0))
	cancel()
	err = tx.Commit()
	if !errors.Is(err, sharestore.ErrCanceled) || !errors.Is(err, context.Canceled) {
		t.Errorf("Commit after cancel: %v", err)
	}
	if rows, _ := db.SharesForPrefix(bg, "aa"); len(rows) != 0 {
		t.Errorf("canceled transaction committed: %v", rows)
	}
	update(t, db, func(tx *Tx) error { return tx.AddDiscoveredShare(bg, mkSI(0, 0), 0, 1, 0) })
}

// OnTx hears of every transaction's end once: a committed write, a
// rolled-back write, and a read snapshot, each with its kind and result.
func TestOnTxReportsEveryTransaction(t *testing.T) {
	type end struct {
		write  bool
		failed bool
	}
	var ends []end
	db := openTestWith(t, Options{OnTx: func(write bool, err error, elapsed time.Duration) {
		if elapsed < 0 {
			t.Errorf("negative elapsed %v", elapsed)
		}
		ends = append(ends, end{write, err != nil})
	}})
	ends = nil // whatever Open itself ran
	si := mkSI(0, 1)
	update(t, db, func(tx *Tx) error { return tx.AddDiscoveredShare(bg, si, 0, 1, 0) })
	errNo := errors.New("no")
	if err := db.Update(bg, func(tx *Tx) error { return errNo }); !errors.Is(err, errNo) {
		t.Fatal(err)
	}
	if _, err := db.SharesForPrefix(bg, "aa"); err != nil {
		t.Fatal(err)
	}
	tx, err := db.Begin(bg)
	must(t, err)
	must(t, tx.Commit())
	tx.Rollback() // after Commit: a no-op, not a second end
	want := []end{{true, false}, {true, false}, {false, false}, {true, false}}
	if fmt.Sprint(ends) != fmt.Sprint(want) {
		t.Fatalf("ends %v, want %v", ends, want)
	}
}
