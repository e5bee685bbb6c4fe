package leasedb

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/internal/emulators"
)

// t0 is an arbitrary fixed "now"; nothing in these tests reads the clock.
var t0 = time.Unix(1_700_000_000, 0).UTC()

// openTest opens an empty lease database for a test of the contract:
// a SQLite file, or, in the run TestContractOnPostgres starts, a fresh
// database of the test PostgreSQL cluster.
func openTest(t testing.TB) *DB {
	t.Helper()
	return openTestWith(t, Options{CacheSizeKiB: 2048})
}

// openTestWith is openTest with opts.
func openTestWith(t testing.TB, opts Options) *DB {
	t.Helper()
	if onPostgres() {
		u := emulators.GetPostgres(t).NewDatabase(t)
		db, err := OpenURL(context.Background(), u, opts)
		if err != nil {
			t.Fatalf("OpenURL(%s): %v", u, err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	path := filepath.Join(t.TempDir(), "leasedb.sqlite")
	db, err := Open(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func openAt(t testing.TB, path string) *DB {
	t.Helper()
	db, err := Open(context.Background(), path, Options{CacheSizeKiB: 2048})
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// rawDB opens path directly with the driver, bypassing the package, to
// inspect or damage it.
func rawDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	r, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

type column struct {
	Name    string
	Type    string
	NotNull int
	PK      int
}

// tahoeV1 is every table of Tahoe's leasedb V1 with its columns, as
// `pragma table_info` reports them for Tahoe's LEASE_SCHEMA_V1.
var tahoeV1 = map[string][]column{
	"version": {{"version", "INTEGER", 0, 0}},
	"shares": {
		{"storage_index", "VARCHAR(26)", 1, 1},
		{"shnum", "INTEGER", 1, 2},
		{"prefix", "VARCHAR(2)", 1, 0},
		{"backend_key", "VARCHAR", 0, 0},
		{"used_space", "INTEGER", 1, 0},
		{"sharetype", "INTEGER", 1, 0},
		{"state", "INTEGER", 1, 0},
	},
	"leases": {
		{"storage_index", "VARCHAR(26)", 1, 1},
		{"shnum", "INTEGER", 1, 2},
		{"account_id", "INTEGER", 1, 3},
		{"renewal_time", "INTEGER", 1, 0},
		{"expiration_time", "INTEGER", 0, 0},
	},
	"accounts": {
		{"id", "INTEGER", 0, 1},
		{"pubkey_vs", "VARCHAR(52)", 0, 0},
		{"creation_time", "INTEGER", 0, 0},
	},
	"account_attributes": {
		{"id", "INTEGER", 0, 1},
		{"account_id", "INTEGER", 0, 0},
		{"name", "VARCHAR(20)", 0, 0},
		{"value", "VARCHAR(20)", 0, 0},
	},
	"crawler_history": {
		{"cycle", "INTEGER", 0, 0},
		{"json", "TEXT", 0, 0},
	},
}

// tahoeV1Indexes maps each index of Tahoe's V1 schema to its table.
var tahoeV1Indexes = map[string]string{
	"prefix": "shares", "account_id": "leases", "expiration_time": "leases",
	"pubkey_vs": "accounts", "account_attr": "account_attributes", "cycle": "crawler_history",
}

func tableInfo(t *testing.T, r *sql.DB, table string) []column {
	t.Helper()
	rows, err := r.Query("SELECT name, type, `notnull`, pk FROM pragma_table_info(?) ORDER BY cid", table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []column
	for rows.Next() {
		var c column
		if err := rows.Scan(&c.Name, &c.Type, &c.NotNull, &c.PK); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

func masterNames(t *testing.T, r *sql.DB, typ string) map[string]string {
	t.Helper()
	rows, err := r.Query("SELECT name, tbl_name FROM sqlite_master WHERE type = ? AND name NOT LIKE 'sqlite_autoindex%'", typ)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var n, tbl string
		if err := rows.Scan(&n, &tbl); err != nil {
			t.Fatal(err)
		}
		out[n] = tbl
	}
	return out
}

func checkTahoeV1(t *testing.T, r *sql.DB) {
	t.Helper()
	tables := masterNames(t, r, "table")
	for name, want := range tahoeV1 {
		if _, ok := tables[name]; !ok {
			t.Errorf("table %s missing", name)
			continue
		}
		if got := tableInfo(t, r, name); !reflect.DeepEqual(got, want) {
			t.Errorf("table %s columns:\n got %v\nwant %v", name, got, want)
		}
	}
	indexes := masterNames(t, r, "index")
	for name, tbl := range tahoeV1Indexes {
		if indexes[name] != tbl {
			t.Errorf("index %s on %q, want on %s", name, indexes[name], tbl)
		}
	}
	// The leases foreign keys: (storage_index, shnum) → shares, account_id → accounts.
	rows, err := r.Query("SELECT \"table\", \"from\", \"to\" FROM pragma_foreign_key_list('leases') ORDER BY id, seq")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var fks []string
	for rows.Next() {
		var tbl, from, to string
		if err := rows.Scan(&tbl, &from, &to); err != nil {
			t.Fatal(err)
		}
		fks = append(fks, tbl+"."+to+"<-"+from)
	}
	sort.Strings(fks)
	want := []string{"accounts.id<-account_id", "shares.shnum<-shnum", "shares.storage_index<-storage_index"}
	if !reflect.DeepEqual(fks, want) {
		t.Errorf("leases foreign keys = %v, want %v", fks, want)
	}
}

// Scenario 30, and the acceptance check on Tahoe's V1 tables and columns.
func TestCreateHasTahoeV1Schema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "leasedb.sqlite")
	db := openAt(t, path)
	accts, err := db.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []Account{{0, "anonymous", 0}, {1, "starter", 0}}
	if !reflect.DeepEqual(accts, want) {
		t.Errorf("accounts = %v, want %v", accts, want)
	}
	r := rawDB(t, path)
	checkTahoeV1(t, r)
	tables := masterNames(t, r, "table")
	var names []string
	for n := range tables {
		names = append(names, n)
	}
	sort.Strings(names)
	wantTables := []string{"account_attributes", "accounts", "crawler_claims", "crawler_cycles", "crawler_history", "crawler_prefix_memos", "crawler_prefix_results", "leases", "prefix_changes", "share_coming", "shares", "sqlite_sequence", "version"}
	if !reflect.DeepEqual(names, wantTables) {
		t.Errorf("tables = %v, want %v", names, wantTables)
	}
	var v int
	if err := r.QueryRow("SELECT version FROM version").Scan(&v); err != nil || v != SchemaVersion {
		t.Errorf("version = %d, %v; want %d", v, err, SchemaVersion)
	}
	var mode, fk string
	if err := r.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v", mode, err)
	}
	// Pragmas on the package's own connections.
	if err := db.w.QueryRow("PRAGMA foreign_keys").Scan(&fk); err != nil || fk != "1" {
		t.Errorf("writer foreign_keys = %q, %v", fk, err)
	}
	var sync int
	if err := db.w.QueryRow("PRAGMA synchronous").Scan(&sync); err != nil || sync != 1 {
		t.Errorf("writer synchronous = %d, %v; want 1 (NORMAL)", sync, err)
	}
	if err := db.r.QueryRow("PRAGMA foreign_keys").Scan(&fk); err != nil || fk != "1" {
		t.Errorf("reader foreign_keys = %q, %v", fk, err)
	}

	// Reopening works and changes nothing.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db2 := openAt(t, path)
	if accts, err := db2.Accounts(ctx); err != nil || !reflect.DeepEqual(accts, want) {
		t.Errorf("after reopen accounts = %v, %v", accts, err)
	}
	if db2.Path() != path {
		t.Errorf("Path() = %q", db2.Path())
	}
}

// Scenario 31, raw SQL half: the foreign keys are enforced.
func TestForeignKeysEnforced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "leasedb.sqlite")
	db := openAt(t, path)
	db.Close()
	r := rawDB(t, path)
	if _, err := r.Exec("INSERT INTO leases VALUES ('aaaaaaaaaaaaaaaaaaaaaaaaaa', 0, 0, 0, 0)"); err == nil || !strings.Contains(err.Error(), "FOREIGN KEY") {
		t.Errorf("lease for a missing share: err = %v, want a FOREIGN KEY failure", err)
	}
	if _, err := r.Exec("INSERT INTO shares VALUES ('aaaaaaaaaaaaaaaaaaaaaaaaaa', 0, 'aa', NULL, 1, 0, 1)"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Exec("INSERT INTO shares VALUES ('aaaaaaaaaaaaaaaaaaaaaaaaaa', 0, 'aa', NULL, 1, 0, 1)"); err == nil {
		t.Error("duplicate share primary key accepted")
	}
	if _, err := r.Exec("INSERT INTO leases VALUES ('aaaaaaaaaaaaaaaaaaaaaaaaaa', 0, 0, 0, 0)"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Exec("DELETE FROM shares"); err == nil {
		t.Error("deleting a share that still has leases was accepted")
	}
}

// createTahoeV1 writes a database exactly as Tahoe's leasedb V1 would.
func createTahoeV1(t *testing.T, path string, extra ...string) {
	t.Helper()
	r := rawDB(t, path)
	if _, err := r.Exec("PRAGMA journal_mode=WAL"); err != nil {
		t.Fatal(err)
	}
	for _, s := range append(append([]string{}, schemaV1...), extra...) {
		if _, err := r.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	r.Close()
}

func TestMigrateTahoeV1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "leasedb.sqlite")
	si := mkSI(0x00, 1)
	s := si.String()
	createTahoeV1(t, path,
		"INSERT INTO shares VALUES ('"+s+"', 0, 'aa', NULL, 100, 0, 0)", // COMING, stuck in Tahoe
		"INSERT INTO shares VALUES ('"+s+"', 1, 'aa', NULL, 200, 1, 1)", // STABLE
		"INSERT INTO leases VALUES ('"+s+"', 1, 1, 10, 20)",
		"INSERT INTO crawler_history VALUES (7, '{\"x\": [1, 2]}')",
	)
	db := openAt(t, path)
	d, err := db.Dump(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d.SchemaVersion != SchemaVersion {
		t.Errorf("version after migration = %d", d.SchemaVersion)
	}
	zero := int64(0)
	wantShares := []DumpShare{
		{StorageIndex: s, Shnum: 0, UsedSpace: 100, ShareType: 0, State: 0, ComingSince: &zero},
		{StorageIndex: s, Shnum: 1, UsedSpace: 200, ShareType: 1, State: 1},
	}
	if !reflect.DeepEqual(d.Shares, wantShares) {
		t.Errorf("shares = %+v", d.Shares)
	}
	exp := int64(20)
	if want := []DumpLease{{s, 1, 1, 10, &exp}}; !reflect.DeepEqual(d.Leases, want) {
		t.Errorf("leases = %+v", d.Leases)
	}
	if len(d.History) != 1 || string(d.History[0].Entry) != `{"x":[1,2]}` {
		t.Errorf("history = %+v", d.History)
	}
	// A pre-migration COMING row has no known start: it is stale at once.
	stale, err := db.StaleComing(ctx, time.Unix(1, 0))
	if err != nil || len(stale) != 1 || stale[0].ID() != (sharestore.ShareID{SI: si, Shnum: 0}) {
		t.Errorf("StaleComing = %v, %v", stale, err)
	}
	db.Close()
	checkTahoeV1(t, rawDB(t, path))
}

func wantCode(t *testing.T, err error, code sharestore.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want %v", code)
	}
	if !errors.Is(err, code) {
		t.Fatalf("err = %v (class %v), want class %v", err, sharestore.CodeOf(err), code)
	}
}

func TestOpenDamaged(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name    string
		setup   func(t *testing.T, path string)
		message string
	}{
		{"garbage", func(t *testing.T, path string) {
			os.WriteFile(path, bytes.Repeat([]byte("this is not a database\n"), 100), 0o600)
		}, "file is not a database"},
		{"short garbage", func(t *testing.T, path string) {
			os.WriteFile(path, []byte("SQLite"), 0o600)
		}, "file is not a database"},
		{"sqlite header then garbage", func(t *testing.T, path string) {
			os.WriteFile(path, append([]byte("SQLite format 3\x00"), bytes.Repeat([]byte{0xa5}, 4096)...), 0o600)
		}, "leasedb " + "%PATH%"},
		{"unknown version", func(t *testing.T, path string) {
			createTahoeV1(t, path, "UPDATE version SET version = 7")
		}, "unknown schema version 7"},
		{"version zero", func(t *testing.T, path string) {
			createTahoeV1(t, path, "UPDATE version SET version = 0")
		}, "unknown schema version 0"},
		{"two version rows", func(t *testing.T, path string) {
			createTahoeV1(t, path, "INSERT INTO version VALUES (1)")
		}, "has 2 rows"},
		{"not a leasedb", func(t *testing.T, path string) {
			r := rawDB(t, path)
			r.Exec("CREATE TABLE other (x)")
			r.Close()
		}, "without a `version` table"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "leasedb.sqlite")
			c.setup(t, path)
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			db, err := Open(ctx, path, Options{})
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded on a damaged file")
			}
			wantCode(t, err, sharestore.ErrCorrupt)
			msg := err.Error()
			for _, want := range []string{path, strings.ReplaceAll(c.message, "%PATH%", path), "move it aside", "mv " + path + " " + path + ".corrupt", "rebuild it with starter leases"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not contain %q", msg, want)
				}
			}
			after, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(before, after) {
				t.Errorf("Open changed the damaged file (err %v)", err)
			}
			// The rebuild path: move it aside and open again.
			if err := os.Rename(path, path+".corrupt"); err != nil {
				t.Fatal(err)
			}
			os.Remove(path + "-wal")
			os.Remove(path + "-shm")
			db = openAt(t, path)
			if st, err := db.Stats(ctx); err != nil || st != (Stats{}) {
				t.Errorf("rebuilt database stats = %+v, %v", st, err)
			}
		})
	}
}

func TestOpenBadPath(t *testing.T) {
	ctx := context.Background()
	if _, err := Open(ctx, "", Options{}); !errors.Is(err, sharestore.ErrInvalidArgument) {
		t.Errorf("empty path: %v", err)
	}
	dir := t.TempDir()
	if _, err := Open(ctx, dir, Options{}); !errors.Is(err, sharestore.ErrInvalidArgument) {
		t.Errorf("directory: %v", err)
	}
	if db, err := Open(ctx, filepath.Join(dir, "missing", "leasedb.sqlite"), Options{}); err == nil {
		db.Close()
		t.Error("Open in a missing directory succeeded")
	}
}

// File names with characters that are special in URIs work, and nothing
// is created under a mangled name.
func TestOpenOddPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir?with#odd%chars")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "lease db.sqlite")
	db := openAt(t, path)
	update(t, db, func(tx *Tx) error { return tx.AddDiscoveredShare(bg, mkSI(0, 0), 0, 1, 0) })
	db.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "lease db.sqlite") {
			t.Errorf("unexpected file %q", e.Name())
		}
	}
	db = openAt(t, path)
	if rows, err := db.SharesForPrefix(bg, "aa"); err != nil || len(rows) != 1 {
		t.Errorf("after reopen: %v, %v", rows, err)
	}
}

// A row that is not a valid storage index (a hand-edited or damaged file)
// is reported as corrupt, not returned as garbage; Dump still shows it.
func TestBadRowIsCorrupt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "leasedb.sqlite")
	db := openAt(t, path)
	r := rawDB(t, path)
	if _, err := r.Exec("INSERT INTO shares VALUES ('aaAAAAAAAAAAAAAAAAAAAAAAAA', 0, 'aa', NULL, 1, 0, 1)"); err != nil {
		t.Fatal(err)
	}
	_, err := db.SharesForPrefix(bg, "aa")
	wantCode(t, err, sharestore.ErrCorrupt)
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "aaAAAA") {
		t.Errorf("error %q does not name the file and the row", err)
	}
	d, err := db.Dump(bg)
	if err != nil || len(d.Shares) != 1 {
		t.Errorf("Dump = %+v, %v", d, err)
	}
	err = db.Update(bg, func(tx *Tx) error {
		_, err := tx.AddOrRenewLeasesForSI(bg, mkSI(0, 0), 42, t0, t0)
		return err
	})
	if err != nil {
		t.Errorf("AddOrRenewLeasesForSI on an SI without rows: %v", err)
	}
	update(t, db, func(tx *Tx) error { return tx.AddDiscoveredShare(bg, mkSI(0, 0), 0, 1, 0) })
	err = db.Update(bg, func(tx *Tx) error {
		_, err := tx.AddOrRenewLeasesForSI(bg, mkSI(0, 0), 42, t0, t0)
		return err
	})
	wantCode(t, err, sharestore.ErrNotFound)
}
