package emulators

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { os.Exit(Run(m)) }

// Each emulator starts on loopback and answers its readiness probe.
func TestStartEach(t *testing.T) {
	for _, k := range []Kind{MinIO, FakeGCS, Azurite} {
		t.Run(string(k), func(t *testing.T) {
			s := Get(t, k)
			if httpStatus(s.Endpoint) == 0 {
				t.Fatalf("%s at %s does not answer HTTP", k, s.Endpoint)
			}
			if s2 := Get(t, k); s2 != s {
				t.Fatalf("second Get started another %s", k)
			}
		})
	}
}

// The PostgreSQL cluster starts on loopback, answers as its superuser,
// is started once per test binary, and gives each NewDatabase an empty
// database of its own.
func TestPostgres(t *testing.T) {
	p := GetPostgres(t)
	if p2 := GetPostgres(t); p2 != p {
		t.Fatal("second GetPostgres started another cluster")
	}
	if !strings.HasPrefix(p.Host, "127.0.0.1:") || p.Version == "" {
		t.Fatalf("cluster at %q, version %q", p.Host, p.Version)
	}
	ctx := context.Background()
	a, b := p.NewDatabase(t), p.NewDatabase(t)
	if a == b {
		t.Fatalf("two databases with one URL %s", a)
	}
	ca, err := pgx.Connect(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close(ctx)
	if _, err := ca.Exec(ctx, "CREATE TABLE t (x int); INSERT INTO t VALUES (7)"); err != nil {
		t.Fatal(err)
	}
	cb, err := pgx.Connect(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close(ctx)
	var n int
	if err := cb.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE tablename = 't'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("the second database sees %d tables named t (%v): databases are not apart", n, err)
	}
	var user string
	if err := ca.QueryRow(ctx, "SELECT current_user").Scan(&user); err != nil || user != PostgresUser {
		t.Fatalf("connected as %q (%v), want %q", user, err, PostgresUser)
	}
}

// StopPostgres stops the server and removes its data: a connection
// afterwards is refused. (The test restarts the cluster for the tests
// that follow.)
func TestPostgresStop(t *testing.T) {
	p := GetPostgres(t)
	dir := p.dir
	StopPostgres()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("data directory %s left behind: %v", dir, err)
	}
	if _, err := p.ping(); err == nil {
		t.Fatal("the stopped cluster still answers")
	}
	if p2 := GetPostgres(t); p2 == p {
		t.Fatal("GetPostgres after StopPostgres returned the stopped cluster")
	}
}
