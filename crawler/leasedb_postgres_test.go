package crawler

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/sharestore/sharestore/internal/emulators"
	"github.com/sharestore/sharestore/leasedb"
)

func TestMain(m *testing.M) { os.Exit(emulators.Run(m)) }

// With the lease database shared on PostgreSQL, a lease that another
// process (here a second connection pool, as a storage server would
// hold) adds while a share is GOING, just before its delete, stops the
// delete: the re-check under the SI lock reads the shared database.
func TestAccountingLeaseRecheckOnPostgres(t *testing.T) {
	u := emulators.GetPostgres(t).NewDatabase(t)
	f := newAcctFixtureOn(t, u)
	backdate(t, f, "age")
	ctx := context.Background()
	server, err := leasedb.OpenURL(ctx, u, leasedb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	p := leasedb.ExpirationPolicy{Enabled: true, Mode: "age", Override: 2000 * time.Second}
	rb := &renewBeforeDelete{Backend: f.b, db: server, t: t}
	f.b = rb
	e, a := f.engine(t, AccountingConfig{Policy: p}, Hooks{})
	if err := e.Run(ctx); err != nil {
		t.Fatal(err)
	}
	c := lastHistory(t, a, e).SpaceRecovered
	if c["lease-rescued"] != 2 || c["actual-shares"] != 0 {
		t.Fatalf("counters %v", c)
	}
	for _, si := range f.sis {
		if _, err := rb.Backend.Shareset(si).Share(ctx, 0); err != nil {
			t.Fatalf("%s deleted despite a lease added through the shared database", si)
		}
		sh, err := f.db.LookupShare(ctx, si, 0)
		if err != nil || sh.State != leasedb.StateStable {
			t.Fatalf("%s after the rescue: %+v, %v (want a STABLE row)", si, sh, err)
		}
	}
}
