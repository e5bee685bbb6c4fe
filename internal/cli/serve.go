package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sharestore/sharestore/crawler"
	"github.com/sharestore/sharestore/internal/config"
)

type serveFlags struct {
	crawl                crawlFlags
	listen               string
	config, tahoeBasedir string
	flags                *pflag.FlagSet
}

func newServeCmd(e *env) *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve --backend URL [flags]",
		Short: "Run the crawlers as a service, with a status page, Tahoe's JSON and health checks",
		Long: `serve runs the accounting crawler and the bucket counter on their schedules
until it is stopped, as a Tahoe storage node runs them: each waits its slow
start (10 minutes for the accounting crawler, 5 for the bucket counter), then
works with a duty cycle of 10%, and pauses at least 12 hours between
accounting cycles and 1 hour between bucket counts. --fast turns off the slow
start and the duty cycle.

SIGTERM or SIGINT stops it gracefully: the prefixes in progress finish or are
abandoned whole, the state is saved, and it exits 0; the next start resumes
where it stopped. SIGHUP stops the crawlers the same way and starts them again
with the backend and lease database opened anew. A second serve or crawl on
the same state directory refuses to start, naming the process that holds it.

It listens on --listen (loopback by default) for:
  GET /healthz             200 while the process is up
  GET /readyz              200 when the backend answers and the lease database reads
  GET /storage?t=json      the status as "sharestore status --json" prints it,
  GET /status.json         with Tahoe's keys (bucket-counter, lease-checker, ...)

` + backendHelp + pluginHelp("--plugin"),
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runServe(cmd.Context(), e, f)
		},
	}
	fl := cmd.Flags()
	addCrawlerFlags(fl, &f.crawl, e)
	fl.StringVar(&f.listen, "listen", config.DefaultListen, "address to serve the status page, the JSON and the health checks on (HOST:PORT; port 0 picks a free one)")
	fl.StringVar(&f.config, "config", "", "read every setting from this sharestore configuration `FILE` (TOML; see docs/configuration.md) instead of the flags; SIGHUP re-reads it")
	fl.StringVar(&f.tahoeBasedir, "tahoe-basedir", "", "read the settings from the Tahoe-LAFS node's DIR/tahoe.cfg and DIR/private/ instead of the flags; SIGHUP re-reads them")
	f.flags = fl
	return cmd
}

// spec returns what serve runs: from the file, or from the flags.
func (f serveFlags) spec(e *env) (serveSpec, error) {
	if f.fromFile() {
		sp, _, err := f.loadSpec()
		sp.crawl.plugin.stderr = e.stderr
		if f.flags.Changed("fast") {
			sp.crawl.fast = true
		}
		if f.flags.Changed("listen") {
			sp.listen = f.listen
		}
		return sp, err
	}
	if f.crawl.backend == "" {
		return serveSpec{}, usageErr(errors.New("serve: --backend is required, such as --backend disk:/var/lib/tahoe/storage or s3://BUCKET (see 'sharestore --help'), or --config FILE or --tahoe-basedir DIR"))
	}
	c := f.crawl
	// Tahoe's slow starts, as a configuration file has them by default.
	def := config.Defaults()
	c.schedules[0].slowStart = def.Accounting.SlowStart
	c.schedules[1].slowStart = def.Buckets.SlowStart
	return serveSpec{crawl: c, listen: f.listen}, nil
}

func runServe(ctx context.Context, e *env, f serveFlags) error {
	if f.fromFile() {
		if err := checkNoCrawlFlags(f.flags); err != nil {
			return usageErr(err)
		}
		_, s, err := f.loadSpec()
		if err != nil {
			return err
		}
		if err := e.fileLogger(f.flags, s); err != nil {
			return err
		}
		ctx = withLogger(ctx, e.log())
	}
	sp, err := f.spec(e)
	if err != nil {
		return err
	}
	logger := e.log()
	d := &daemon{e: e, logger: logger, load: func() (serveSpec, error) { return f.spec(e) }, requests: newRequestMetrics()}
	ctx = withRetryObserver(ctx, d.requests.retried)
	set, err := d.open(ctx, sp)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", sp.listen)
	if err != nil {
		set.close()
		return usageErr(fmt.Errorf("--listen %s: %w", sp.listen, err))
	}
	srv := &http.Server{Handler: d.handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	logger.Info("serving", "listen", "http://"+ln.Addr().String()+"/", "backend", set.rep.Backend, "state-dir", set.rep.StateDir)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	err = d.loop(ctx, set, hup)
	shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	srv.Shutdown(shut)
	if serr := <-served; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	d.closeCurrent()
	if err != nil {
		return err
	}
	logger.Info("stopped; the state is saved and the next start resumes where this one stopped")
	return nil
}

// daemon is a running serve: its current crawlers, replaced on SIGHUP.
type daemon struct {
	e      *env
	logger *slog.Logger
	// load returns the settings to run with, at the start and on
	// every SIGHUP.
	load func() (serveSpec, error)

	requests *requestMetrics // the backend requests of every setup

	// mu guards cur: the HTTP handlers hold it shared while they read
	// the crawlers, and closeCurrent holds it alone, so nothing is read
	// from a closed lease database or backend.
	mu  sync.RWMutex
	cur *crawlSetup // nil between a stop and the next open
}

// open sets up the crawlers of sp and makes them current.
func (d *daemon) open(ctx context.Context, sp serveSpec) (*crawlSetup, error) {
	set, err := setupCrawl(withOpenOptions(ctx, sp.open), d.e, sp.crawl, "sharestore serve", setupOptions{engineHooks: d.cycleHooks, requestDone: d.requests.done, leasedbTx: d.requests.leasedbTx})
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.cur = set
	d.mu.Unlock()
	return set, nil
}

// acquire returns the running crawlers, or nil while they restart, and
// the function that releases them; they are not closed until then.
func (d *daemon) acquire() (*crawlSetup, func()) {
	d.mu.RLock()
	return d.cur, d.mu.RUnlock
}

// closeCurrent closes the current crawlers' backend, lock and database,
// once no handler reads them.
func (d *daemon) closeCurrent() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cur != nil {
		d.cur.close()
		d.cur = nil
	}
}

// loop runs set's crawlers until ctx ends or one of them fails. On a
// signal from hup it loads the settings again: if they load, it stops
// the crawlers and starts them anew with them; if not, it logs why and
// the crawlers go on as they were.
func (d *daemon) loop(ctx context.Context, set *crawlSetup, hup <-chan os.Signal) error {
	for {
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan []error, 1)
		go func() { done <- set.run.run(runCtx, d.e, "none", false, &set.listed) }()
		var errs []error
		var next *serveSpec
	wait:
		for {
			select {
			case errs = <-done:
				break wait
			case <-hup:
				f, err := d.load()
				if err != nil {
					d.logger.Error("SIGHUP: the configuration is refused; the crawlers go on as they were", "err", err)
					continue
				}
				d.logger.Info("SIGHUP: stopping the crawlers to start them again")
				next = &f
				stop()
			}
		}
		stop()
		for i, err := range errs {
			if err != nil && !errors.Is(err, context.Canceled) {
				return fmt.Errorf("%s crawler: %w", set.run.names[i], err)
			}
		}
		if next == nil {
			return nil // ctx ended: SIGTERM or SIGINT
		}
		d.closeCurrent()
		var err error
		if set, err = d.open(ctx, *next); err != nil {
			return err
		}
	}
}

// cycleHooks logs one line for every cycle a crawler completes.
func (d *daemon) cycleHooks(name string) crawler.Hooks {
	return crawler.Hooks{AfterCycle: func(cycle int) {
		d.logger.Info("cycle complete", "crawler", name, "cycle", cycle)
	}}
}
