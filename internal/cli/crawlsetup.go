package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/crawler"
	"github.com/sharestore/sharestore/internal/backendurl/redact"
	"github.com/sharestore/sharestore/internal/statedir"
	"github.com/sharestore/sharestore/leasedb"
)

// crawlSetup is what crawl and serve run: the backend, the held state
// directory, the lease database and the engines, ready to run.
type crawlSetup struct {
	b       sharestore.Backend
	id      string // the store's identity (backendIdentity)
	run     crawlRun
	rep     *crawlReport
	listed  atomic.Int64 // shares listed, for the progress display
	closers []func()     // run by close, last first
}

// setupOptions are what serve adds to a crawl's setup; the zero value
// adds nothing.
type setupOptions struct {
	// engineHooks, if set, gives each crawler's engine its hooks, by the
	// crawler's name ("accounting", "buckets").
	engineHooks func(name string) crawler.Hooks
	// requestDone, if set, is told of every backend request the
	// crawlers make when it returns (sharestore.Hooks.Done).
	requestDone func(r sharestore.Request, err error, elapsed time.Duration)
	// leasedbTx, if set, is told of every lease database transaction
	// when it ends (leasedb.Options.OnTx).
	leasedbTx func(write bool, err error, elapsed time.Duration)
}

// close releases what setupCrawl opened: the lease database, the state
// directory's lock and the backend.
func (s *crawlSetup) close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

// setupCrawl opens what f names and builds its crawlers, ready to run;
// the state directory is locked for command (such as "sharestore
// crawl"), so a second process on it refuses to start. opts adds hooks.
// f has been
// checked by the caller (--demo or --backend given); setupCrawl checks
// the rest. The caller must close the result.
func setupCrawl(ctx context.Context, e *env, f crawlFlags, command string, opts setupOptions) (_ *crawlSetup, err error) {
	policy, limits, err := checkCrawlFlags(f)
	if err != nil {
		return nil, err
	}
	set := &crawlSetup{rep: &crawlReport{}}
	defer func() {
		if err != nil {
			set.close()
		}
	}()
	rep := set.rep
	spec := f.backend
	if f.demo {
		spec = "disk:" + filepath.Join(defaultDataDir, "storage")
		if f.stateDir == "" {
			f.stateDir = filepath.Join(defaultDataDir, "state")
		}
	}
	if f.stateDir == "" {
		f.stateDir = defaultStateDirName
	}
	b, err := openBackend(ctx, spec, f.demo, &f.plugin)
	if err != nil {
		return nil, err
	}
	set.b = b
	set.closers = append(set.closers, func() { b.Close() })
	if f.plugin.path != "" {
		leaveProcessorToPlugin()
	}
	if f.demo {
		n, err := seedSamples(ctx, b)
		if err != nil {
			return nil, fmt.Errorf("seeding the sample store: %w", err)
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
			return nil, err
		}
		options = set.options
	}
	id, legacy := backendIdentity(b, spec, options)
	set.id = id
	if err := prepareStateDir(f.stateDir, id, legacy); err != nil {
		return nil, err
	}
	lock, err := statedir.Acquire(f.stateDir, command+" --backend "+id)
	if err != nil {
		return nil, usageErr(err)
	}
	set.closers = append(set.closers, func() { lock.Unlock() })
	if err := set.buildEngines(ctx, e, f, policy, limits, opts); err != nil {
		return nil, err
	}
	return set, nil
}

// buildEngines opens the lease database and makes the crawlers f
// selects, over set.b and the state directory f.stateDir.
func (set *crawlSetup) buildEngines(ctx context.Context, e *env, f crawlFlags, policy leasedb.ExpirationPolicy, limits crawler.DeleteLimits, opts setupOptions) error {
	hooksFor := func(name string) crawler.Hooks {
		if opts.engineHooks == nil {
			return crawler.Hooks{}
		}
		return opts.engineHooks(name)
	}
	rep := set.rep
	// The command's logger (--log-level, --log-format): at the default
	// level, info, every deletion is logged with its share and reason.
	logger := e.log()
	clock := crawler.RealClock{}
	b := set.b
	if opts.requestDone != nil {
		// Under the rate limiter: a request waiting for its turn is not
		// yet a request of the backend's.
		b = sharestore.Intercept(b, sharestore.Hooks{Done: opts.requestDone})
	}
	counted := countListed(crawler.RateLimit(b, f.rateLimit, max(1, int(f.rateLimit)), clock), &set.listed)

	cfg := crawler.Config{
		CPUSlice:             time.Second,
		AllowedCPUProportion: 0.1,
		PrefixesInFlight:     f.inFlight,
		OneShot:              f.once,
		Logger:               logger,
		Requests: func(ctx context.Context) (sharestore.StoreRequests, bool, error) {
			return sharestore.StoreRequestsOf(ctx, set.b)
		},
	}
	if f.fast {
		cfg.AllowedCPUProportion = 1
	}
	run := &set.run
	dbURL := leasedbURL(f.stateDir, f.leasedb)
	shared := sharedLeaseDB(dbURL)
	if f.which != "buckets" || shared {
		db, err := leasedb.OpenURL(ctx, dbURL, leasedb.Options{OnTx: opts.leasedbTx})
		if err != nil {
			return err
		}
		set.closers = append(set.closers, func() { db.Close() })
		run.db = db
	}
	if shared {
		// Every crawl on this lease database takes part in its cycles.
		cfg.Shared = &crawler.Sharing{DB: run.db, Store: set.id, ClaimLease: f.claimLease, Worker: f.worker}
	}
	if f.which != "buckets" {
		db := run.db
		owner := ownerOf(f.stateDir, dbURL, shared)
		mayDelete, own, err := f.del.ownership(ctx, b, owner, !f.dryRun && !b.Capabilities().ReadOnly)
		if err != nil {
			return usageErr(err)
		}
		rep.Deletion = &deletionsReport{}
		if own.Found != nil {
			rep.Deletion.Owner = own.Found.String()
		}
		// Each warning is logged once, in the log's format: the
		// accounting crawler logs "this cycle deletes nothing" itself
		// when its cycle starts held.
		if !own.Owned && !f.dryRun {
			rep.Warnings = append(rep.Warnings, "this crawl deletes nothing: "+own.Reason)
		} else if own.Claimed && own.Found != nil {
			w := "took ownership of the store from " + own.Found.String()
			rep.Warnings = append(rep.Warnings, w)
			logger.Warn(w)
		}
		if f.dryRun {
			mayDelete = nil
		}
		acct, err := crawler.NewAccounting(counted, db, clock, crawler.AccountingConfig{
			Policy: policy, DryRun: f.dryRun, Logger: logger, Prefetch: f.inFlight == 1,
			Limits: limits, MayDelete: mayDelete,
		})
		if err != nil {
			return usageErr(err)
		}
		run.acct = acct
		c := f.schedules[0].apply(cfg, 12*time.Hour, f.fast)
		eng, err := crawler.New(acct, filepath.Join(f.stateDir, accountingState), clock, c, hooksFor("accounting"))
		if err != nil {
			return err
		}
		run.engines, run.names = append(run.engines, eng), append(run.names, "accounting")
	}
	if f.which != "accounting" {
		run.buckets = crawler.NewBuckets(counted)
		c := f.schedules[1].apply(cfg, time.Hour, f.fast)
		eng, err := crawler.New(run.buckets, filepath.Join(f.stateDir, bucketsState), clock, c, hooksFor("buckets"))
		if err != nil {
			return err
		}
		run.engines, run.names = append(run.engines, eng), append(run.names, "buckets")
	}
	for _, eng := range run.engines {
		for _, w := range eng.Warnings() {
			// The engine has logged it; the report keeps it.
			rep.Warnings = append(rep.Warnings, w.Error())
		}
	}
	return nil
}

// schedule is when one crawler works: zero fields take the defaults.
type schedule struct {
	// minCycle is the least time from one cycle's start to the next
	// one's (Tahoe's minimum_cycle_time); 0 is the crawler's default.
	minCycle time.Duration
	// slowStart is the pause before the first slice after the start
	// (Tahoe's slow_start); 0 is none.
	slowStart time.Duration
	// cpu is the allowed share of the time spent working (the duty
	// cycle); 0 is the default, 10%.
	cpu float64
	// cpuSlice is the work done between two pauses; 0 is the default,
	// one second.
	cpuSlice time.Duration
}

// apply returns cfg with s, or the default minimum cycle time def,
// applied. fast (--fast) turns off the duty cycle and the slow start.
func (s schedule) apply(cfg crawler.Config, def time.Duration, fast bool) crawler.Config {
	cfg.MinimumCycleTime = def
	if s.minCycle > 0 {
		cfg.MinimumCycleTime = s.minCycle
	}
	if s.cpu > 0 {
		cfg.AllowedCPUProportion = s.cpu
	}
	if s.cpuSlice > 0 {
		cfg.CPUSlice = s.cpuSlice
	}
	cfg.SlowStart = s.slowStart
	if fast {
		cfg.AllowedCPUProportion, cfg.SlowStart = 1, 0
	}
	return cfg
}
