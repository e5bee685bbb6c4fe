package leasedb

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/sharestore/sharestore/internal/emulators"
)

// engineEnv, set to "postgres" in a test run, makes openTest open each
// test's database on the test PostgreSQL cluster instead of in a SQLite
// file.
const engineEnv = "SHARESTORE_LEASEDB_TEST_ENGINE"

func onPostgres() bool { return os.Getenv(engineEnv) == "postgres" }

// contractTests are the tests of the lease database's contract, which
// open their databases with openTest only: the state machine and its
// refusals, leases, the expiry policies, the forecast, prefix results
// and memos, history and the dump. TestContractOnPostgres runs them
// again on PostgreSQL. The other tests are about SQLite files (Tahoe's
// files, damage, migrations of old files, FIFOs).
var contractTests = []string{
	"TestDeletionForecast", "TestCyclePlan", "TestShareFieldValidation", "TestPrefixResults",
	"TestCycleIDs", "TestStateTransitions", "TestRefusedTransitionKeepsTransaction",
	"TestMarkStableKeepsUsedSpace", "TestLeaseForUnknownShare", "TestRenewInPlaceAndBackdate",
	"TestAddNewShareKeepsLeases", "TestUnleasedSharesForPrefix", "TestHistoryRetention",
	"TestRemoveExpiredLeases", "TestStats", "TestRebuildAfterLoss", "TestDiscoveredAndAbandoned",
	"TestFailedDeleteReturnsToStable", "TestRemoveDeletedShareRemovesLeases",
	"TestLeaseAgesForPrefix", "TestNegativeShnumRefused", "TestContextCanceled",
	"TestAddDiscoveredSharesBulk", "TestReaderDuringWriter", "TestViewSnapshot",
	"TestUpdateRollsBack", "TestDumpCanonical", "TestConcurrentWritersAndReaders",
	"TestCancelDuringTransaction", "TestOnTxReportsEveryTransaction", "TestSharedCycleClaims", "TestReopenClaims",
}

// The contract holds on PostgreSQL: the contract tests pass there as they
// do on SQLite, in a child run of this test binary with engineEnv set.
func TestContractOnPostgres(t *testing.T) {
	if onPostgres() {
		t.Skip("this is the run on PostgreSQL")
	}
	emulators.GetPostgres(t) // skips, or fails under make test, without a server
	cmd := exec.Command(os.Args[0], "-test.run", "^("+strings.Join(contractTests, "|")+")$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), engineEnv+"=postgres")
	out, err := cmd.CombinedOutput()
	ran := strings.Count(string(out), "--- PASS")
	if err != nil || ran == 0 {
		t.Fatalf("the contract tests on PostgreSQL (%d passed): %v\n%s", ran, err, out)
	}
	t.Logf("%d contract tests and subtests passed on PostgreSQL", ran)
}
