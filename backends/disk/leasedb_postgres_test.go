package disk_test

import (
	"os"
	"testing"

	"github.com/sharestore/sharestore/conformance"
	"github.com/sharestore/sharestore/internal/emulators"
)

func TestMain(m *testing.M) { os.Exit(emulators.Run(m)) }

// TestCrawlersOnPostgres runs the crawler scenarios with the lease
// database on PostgreSQL (a fresh database of the test cluster for each
// scenario): they must give the same golden results as on SQLite.
func TestCrawlersOnPostgres(t *testing.T) {
	conformance.RunCrawlersWith(t, harness{}, conformance.Options{
		Short:   testing.Short(),
		LeaseDB: func(t conformance.TB) string { return emulators.GetPostgres(t).NewDatabase(t) },
	})
}

// TestCrawlersWithWorkers runs the crawler scenarios with every cycle
// shared by three workers on PostgreSQL: the golden results are those of
// one engine on SQLite.
func TestCrawlersWithWorkers(t *testing.T) {
	conformance.RunCrawlersWith(t, harness{}, conformance.Options{
		Short:   testing.Short(),
		LeaseDB: func(t conformance.TB) string { return emulators.GetPostgres(t).NewDatabase(t) },
		Workers: 3,
	})
}
