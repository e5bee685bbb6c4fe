package crawler

import (
	"context"
	"os"
	"testing"

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
	server, err := leasedb.OpenURL(context.Background(), u, leasedb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	checkLeaseRecheck(t, f, server)
}
