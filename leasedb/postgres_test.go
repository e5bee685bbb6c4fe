package leasedb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/internal/emulators"
)

// pgDatabase returns the URL of a fresh, empty database on the test
// cluster, skipping the test without a server (or failing it under
// make test).
func pgDatabase(t *testing.T) string {
	t.Helper()
	if onPostgres() {
		t.Skip("run once, by the main test run")
	}
	return emulators.GetPostgres(t).NewDatabase(t)
}

func openURL(t *testing.T, u string, opts Options) *DB {
	t.Helper()
	db, err := OpenURL(context.Background(), u, opts)
	if err != nil {
		t.Fatalf("OpenURL(%s): %v", u, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func pgExec(t *testing.T, u, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// fillDB writes the same rows into db whatever its engine: COMING and
// STABLE shares, leases that expire and one that never does, a GOING
// share, a history entry and a prefix result.
func fillDB(t *testing.T, db *DB) {
	t.Helper()
	for i := 0; i < 40; i++ {
		si := mkSI(byte(i%4), i)
		update(t, db, func(tx *Tx) error {
			if i%3 == 0 {
				if err := tx.AddNewShare(bg, si, 0, int64(100+i), 1, t0); err != nil {
					return err
				}
			} else if err := tx.AddDiscoveredShare(bg, si, 0, int64(100+i), 0); err != nil {
				return err
			}
			exp := t0.Add(time.Duration(i) * time.Hour)
			if i%5 == 0 {
				exp = time.Time{}
			}
			return tx.AddOrRenewLease(bg, si, 0, AccountAnonymous, t0, exp)
		})
	}
	update(t, db, func(tx *Tx) error { return tx.MarkGoing(bg, mkSI(1, 1), 0) })
	update(t, db, func(tx *Tx) error {
		if err := tx.AddHistoryEntry(bg, 7, json.RawMessage(`{"b": 2, "a": [1]}`), 3); err != nil {
			return err
		}
		return tx.PutPrefixResult(bg, "accounting", "cycle-7", "aa", json.RawMessage(`{"n":3}`))
	})
}

// The same operations give the same dump on SQLite and on PostgreSQL,
// and a PostgreSQL database reopened holds what was written.
func TestPostgresDumpEqualsSQLite(t *testing.T) {
	u := pgDatabase(t)
	sq := openAt(t, filepath.Join(t.TempDir(), "leasedb.sqlite"))
	pg := openURL(t, u, Options{})
	fillDB(t, sq)
	fillDB(t, pg)
	want, err := sq.Dump(bg)
	must(t, err)
	got, err := pg.Dump(bg)
	must(t, err)
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Fatalf("dumps differ:\npostgres %s\nsqlite   %s", g, w)
	}
	if len(want.Shares) != 40 || len(want.Leases) < 40 || len(want.History) != 1 {
		t.Fatalf("dump holds %d shares, %d leases and %d history entries, want 40, at least 40 and 1",
			len(want.Shares), len(want.Leases), len(want.History))
	}
	pg.Close()
	again, err := openURL(t, u, Options{}).Dump(bg)
	must(t, err)
	if !reflect.DeepEqual(again, want) {
		t.Fatal("the reopened PostgreSQL database holds something else")
	}
}

// A write transaction holds the database's write lock across processes
// (two DBs are two connections): a second writer waits, and fails with
// ErrUnavailable after its BusyTimeout, as on SQLite. A reader never
// waits, nor does PutPrefixResults, which locks only its rows.
func TestPostgresWritersSerialized(t *testing.T) {
	u := pgDatabase(t)
	a := openURL(t, u, Options{})
	b := openURL(t, u, Options{BusyTimeout: 300 * time.Millisecond})
	tx, err := a.Begin(bg)
	must(t, err)
	must(t, tx.AddDiscoveredShare(bg, mkSI(0, 1), 0, 10, 0))
	must(t, tx.PutPrefixResult(bg, "acct", "c1", "aa", json.RawMessage(`{"a":1}`)))
	if _, err := b.Begin(bg); !errors.Is(err, sharestore.ErrUnavailable) {
		t.Fatalf("second writer while the first holds the lock: %v, want ErrUnavailable", err)
	}
	if _, err := b.LookupShare(bg, mkSI(0, 1), 0); !errors.Is(err, sharestore.ErrNotFound) {
		t.Fatalf("reader during the write: %v, want ErrNotFound (the write is not committed)", err)
	}
	rows := []PrefixResultRow{{Cycle: "c1", Prefix: "ab", Result: json.RawMessage(`{"b":1}`)}}
	if err := b.PutPrefixResults(bg, "acct", rows); err != nil {
		t.Fatalf("PutPrefixResults while another process holds the write lock: %v", err)
	}
	must(t, tx.Commit())
	must(t, b.View(bg, func(tx *Tx) error {
		all, err := tx.PrefixResults(bg, "acct", "c1")
		if err != nil || string(all["aa"]) != `{"a":1}` || string(all["ab"]) != `{"b":1}` {
			t.Fatalf("results after both writers: %v, %v", all, err)
		}
		return nil
	}))
	update(t, b, func(tx *Tx) error {
		return tx.AddOrRenewLease(bg, mkSI(0, 1), 0, AccountAnonymous, t0, t0.Add(time.Hour))
	})
	if ls, err := a.Leases(bg, mkSI(0, 1)); err != nil || len(ls) != 1 || ls[0].Account != AccountAnonymous {
		t.Fatalf("leases after both writers: %v, %v (want the anonymous lease)", ls, err)
	}
}

// A write by another program (here a plain SQL client) raises the
// prefix's generation through the triggers, so a memo stored before it
// is no longer valid.
func TestPostgresMemoSeesForeignWrites(t *testing.T) {
	u := pgDatabase(t)
	db := openURL(t, u, Options{})
	si := mkSI(0, 1)
	p := sharestore.Prefix(si.String()[:2])
	update(t, db, func(tx *Tx) error {
		if err := tx.AddDiscoveredShare(bg, si, 0, 10, 0); err != nil {
			return err
		}
		return tx.PutPrefixMemo(bg, "acct", p, json.RawMessage(`{"m":1}`))
	})
	valid := func() bool {
		var ok bool
		must(t, db.View(bg, func(tx *Tx) error {
			var err error
			_, ok, err = tx.PrefixMemo(bg, "acct", p)
			return err
		}))
		return ok
	}
	if !valid() {
		t.Fatal("the memo is not valid right after it was stored")
	}
	pgExec(t, u, `UPDATE shares SET used_space = used_space + 1 WHERE storage_index = $1`, si.String())
	if valid() {
		t.Fatal("the memo is still valid after another program changed a share of its prefix")
	}
}

// OpenURL's refusals name the database (never its password) and carry
// the right class, and a foreign database is left untouched.
func TestOpenURLRefusals(t *testing.T) {
	pg := emulators.GetPostgres(t)
	if onPostgres() {
		t.Skip("run once, by the main test run")
	}
	port, err := emulators.FreePort()
	must(t, err)
	ctx := context.Background()
	for _, c := range []struct {
		name, url string
		code      sharestore.Code
		says      string
	}{
		{"unreachable", fmt.Sprintf("postgres://sharestore:s3cret@127.0.0.1:%d/x?sslmode=disable&connect_timeout=5", port), sharestore.ErrUnavailable, "connect"},
		{"no such database", strings.Replace(pg.URL, "/postgres?", "/nonexistent?", 1), sharestore.ErrNotFound, "nonexistent"},
		{"not a URL", "postgres://sharestore@127.0.0.1:notaport/x", sharestore.ErrInvalidArgument, "not a PostgreSQL connection URL"},
		{"unknown scheme", "mysql://u:s3cret@127.0.0.1/x", sharestore.ErrInvalidArgument, `unknown database scheme "mysql"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, err := OpenURL(ctx, c.url, Options{})
			if err == nil {
				db.Close()
				t.Fatalf("OpenURL(%s) succeeded", c.url)
			}
			if sharestore.CodeOf(err) != c.code || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("OpenURL(%s) = %v (class %v), want class %v saying %q", c.url, err, sharestore.CodeOf(err), c.code, c.says)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("the error shows the password: %v", err)
			}
		})
	}
	t.Run("foreign database", func(t *testing.T) {
		u := pg.NewDatabase(t)
		pgExec(t, u, "CREATE TABLE things (id int); INSERT INTO things VALUES (1)")
		_, err := OpenURL(ctx, u, Options{})
		if !errors.Is(err, sharestore.ErrCorrupt) || !strings.Contains(err.Error(), "not a lease database") {
			t.Fatalf("OpenURL of a foreign database: %v, want ErrCorrupt saying so", err)
		}
		c, err := pgx.Connect(ctx, u)
		must(t, err)
		defer c.Close(ctx)
		var tables []string
		rows, err := c.Query(ctx, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1")
		must(t, err)
		for rows.Next() {
			var n string
			must(t, rows.Scan(&n))
			tables = append(tables, n)
		}
		if !reflect.DeepEqual(tables, []string{"things"}) {
			t.Fatalf("the foreign database now has tables %v", tables)
		}
	})
	t.Run("sqlite scheme", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "l.sqlite")
		db, err := OpenURL(ctx, "sqlite:"+path, Options{})
		must(t, err)
		defer db.Close()
		if db.Path() != path {
			t.Fatalf("sqlite:%s opened %s", path, db.Path())
		}
	})
}

// The URL a message shows has no password, in the user part or in the
// parameters.
func TestRedactURL(t *testing.T) {
	for _, raw := range []string{
		"postgres://u:s3cret@h:5432/db?sslmode=disable",
		"postgres://u@h/db?password=s3cret&sslmode=disable",
	} {
		got := RedactURL(raw)
		if strings.Contains(got, "s3cret") {
			t.Errorf("RedactURL(%q) = %q", raw, got)
		}
		if _, err := url.Parse(got); err != nil || !strings.Contains(got, "h") {
			t.Errorf("RedactURL(%q) = %q: not the URL any more", raw, got)
		}
	}
}

// Copy moves a lease database from SQLite to PostgreSQL and back with
// every row: the dumps and the prefix results are identical, and so is
// what a crawler would next do. A destination that holds data is refused
// and left as it was.
func TestCopyRoundTrip(t *testing.T) {
	u := pgDatabase(t)
	src := openAt(t, filepath.Join(t.TempDir(), "src.sqlite"))
	fillDB(t, src)
	pg := openURL(t, u, Options{})
	n, err := Copy(bg, pg, src)
	must(t, err)
	if n["shares"] != 40 || n["leases"] < 40 || n["share_coming"] == 0 || n["crawler_history"] != 1 || n["crawler_prefix_results"] != 1 {
		t.Fatalf("copied %v", n)
	}
	back := openAt(t, filepath.Join(t.TempDir(), "back.sqlite"))
	_, err = Copy(bg, back, pg)
	must(t, err)
	want, err := src.Dump(bg)
	must(t, err)
	for name, db := range map[string]*DB{"PostgreSQL": pg, "SQLite again": back} {
		got, err := db.Dump(bg)
		must(t, err)
		if !reflect.DeepEqual(got, want) {
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			t.Fatalf("%s after the copy:\n%s\nwant\n%s", name, g, w)
		}
		var res map[sharestore.Prefix]json.RawMessage
		must(t, db.View(bg, func(tx *Tx) error {
			var err error
			res, err = tx.PrefixResults(bg, "accounting", "cycle-7")
			return err
		}))
		if string(res["aa"]) != `{"n":3}` {
			t.Fatalf("%s after the copy: prefix results %v", name, res)
		}
	}
	// Copying again into a destination that now holds data is refused.
	before, err := back.Dump(bg)
	must(t, err)
	if _, err := Copy(bg, back, src); !errors.Is(err, sharestore.ErrConflict) || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("copy into a full database: %v, want ErrConflict", err)
	}
	after, err := back.Dump(bg)
	must(t, err)
	if !reflect.DeepEqual(before, after) {
		t.Fatal("the refused copy changed the destination")
	}
}

// NewPostgresSchema gives a lease database of its own in a schema of one
// database, apart from the others, and its drop removes it.
func TestNewPostgresSchema(t *testing.T) {
	base := pgDatabase(t)
	a, dropA, err := NewPostgresSchema(bg, base, "scenario_a")
	must(t, err)
	b, dropB, err := NewPostgresSchema(bg, base, "scenario_b")
	must(t, err)
	da, db := openURL(t, a, Options{}), openURL(t, b, Options{})
	update(t, da, func(tx *Tx) error { return tx.AddDiscoveredShare(bg, mkSI(0, 1), 0, 10, 0) })
	if _, err := db.LookupShare(bg, mkSI(0, 1), 0); !errors.Is(err, sharestore.ErrNotFound) {
		t.Fatalf("the other schema sees the share: %v", err)
	}
	if _, err := da.LookupShare(bg, mkSI(0, 1), 0); err != nil {
		t.Fatal(err)
	}
	da.Close()
	db.Close()
	must(t, dropA(bg))
	must(t, dropB(bg))
	ctx := context.Background()
	c, err := pgx.Connect(ctx, base)
	must(t, err)
	defer c.Close(ctx)
	var n int
	must(t, c.QueryRow(ctx, "SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE 'scenario_%'").Scan(&n))
	if n != 0 {
		t.Fatalf("%d schemas left after the drops", n)
	}
	if _, _, err := NewPostgresSchema(bg, base, "scenario_a"); err != nil {
		t.Fatalf("the name is free again: %v", err)
	}
}

// Workers in several processes (here, connections) that claim at once
// split the prefixes: each is claimed once, and a claimer never waits for
// a row another transaction holds (SKIP LOCKED).
func TestPostgresClaimsSplit(t *testing.T) {
	ctx := context.Background()
	u := pgDatabase(t)
	dbs := []*DB{openURL(t, u, Options{}), openURL(t, u, Options{}), openURL(t, u, Options{})}
	c := SharedCycle{ID: "0@1", Start: claimT0, Holder: "w0", Deadline: claimT0.Add(time.Minute), Store: "s"}
	if _, err := dbs[0].TakeCycleStart(ctx, "acct", "", c, claimT0); err != nil {
		t.Fatal(err)
	}
	if err := dbs[0].OpenCycle(ctx, "acct", "0@1", "w0", sharestore.Prefixes()); err != nil {
		t.Fatal(err)
	}
	var (
		mu  sync.Mutex
		got = map[sharestore.Prefix]int{}
		wg  sync.WaitGroup
	)
	for i, db := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			holder := fmt.Sprintf("w%d", i)
			for {
				ps, err := db.ClaimPrefixes(ctx, "acct", "0@1", holder, claimT0, claimT0.Add(time.Hour), 7)
				if err != nil {
					t.Error(err)
					return
				}
				if len(ps) == 0 {
					return
				}
				mu.Lock()
				for _, p := range ps {
					got[p]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(got) != sharestore.NumPrefixes {
		t.Fatalf("%d prefixes claimed, want %d", len(got), sharestore.NumPrefixes)
	}
	for p, n := range got {
		if n != 1 {
			t.Errorf("prefix %s claimed %d times", p, n)
		}
	}

	// A claim locked by a transaction that commits a prefix's work
	// (CheckClaim) is skipped by a claimer, even after its deadline,
	// which takes the next free prefix at once instead of waiting.
	later := claimT0.Add(2 * time.Hour)
	held := make(chan struct{})
	release := make(chan struct{})
	owner := slices.Min(sharestore.Prefixes()) // the first a claimer would take
	holder := holderOf(t, dbs[0], owner)
	go func() {
		dbs[0].Update(ctx, func(tx *Tx) error {
			if err := tx.CheckClaim(ctx, "acct", "0@1", owner, holder); err != nil {
				t.Error(err)
			}
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	ps, err := dbs[1].ClaimPrefixes(ctx, "acct", "0@1", "w1", later, later.Add(time.Hour), 1)
	close(release)
	if err != nil || len(ps) != 1 || ps[0] == owner {
		t.Fatalf("claim beside a locked claim = %v, %v; want one prefix other than %s", ps, err, owner)
	}
}

func holderOf(t *testing.T, db *DB, p sharestore.Prefix) string {
	t.Helper()
	claims, err := db.Claims(context.Background(), "acct", "0@1")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range claims {
		if c.Prefix == p {
			return c.Holder
		}
	}
	t.Fatalf("no claim of %s", p)
	return ""
}
