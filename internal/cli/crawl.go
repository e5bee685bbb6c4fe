package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/crawler"
	"github.com/sharestore/sharestore/internal/config"
	"github.com/sharestore/sharestore/leasedb"
	"github.com/sharestore/sharestore/plugin"
)

// Default locations: crawl's state directory, and the folder of the
// demonstration store (crawl --demo) that holds its disk store and state.
const (
	defaultStateDirName = "sharestore-state"
	defaultDataDir      = "sharestore-data"
	leasedbFile         = "leasedb.sqlite"
	accountingState     = "accounting.state.json"
	bucketsState        = "bucket_counter.state.json"
	backendIDFile       = "backend"
)

type crawlFlags struct {
	backend, stateDir, which   string
	leasedb                    string // --leasedb; "" is the state directory's SQLite file
	plugin                     pluginFlags
	once, fast, dryRun, asJSON bool
	demo                       bool
	expireMode, expireOverride string
	expireCutoff               string
	inFlight                   int
	rateLimit                  float64
	// claimLease and worker are a shared cycle's (--leasedb
	// postgres://…): see crawler.Sharing.
	claimLease time.Duration
	worker     string
	progress   string
	del        deleteFlags
	// schedules[0] is the accounting crawler's, [1] the bucket
	// counter's.
	schedules [2]schedule
}

func newCrawlCmd(e *env) *cobra.Command {
	var f crawlFlags
	cmd := &cobra.Command{
		Use:   "crawl --backend URL [flags] | crawl --demo [flags]",
		Short: "Run the accounting and bucket-counting crawlers",
		Long: `crawl walks every prefix of a backend. The accounting crawler reconciles the
lease database with what is stored: new shares get a starter lease, vanished
shares are forgotten, and (when --expire-mode is given) shares whose leases
have all expired are deleted. The bucket counter counts sharesets.

--demo crawls a demonstration store instead of --backend: a disk store under
./sharestore-data/storage, seeded with about 860 sample shares the first
time, and its state under ./sharestore-data/state. Without --backend or
--demo, crawl refuses to run.

Expiration is off unless --expire-mode is given; then
  --expire-mode age                  leases expire at their expiration time,
  --expire-mode age --expire-override 60days
                                     leases renewed more than 60 days ago expire,
  --expire-mode cutoff-date --expire-cutoff-date 2024-01-31
                                     leases renewed before that date expire.
Durations are Tahoe's: 7days, 31day, 60 days, 2mo, 3 month, 2years.

Without --once, crawl runs until interrupted, pacing itself with a duty cycle
of 10% (turn it off with --fast) and pausing 12 hours between accounting cycles
and 1 hour between bucket counts. The state directory holds the crawler state
files and the lease database; an interrupted crawl resumes where it stopped.

` + backendHelp + pluginHelp("--plugin"),
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCrawl(cmd.Context(), e, f)
		},
	}
	fl := cmd.Flags()
	addCrawlerFlags(fl, &f, e)
	fl.Lookup("state-dir").Usage = "directory for the state files and the lease database (default ./sharestore-state, or ./sharestore-data/state with --demo)"
	fl.BoolVar(&f.demo, "demo", false, "crawl the demonstration store under ./sharestore-data, seeding it with sample shares the first time (instead of --backend)")
	fl.BoolVar(&f.once, "once", false, "run one full cycle and exit")
	fl.BoolVar(&f.asJSON, "json", false, "print the final report as JSON")
	fl.StringVar(&f.progress, "progress", "auto", "progress display: auto (a bar on a terminal, log lines otherwise), bar, log or none")
	return cmd
}

// addCrawlerFlags registers on fl the flags crawl and serve share: the
// backend, the plugin, the state directory, the crawlers, their pace,
// expiration and the deletion bounds.
func addCrawlerFlags(fl *pflag.FlagSet, f *crawlFlags, e *env) {
	fl.StringVar(&f.backend, "backend", "", "backend to crawl (disk:PATH, s3://…, gs://…, azblob://…; see 'sharestore --help')")
	f.plugin.add(fl, e.stderr)
	fl.StringVar(&f.stateDir, "state-dir", "", "directory for the state files and the lease database (default ./sharestore-state)")
	fl.StringVar(&f.leasedb, "leasedb", "", leasedbFlagUsage)
	fl.StringVar(&f.which, "crawler", "all", "which crawler to run: accounting, buckets or all")
	fl.BoolVar(&f.fast, "fast", false, "turn the duty cycle off: crawl as fast as the backend allows")
	fl.BoolVar(&f.dryRun, "dry-run", false, "report what would be deleted; delete nothing and expire no lease")
	fl.StringVar(&f.expireMode, "expire-mode", "", "turn expiration on: age or cutoff-date")
	fl.StringVar(&f.expireOverride, "expire-override", "", "with --expire-mode age: leases renewed longer ago than this expire (e.g. 60days)")
	fl.StringVar(&f.expireCutoff, "expire-cutoff-date", "", "with --expire-mode cutoff-date: leases renewed before this UTC date expire (YYYY-MM-DD)")
	fl.IntVar(&f.inFlight, "prefixes-in-flight", 1, "prefixes processed at once (more hides cloud latency)")
	fl.Float64Var(&f.rateLimit, "rate-limit", 0, "maximum backend requests per second (0: unlimited)")
	fl.DurationVar(&f.claimLease, "claim-lease", config.DefaultClaimLease, "with a PostgreSQL --leasedb: how long a worker's claim of a prefix lasts unless renewed (a dead worker's prefixes wait this long)")
	fl.StringVar(&f.worker, "worker", "", "with a PostgreSQL --leasedb: this worker's name among the workers that share the cycle (default HOST:PID:START)")
	f.del.add(fl)
}

// leasedbFlagUsage is the help of --leasedb, the same for every command.
const leasedbFlagUsage = "lease database: sqlite:PATH, or postgres://USER@HOST/DATABASE with the password in PGPASSWORD or ~/.pgpass (default sqlite:STATE-DIR/" + leasedbFile + ")"

// sharedLeaseDB reports whether the lease database u is one that several
// processes share (PostgreSQL): their crawls then split each cycle.
func sharedLeaseDB(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

// leasedbURL is the lease database that --leasedb names, or else the
// SQLite file in the state directory.
func leasedbURL(stateDir, flag string) string {
	if flag != "" {
		return flag
	}
	return "sqlite:" + filepath.Join(stateDir, leasedbFile)
}

// policyFromFlags builds the expiration policy; expiration is off unless
// a mode is given, and the other flags then follow Tahoe's expire.*.
func policyFromFlags(f crawlFlags) (leasedb.ExpirationPolicy, error) {
	return config.Policy(config.FlagKeys, f.expireMode, f.expireOverride, f.expireCutoff)
}

// checkCrawlFlags validates the flags crawl and serve share, and
// returns the expiration policy and the deletion limits they give.
func checkCrawlFlags(f crawlFlags) (leasedb.ExpirationPolicy, crawler.DeleteLimits, error) {
	fail := func(err error) (leasedb.ExpirationPolicy, crawler.DeleteLimits, error) {
		return leasedb.ExpirationPolicy{}, crawler.DeleteLimits{}, usageErr(err)
	}
	policy, err := policyFromFlags(f)
	if err != nil {
		return fail(err)
	}
	if err := f.del.checkCutoff(policy, time.Now()); err != nil {
		return fail(err)
	}
	limits, err := f.del.limits()
	if err != nil {
		return fail(err)
	}
	if err := config.CheckCrawl(config.FlagKeys, f.which, f.rateLimit, f.inFlight); err != nil {
		return fail(err)
	}
	if err := config.CheckLeaseDB(config.FlagKeys, f.leasedb); err != nil {
		return fail(err)
	}
	if err := config.CheckSharing(config.FlagKeys, f.claimLease, f.worker); err != nil {
		return fail(err)
	}
	return policy, limits, nil
}

func runCrawl(ctx context.Context, e *env, f crawlFlags) error {
	switch f.progress {
	case "auto", "bar", "log", "none":
	default:
		return usageErr(fmt.Errorf("--progress %q: want auto, bar, log or none", f.progress))
	}
	switch {
	case f.demo && (f.backend != "" || f.plugin.path != ""):
		return usageErr(errors.New("--demo crawls the demonstration store; it takes no --backend or --plugin"))
	case !f.demo && f.backend == "":
		return usageErr(errors.New("crawl: --backend is required, such as --backend disk:/var/lib/tahoe/storage or s3://BUCKET (see 'sharestore --help'); --demo crawls a store of sample shares instead"))
	}
	set, err := setupCrawl(ctx, e, f, "sharestore crawl", setupOptions{})
	if err != nil {
		return err
	}
	defer set.close()
	run, rep := &set.run, set.rep
	errs := run.run(ctx, e, f.progress, f.once, &set.listed)
	interrupted := ctx.Err() != nil
	for i, err := range errs {
		if err != nil && !(interrupted && errors.Is(err, context.Canceled)) {
			return fmt.Errorf("%s crawler: %w", run.names[i], err)
		}
	}
	// The report reads what the cycles stored.
	if err := run.report(context.WithoutCancel(ctx), rep); err != nil {
		return err
	}
	if f.asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printCrawlReport(e.stdout, rep, interrupted)
	}
	if interrupted {
		return &exitError{code: 130, err: errors.New("interrupted; the state is saved and the next crawl resumes where this one stopped")}
	}
	if f.once && len(rep.FailedPrefixes) > 0 {
		return &exitError{code: exitFailure, err: failedPrefixesErr(rep.FailedPrefixes)}
	}
	return nil
}

// countListed wraps b so that listed counts the shares its listings
// report, for the progress display. b's scans and header batches (a
// plugin's streams) are kept (sharestore.Intercept).
func countListed(b sharestore.Backend, listed *atomic.Int64) sharestore.Backend {
	return sharestore.Intercept(b, sharestore.Hooks{Listed: func(sharestore.ShareInfo) { listed.Add(1) }})
}

// startProcs is the GOMAXPROCS the process started with.
var startProcs = runtime.GOMAXPROCS(0)

// leaveProcessorToPlugin sets GOMAXPROCS to plugin.HostGOMAXPROCS of the
// one the process started with, for a crawl whose listing and header
// reads run in a plugin; a GOMAXPROCS environment variable wins.
func leaveProcessorToPlugin() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(plugin.HostGOMAXPROCS(startProcs))
	}
}
