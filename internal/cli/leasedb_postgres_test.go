package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sharestore/sharestore/internal/emulators"
	"github.com/sharestore/sharestore/leasedb"
)

// dumpOf is the dump of the lease database at u.
func dumpOf(t *testing.T, u string) *leasedb.Dump {
	t.Helper()
	db, err := leasedb.OpenURL(context.Background(), u, leasedb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	d, err := db.Dump(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// dumpWithoutTimes is dumpOf with the lease times and the cycles' start
// and finish times cleared: two crawls at different moments differ in
// those, and in nothing else.
func dumpWithoutTimes(t *testing.T, u string) *leasedb.Dump {
	t.Helper()
	d := dumpOf(t, u)
	var err error
	for i := range d.Leases {
		d.Leases[i].RenewalTime, d.Leases[i].ExpirationTime = 0, nil
	}
	for i, h := range d.History {
		var m map[string]any
		if err := json.Unmarshal(h.Entry, &m); err != nil {
			t.Fatal(err)
		}
		delete(m, "cycle-start-finish-times")
		if d.History[i].Entry, err = json.Marshal(m); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// crawl, status and ls take --leasedb postgres://…: a crawl of the demo
// store with its lease database on PostgreSQL reports what the same crawl
// does on SQLite and leaves the same database behind; a second crawl
// finds it all known; status and ls read it.
func TestLeaseDBOnPostgres(t *testing.T) {
	u := emulators.GetPostgres(t).NewDatabase(t)

	t.Chdir(t.TempDir())
	sq, _ := crawlJSON(t, "--demo")
	sqliteDump := dumpWithoutTimes(t, "sqlite:"+filepath.Join("sharestore-data", "state", leasedbFile))

	t.Chdir(t.TempDir())
	pg, _ := crawlJSON(t, "--demo", "--leasedb", u)
	if pg.Accounting == nil || sq.Accounting == nil ||
		!reflect.DeepEqual(pg.Accounting.Shares, sq.Accounting.Shares) || pg.Accounting.Added != sq.Accounting.Added ||
		pg.Accounting.Sharesets != sq.Accounting.Sharesets || pg.Accounting.Added == 0 {
		t.Fatalf("first crawl on PostgreSQL %+v, on SQLite %+v", pg.Accounting, sq.Accounting)
	}
	if got := dumpWithoutTimes(t, u); !reflect.DeepEqual(got, sqliteDump) {
		for _, part := range []struct {
			name      string
			got, want any
		}{{"accounts", got.Accounts, sqliteDump.Accounts}, {"shares", got.Shares, sqliteDump.Shares},
			{"leases", got.Leases, sqliteDump.Leases}, {"history", got.History, sqliteDump.History}} {
			if !reflect.DeepEqual(part.got, part.want) {
				g, _ := json.Marshal(part.got)
				w, _ := json.Marshal(part.want)
				t.Errorf("the %s differ:\nPostgreSQL %.1500s\nSQLite     %.1500s", part.name, g, w)
			}
		}
		t.FailNow()
	}
	if exists(filepath.Join("sharestore-data", "state", leasedbFile)) {
		t.Fatal("the crawl with --leasedb postgres://… also made a SQLite file in the state directory")
	}

	again, _ := crawlJSON(t, "--demo", "--leasedb", u)
	if a := again.Accounting; a.Cycle != 1 || a.Added != 0 || a.Removed != 0 || a.Shares["total"] != sq.Accounting.Shares["total"] {
		t.Fatalf("second crawl on PostgreSQL: %+v", a)
	}

	state := filepath.Join("sharestore-data", "state")
	code, out, errOut := run(t, "status", "--state-dir", state, "--leasedb", u)
	if code != 0 || !strings.Contains(out, fmt.Sprintf("Total sharesets: %d", sampleSharesets)) {
		t.Fatalf("status --leasedb: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = run(t, "ls", "--backend", "disk:"+filepath.Join("sharestore-data", "storage"), "--state-dir", state, "--leasedb", u, "--json")
	if code != 0 || !strings.Contains(out, `"leasedb-leases":1`) {
		t.Fatalf("ls --leasedb: exit %d\n%.500s\n%s", code, out, errOut)
	}
}

// A --leasedb that is not a lease database URL is bad usage; one whose
// server cannot be reached fails, naming the URL without its password.
// Neither crawls, so neither can delete.
func TestLeaseDBFlagErrors(t *testing.T) {
	t.Chdir(t.TempDir())
	code, _, errOut := run(t, "crawl", "--demo", "--once", "--leasedb", "mysql://h/db")
	if code != exitUsage || !strings.Contains(errOut, `--leasedb "mysql://h/db": want sqlite:PATH or postgres://`) {
		t.Fatalf("crawl --leasedb mysql://…: exit %d: %s", code, errOut)
	}
	port, err := emulators.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	u := fmt.Sprintf("postgres://sharestore:s3cret@127.0.0.1:%d/leases?sslmode=disable&connect_timeout=5", port)
	code, _, errOut = run(t, "crawl", "--demo", "--once", "--progress", "none", "--leasedb", u)
	if code == 0 || !strings.Contains(errOut, fmt.Sprintf("127.0.0.1:%d/leases", port)) || strings.Contains(errOut, "s3cret") {
		t.Fatalf("crawl with an unreachable --leasedb: exit %d: %s", code, errOut)
	}
	code, _, errOut = run(t, "ls", "--backend", "disk:.", "--leasedb", "sqlite:x")
	if code != exitUsage || !strings.Contains(errOut, "--leasedb needs --state-dir") {
		t.Fatalf("ls --leasedb without --state-dir: exit %d: %s", code, errOut)
	}
}

// leasedb migrate moves a crawl's lease database from SQLite to
// PostgreSQL and back with every row (the dumps are identical), the crawl
// goes on on PostgreSQL with nothing new to find, and a destination that
// holds data is refused.
func TestLeasedbMigrate(t *testing.T) {
	u := emulators.GetPostgres(t).NewDatabase(t)
	t.Chdir(t.TempDir())
	crawlJSON(t, "--demo")
	from := "sqlite:" + filepath.Join("sharestore-data", "state", leasedbFile)
	code, out, errOut := run(t, "leasedb", "migrate", "--from", from, "--to", u, "--json")
	if code != 0 {
		t.Fatalf("migrate to PostgreSQL: exit %d: %s", code, errOut)
	}
	var rep migrateReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Rows["shares"] == 0 || rep.Rows["leases"] == 0 || rep.Rows["crawler_history"] != 1 {
		t.Fatalf("report %s (%v)", out, err)
	}
	back := "sqlite:" + filepath.Join(t.TempDir(), "back.sqlite")
	if code, _, errOut := run(t, "leasedb", "migrate", "--from", u, "--to", back); code != 0 {
		t.Fatalf("migrate back: exit %d: %s", code, errOut)
	}
	want := dumpOf(t, from)
	if !reflect.DeepEqual(dumpOf(t, u), want) || !reflect.DeepEqual(dumpOf(t, back), want) {
		t.Fatal("the migrated lease databases differ from the original")
	}
	r, _ := crawlJSON(t, "--demo", "--leasedb", u)
	if r.Accounting.Added != 0 || r.Accounting.Removed != 0 || r.Accounting.Shares["total"] != int64(len(want.Shares)) {
		t.Fatalf("crawl on the migrated database: %+v", r.Accounting)
	}
	code, _, errOut = run(t, "leasedb", "migrate", "--from", from, "--to", u)
	if code == 0 || !strings.Contains(errOut, "the destination is not empty") {
		t.Fatalf("migrate into a full database: exit %d: %s", code, errOut)
	}
	for _, args := range [][]string{{"--from", from}, {"--from", from, "--to", from}, {"--from", "mysql://x/y", "--to", u}} {
		if code, _, errOut := run(t, append([]string{"leasedb", "migrate"}, args...)...); code != exitUsage {
			t.Errorf("leasedb migrate %v: exit %d: %s", args, code, errOut)
		}
	}
}

// conformance --leasedb postgres://… runs the crawler scenarios with
// their lease databases in new schemas of that database, all of which are
// dropped when the run ends; anything but a postgres:// URL is bad usage.
func TestConformanceLeaseDBOnPostgres(t *testing.T) {
	u := emulators.GetPostgres(t).NewDatabase(t)
	out := t.TempDir()
	js := filepath.Join(out, "results.json")
	code, stdout, stderr := run(t, "conformance", "--backend", "disk:"+t.TempDir(), "--short", "--parallel", "2",
		"--run", "^Crawlers/", "--leasedb", u, "--json", js)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	passed := 0
	for _, l := range readJSONLines(t, js) {
		if l["group"] == "Crawlers" && l["status"] == "passed" {
			passed++
		}
	}
	if passed < 8 {
		t.Fatalf("%d crawler scenarios passed on PostgreSQL, want 8\n%s", passed, stdout)
	}
	ctx := context.Background()
	c, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var left int
	if err := c.QueryRow(ctx, "SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE 'sharestore_conformance_%'").Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d scenario schemas left behind (%v)", left, err)
	}
	// The scenarios do run on --leasedb: on a database that does not
	// exist, every one fails.
	missing := strings.Replace(emulators.GetPostgres(t).URL, "/postgres?", "/nonexistent?", 1)
	code, stdout, _ = run(t, "conformance", "--backend", "disk:"+t.TempDir(), "--short", "--run", "^Crawlers/basic$", "--leasedb", missing)
	if code != exitFailure || !strings.Contains(stdout, "nonexistent") {
		t.Fatalf("--leasedb naming a missing database: exit %d\n%s", code, stdout)
	}
	if code, _, stderr := run(t, "conformance", "--backend", "disk:"+t.TempDir(), "--leasedb", "sqlite:x"); code != exitUsage || !strings.Contains(stderr, "want a postgres:// URL") {
		t.Fatalf("--leasedb sqlite:x: exit %d: %s", code, stderr)
	}
}
