package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/crawler"
	"github.com/sharestore/sharestore/internal/backendurl/redact"
	"github.com/sharestore/sharestore/internal/statedir"
	"github.com/sharestore/sharestore/leasedb"
	"github.com/sharestore/sharestore/plugin"
)

// Default locations of the embedded default: a disk store and its state,
// under a local folder.
const (
	defaultDataDir  = "sharestore-data"
	leasedbFile     = "leasedb.sqlite"
	accountingState = "accounting.state.json"
	bucketsState    = "bucket_counter.state.json"
	backendIDFile   = "backend"
)

type crawlFlags struct {
	backend, stateDir, which   string
	plugin                     pluginFlags
	once, fast, dryRun, asJSON bool
	expireMode, expireOverride string
	expireCutoff               string
	inFlight                   int
	rateLimit                  float64
	progress                   string
	del                        deleteFlags
}

func newCrawlCmd(e *env) *cobra.Command {
	var f crawlFlags
	cmd := &cobra.Command{
		Use:   "crawl [--backend disk:PATH] [flags]",
		Short: "Run the accounting and bucket-counting crawlers",
		Long: `crawl walks every prefix of a backend. The accounting crawler reconciles the
lease database with what is stored: new shares get a starter lease, vanished
shares are forgotten, and (when --expire-mode is given) shares whose leases
have all expired are deleted. The bucket counter counts sharesets.

Without --backend, crawl uses the embedded default: a disk store under
./sharestore-data/storage, seeded with sample shares the first time, and its
state under ./sharestore-data/state.

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
files and the lease database; an interrupted crawl resumes where it stopped.` + pluginHelp("--plugin"),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCrawl(cmd.Context(), e, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.backend, "backend", "", "backend to crawl: disk:PATH (default: the embedded sample store)")
	f.plugin.add(fl, e.stderr)
	fl.StringVar(&f.stateDir, "state-dir", "", "directory for the state files and the lease database (default ./sharestore-data/state for the sample store, ./sharestore-state otherwise)")
	fl.StringVar(&f.which, "crawler", "all", "which crawler to run: accounting, buckets or all")
	fl.BoolVar(&f.once, "once", false, "run one full cycle and exit")
	fl.BoolVar(&f.fast, "fast", false, "turn the duty cycle off: crawl as fast as the backend allows")
	fl.BoolVar(&f.dryRun, "dry-run", false, "report what would be deleted; delete nothing and expire no lease")
	fl.StringVar(&f.expireMode, "expire-mode", "", "turn expiration on: age or cutoff-date")
	fl.StringVar(&f.expireOverride, "expire-override", "", "with --expire-mode age: leases renewed longer ago than this expire (e.g. 60days)")
	fl.StringVar(&f.expireCutoff, "expire-cutoff-date", "", "with --expire-mode cutoff-date: leases renewed before this UTC date expire (YYYY-MM-DD)")
	fl.BoolVar(&f.asJSON, "json", false, "print the final report as JSON")
	fl.IntVar(&f.inFlight, "prefixes-in-flight", 1, "prefixes processed at once (more hides cloud latency)")
	fl.Float64Var(&f.rateLimit, "rate-limit", 0, "maximum backend requests per second (0: unlimited)")
	fl.StringVar(&f.progress, "progress", "auto", "progress display: auto (a bar on a terminal, log lines otherwise), bar, log or none")
	f.del.add(fl)
	return cmd
}

// policyFromFlags builds the expiration policy; expiration is off unless
// a mode is given, and the other flags then follow Tahoe's expire.*.
func policyFromFlags(f crawlFlags) (leasedb.ExpirationPolicy, error) {
	if f.expireMode == "" {
		if f.expireOverride != "" || f.expireCutoff != "" {
			return leasedb.ExpirationPolicy{}, errors.New("--expire-override and --expire-cutoff-date need --expire-mode")
		}
		return leasedb.ExpirationPolicy{}, nil
	}
	if f.expireMode == leasedb.ModeAge && f.expireCutoff != "" {
		return leasedb.ExpirationPolicy{}, errors.New("--expire-cutoff-date needs --expire-mode cutoff-date")
	}
	if f.expireMode == leasedb.ModeCutoffDate && f.expireOverride != "" {
		return leasedb.ExpirationPolicy{}, errors.New("--expire-override needs --expire-mode age")
	}
	return leasedb.NewExpirationPolicy(true, f.expireMode, f.expireOverride, f.expireCutoff)
}

// crawlReport is what crawl prints at the end.
type crawlReport struct {
	Backend    string            `json:"backend"`
	StateDir   string            `json:"state_dir"`
	Seeded     int               `json:"seeded_sample_shares,omitempty"`
	Warnings   []string          `json:"warnings,omitempty"`
	Accounting *accountingReport `json:"accounting,omitempty"`
	Deletion   *deletionsReport  `json:"deletion,omitempty"`
	Buckets    *bucketsReport    `json:"buckets,omitempty"`
	Stats      *leasedb.Stats    `json:"leasedb,omitempty"`
	Progress   map[string]string `json:"progress,omitempty"`
	// FailedPrefixes lists, per crawler, the prefixes of the cycle that
	// failed and were not examined.
	FailedPrefixes map[string][]crawler.PrefixFailure `json:"failed_prefixes,omitempty"`
}

type accountingReport struct {
	Cycle             int                    `json:"cycle"`
	Started           time.Time              `json:"started"`
	Finished          time.Time              `json:"finished"`
	DryRun            bool                   `json:"dry_run"`
	Expiration        string                 `json:"expiration"`
	Sharesets         int64                  `json:"sharesets"`
	Shares            map[string]int64       `json:"shares"`
	ShareBytes        map[string]int64       `json:"share_bytes"`
	DiskBytes         map[string]int64       `json:"disk_bytes"`
	Added             int64                  `json:"added"`
	Removed           int64                  `json:"removed"`
	Deleted           map[string]int64       `json:"deleted"`
	WouldDelete       map[string]int64       `json:"would_delete"`
	DeleteFailed      int64                  `json:"delete_failed"`
	CorruptShares     []crawler.CorruptShare `json:"corrupt_shares"`
	LeaseAgeHistogram [][3]int64             `json:"lease_age_histogram"`
	SpaceRecovered    map[string]int64       `json:"space_recovered"`
}

type bucketsReport struct {
	Cycle     int   `json:"cycle"`
	Sharesets int64 `json:"sharesets"`
}

func byType(c map[string]int64, key string) map[string]int64 {
	return map[string]int64{
		"immutable": c[key+"-immutable"],
		"mutable":   c[key+"-mutable"],
		"corrupt":   c[key+"-corrupt"],
		"total":     c[key],
	}
}

func newAccountingReport(cycle int, h crawler.HistoryEntry) *accountingReport {
	c := h.SpaceRecovered
	exp := "disabled"
	if h.ExpirationEnabled {
		exp = fmt.Sprint(h.Mode[0])
	}
	return &accountingReport{
		Cycle:             cycle,
		Started:           time.Unix(h.CycleStartFinish[0], 0).UTC(),
		Finished:          time.Unix(h.CycleStartFinish[1], 0).UTC(),
		DryRun:            h.DryRun,
		Expiration:        exp,
		Sharesets:         c["examined-buckets"],
		Shares:            byType(c, "examined-shares"),
		ShareBytes:        byType(c, "examined-sharebytes"),
		DiskBytes:         byType(c, "examined-diskbytes"),
		Added:             c["added"],
		Removed:           c["vanished"] + c["coming-settled"],
		Deleted:           byType(c, "actual-shares"),
		WouldDelete:       byType(c, "configured-shares"),
		DeleteFailed:      c["delete-failed"],
		CorruptShares:     h.Corrupt,
		LeaseAgeHistogram: h.Histogram,
		SpaceRecovered:    c,
	}
}

func runCrawl(ctx context.Context, e *env, f crawlFlags) error {
	policy, err := policyFromFlags(f)
	if err != nil {
		return usageErr(err)
	}
	if err := f.del.checkCutoff(policy, time.Now()); err != nil {
		return usageErr(err)
	}
	limits, err := f.del.limits()
	if err != nil {
		return usageErr(err)
	}
	if f.which != "all" && f.which != "accounting" && f.which != "buckets" {
		return usageErr(fmt.Errorf("--crawler %q: want accounting, buckets or all", f.which))
	}
	if f.inFlight < 1 || f.inFlight > 256 {
		return usageErr(fmt.Errorf("--prefixes-in-flight %d: want 1 to 256", f.inFlight))
	}
	switch f.progress {
	case "auto", "bar", "log", "none":
	default:
		return usageErr(fmt.Errorf("--progress %q: want auto, bar, log or none", f.progress))
	}
	rep := &crawlReport{}
	spec := f.backend
	if spec == "" {
		spec = "disk:" + filepath.Join(defaultDataDir, "storage")
		if f.stateDir == "" {
			f.stateDir = filepath.Join(defaultDataDir, "state")
		}
	}
	if f.stateDir == "" {
		f.stateDir = "sharestore-state"
	}
	b, err := openBackend(ctx, spec, f.backend == "", &f.plugin)
	if err != nil {
		return err
	}
	defer b.Close()
	if f.plugin.path != "" {
		leaveProcessorToPlugin()
	}
	if f.backend == "" {
		n, err := seedSamples(ctx, b)
		if err != nil {
			return fmt.Errorf("seeding the sample store: %w", err)
		}
		rep.Seeded = n
		if n > 0 {
			fmt.Fprintf(e.stderr, "sharestore: seeded %d sample shares into %s\n", n, strings.TrimPrefix(spec, "disk:"))
		}
	}
	rep.Backend, rep.StateDir = redact.String(spec), f.stateDir
	var options map[string]string
	if f.plugin.path != "" {
		set, err := f.plugin.settings() // resolved when the plugin was opened
		if err != nil {
			return err
		}
		options = set.options
	}
	id, legacy := backendIdentity(b, spec, options)
	if err := prepareStateDir(f.stateDir, id, legacy); err != nil {
		return err
	}
	lock, err := statedir.Acquire(f.stateDir, "sharestore crawl --backend "+id)
	if err != nil {
		return usageErr(err)
	}
	defer lock.Unlock()
	// The command's logger (--log-level, --log-format): at the default
	// level, info, every deletion is logged with its share and reason.
	logger := e.log()
	clock := crawler.RealClock{}
	var listed atomic.Int64
	counted := countListed(crawler.RateLimit(b, f.rateLimit, max(1, int(f.rateLimit)), clock), &listed)

	cfg := crawler.Config{
		CPUSlice:             time.Second,
		AllowedCPUProportion: 0.1,
		PrefixesInFlight:     f.inFlight,
		OneShot:              f.once,
		Logger:               logger,
	}
	if f.fast {
		cfg.AllowedCPUProportion = 1
	}
	var db *leasedb.DB
	var acct *crawler.Accounting
	var engines []*crawler.Engine
	var names []string
	if f.which != "buckets" {
		db, err = leasedb.Open(ctx, filepath.Join(f.stateDir, leasedbFile), leasedb.Options{})
		if err != nil {
			return err
		}
		defer db.Close()
		mayDelete, own, err := f.del.ownership(ctx, b, f.stateDir, !f.dryRun && !b.Capabilities().ReadOnly)
		if err != nil {
			return usageErr(err)
		}
		rep.Deletion = &deletionsReport{}
		if own.Found != nil {
			rep.Deletion.Owner = own.Found.String()
		}
		if !own.Owned && !f.dryRun {
			w := "this crawl deletes nothing: " + own.Reason
			rep.Warnings = append(rep.Warnings, w)
			fmt.Fprintf(e.stderr, "sharestore: WARNING: %s\n", w)
		} else if own.Claimed && own.Found != nil {
			w := "took ownership of the store from " + own.Found.String()
			rep.Warnings = append(rep.Warnings, w)
			fmt.Fprintf(e.stderr, "sharestore: WARNING: %s\n", w)
		}
		if f.dryRun {
			mayDelete = nil
		}
		acct, err = crawler.NewAccounting(counted, db, clock, crawler.AccountingConfig{
			Policy: policy, DryRun: f.dryRun, Logger: logger, Prefetch: f.inFlight == 1,
			Limits: limits, MayDelete: mayDelete,
		})
		if err != nil {
			return usageErr(err)
		}
		c := cfg
		c.MinimumCycleTime = 12 * time.Hour
		eng, err := crawler.New(acct, filepath.Join(f.stateDir, accountingState), clock, c, crawler.Hooks{})
		if err != nil {
			return err
		}
		engines, names = append(engines, eng), append(names, "accounting")
	}
	var buckets *crawler.Buckets
	if f.which != "accounting" {
		buckets = crawler.NewBuckets(counted)
		c := cfg
		c.MinimumCycleTime = time.Hour
		eng, err := crawler.New(buckets, filepath.Join(f.stateDir, bucketsState), clock, c, crawler.Hooks{})
		if err != nil {
			return err
		}
		engines, names = append(engines, eng), append(names, "buckets")
	}
	for _, eng := range engines {
		for _, w := range eng.Warnings() {
			rep.Warnings = append(rep.Warnings, w.Error())
			fmt.Fprintf(e.stderr, "sharestore: WARNING: %v\n", w)
		}
	}

	stopProgress := startProgress(ctx, e, f.progress, engines[0], &listed)
	errs := make([]error, len(engines))
	var wg sync.WaitGroup
	for i, eng := range engines {
		wg.Add(1)
		go func(i int, eng *crawler.Engine) {
			defer wg.Done()
			errs[i] = eng.Run(ctx)
		}(i, eng)
	}
	wg.Wait()
	stopProgress()
	interrupted := ctx.Err() != nil
	for i, err := range errs {
		if err != nil && !(interrupted && errors.Is(err, context.Canceled)) {
			return fmt.Errorf("%s crawler: %w", names[i], err)
		}
	}

	// The report reads what the cycles stored.
	rctx := context.WithoutCancel(ctx)
	if acct != nil {
		r, err := acct.Report(rctx, engines[0].State())
		if err != nil {
			return err
		}
		if last := lastCycle(r.History); last >= 0 {
			rep.Accounting = newAccountingReport(last, r.History[last])
			rep.Deletion.Deferred = r.History[last].SpaceRecovered["delete-deferred"]
		}
		rep.Deletion.Held = acct.HeldReason()
		if id := acct.LastCycleID(); id != "" {
			if rep.Deletion.Deletions, err = acct.Deletions(rctx, id); err != nil {
				return err
			}
		}
		st, err := db.Stats(rctx)
		if err != nil {
			return err
		}
		rep.Stats = &st
	}
	if buckets != nil {
		if s := buckets.State(); s.LastCompleteCount != nil {
			rep.Buckets = &bucketsReport{Cycle: *s.LastCompleteCycle, Sharesets: *s.LastCompleteCount}
		}
	}
	rep.Progress = map[string]string{}
	for i, eng := range engines {
		rep.Progress[names[i]] = crawler.FormatProgress(eng.Progress())
		if failed := eng.State().FailedPrefixes(); len(failed) > 0 {
			if rep.FailedPrefixes == nil {
				rep.FailedPrefixes = map[string][]crawler.PrefixFailure{}
			}
			rep.FailedPrefixes[names[i]] = failed
		}
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

// failedPrefixesErr says which prefixes failed, for crawl --once's exit.
func failedPrefixesErr(failed map[string][]crawler.PrefixFailure) error {
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(failed)) {
		var ps []string
		for _, f := range failed[name] {
			ps = append(ps, string(f.Prefix))
		}
		parts = append(parts, fmt.Sprintf("%s crawler: prefix %s", name, strings.Join(ps, ", ")))
	}
	return fmt.Errorf("the cycle completed without the prefixes that failed (%s); they were not examined, and the next cycle tries them again", strings.Join(parts, "; "))
}

func lastCycle[T any](h map[int]T) int {
	last := -1
	for c := range h {
		if c > last {
			last = c
		}
	}
	return last
}

func printCrawlReport(w io.Writer, r *crawlReport, interrupted bool) {
	fmt.Fprintf(w, "Backend:   %s\nState dir: %s\n", r.Backend, r.StateDir)
	if a := r.Accounting; a != nil {
		fmt.Fprintf(w, "\nAccounting cycle %d (%s to %s, expiration %s%s)\n", a.Cycle,
			a.Started.Format(time.RFC3339), a.Finished.Format(time.RFC3339), a.Expiration, map[bool]string{true: ", dry run"}[a.DryRun])
		fmt.Fprintf(w, "  sharesets:   %d\n", a.Sharesets)
		fmt.Fprintf(w, "  shares:      %d (%d immutable, %d mutable, %d corrupt)\n", a.Shares["total"], a.Shares["immutable"], a.Shares["mutable"], a.Shares["corrupt"])
		fmt.Fprintf(w, "  share bytes: %d   disk bytes: %d\n", a.ShareBytes["total"], a.DiskBytes["total"])
		fmt.Fprintf(w, "  added %d, removed %d, deleted %d, would delete %d, delete failures %d\n",
			a.Added, a.Removed, a.Deleted["total"], a.WouldDelete["total"], a.DeleteFailed)
		for _, c := range a.CorruptShares {
			fmt.Fprintf(w, "  corrupt: SI %s shnum %d\n", c.SI, c.Shnum)
		}
		printDeletions(w, r.Deletion)
	}
	if b := r.Buckets; b != nil {
		fmt.Fprintf(w, "\nBucket counter: %d sharesets (cycle %d)\n", b.Sharesets, b.Cycle)
	}
	if s := r.Stats; s != nil {
		fmt.Fprintf(w, "\nLease database: %d leased shares, %d leased bytes, %d sharesets\n", s.LeasedShares, s.LeasedBytes, s.Sharesets)
	}
	for name, p := range r.Progress {
		if interrupted {
			fmt.Fprintf(w, "%s: %s\n", name, p)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(r.FailedPrefixes)) {
		fmt.Fprintf(w, "\nFailed prefixes (%s crawler), not examined this cycle:\n", name)
		printFailures(w, "  ", r.FailedPrefixes[name])
	}
}

// printFailures lists failed prefixes, one a line.
func printFailures(w io.Writer, indent string, failed []crawler.PrefixFailure) {
	for _, f := range failed {
		fmt.Fprintf(w, "%sprefix %s: %s after %d attempt(s) at %s: %s\n", indent, f.Prefix, f.Class, f.Attempts, f.Time.UTC().Format(time.RFC3339), f.Reason)
	}
}

// countListed wraps b so that listed counts the shares its listings
// report, for the progress display. b's scans and header batches (a
// plugin's streams) are kept (sharestore.Intercept).
func countListed(b sharestore.Backend, listed *atomic.Int64) sharestore.Backend {
	return sharestore.Intercept(b, sharestore.Hooks{Listed: func(sharestore.ShareInfo) { listed.Add(1) }})
}

// startProgress shows progress: a bar (prefix n/1024, shares/s, ETA) on a
// terminal, or a log line every few seconds otherwise; listed counts
// the shares listed so far. It returns the
// function that stops it.
func startProgress(ctx context.Context, e *env, mode string, eng *crawler.Engine, listed *atomic.Int64) func() {
	if mode == "none" {
		return func() {}
	}
	tty := false
	if f, ok := e.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		tty = true
	}
	bar := mode == "bar" || (mode == "auto" && tty)
	done := make(chan struct{})
	stopped := make(chan struct{})
	start := time.Now()
	var pb *progressbar.ProgressBar
	if bar {
		pb = progressbar.NewOptions(sharestore.NumPrefixes,
			progressbar.OptionSetWriter(e.stderr),
			progressbar.OptionSetDescription("prefixes"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	go func() {
		defer close(stopped)
		interval := 5 * time.Second
		if bar {
			interval = 250 * time.Millisecond
		}
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				if pb != nil {
					pb.Finish()
				}
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			p := eng.Progress()
			n := listed.Load()
			rate := float64(n) / time.Since(start).Seconds()
			if pb != nil {
				pb.Set(p.CompletePrefixes)
				pb.Describe(fmt.Sprintf("prefix %d/1024, %.0f shares/s", p.CompletePrefixes, rate))
				continue
			}
			eta := "unknown"
			if p.ETA != nil {
				eta = p.ETA.Round(time.Second).String()
			}
			fmt.Fprintf(e.stderr, "sharestore: prefix %d/1024 (%.1f%%), %d shares listed, %.0f shares/s, ETA %s\n", p.CompletePrefixes, p.Percentage, n, rate, eta)
		}
	}()
	return func() { close(done); <-stopped }
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
