package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/conformance"
	"github.com/sharestore/sharestore/internal/backendurl/redact"
	"github.com/sharestore/sharestore/internal/conformance/report"
	"github.com/sharestore/sharestore/internal/conformance/runner"
	"github.com/sharestore/sharestore/leasedb"
)

// conformanceFlags are the flags of sharestore conformance.
type conformanceFlags struct {
	backend  string
	pf       pluginFlags
	junit    string
	json     string
	known    string
	run      string
	short    bool
	parallel int
	timeout  time.Duration
	verbose  bool
	leasedb  string // --leasedb: a PostgreSQL database for the crawler scenarios
	workers  int    // --workers: engines that share each crawler cycle
}

func newConformanceCmd(e *env) *cobra.Command {
	var f conformanceFlags
	cmd := &cobra.Command{
		Use:   "conformance (--backend URL | --plugin PATH [--backend URL]) [--junit FILE] [--json FILE] [--known-failures FILE]",
		Short: "Certify a backend: run the contract tests and the crawler scenarios against it",
		Long: `conformance runs the whole conformance suite against one backend, outside go
test: the backend contract (listings, classification, reads, uploads, Tahoe's
mutable test-and-set, deletion, locking, cancellation, the scan and header fast
paths, small records) and the crawler scenarios, whose results must equal the
golden files every backend shares.

Every test gets a fresh, empty backend, and its data is removed when it ends,
also after a failure or an interrupt:

  --plugin PATH     a plugin binary. If it serves the harness service
                    (plugin.Serve with plugin.WithHarness), the plugin makes
                    the fresh backends and plants raw objects itself, and
                    --backend, if given, is passed to its harness. Otherwise
                    --backend is required and each test gets a scratch
                    location made from it (below); the tests that plant raw
                    objects are then skipped, with that reason.
  --backend URL     without --plugin: a built-in backend, in process. Each
                    test gets a scratch location under URL: a subdirectory of
                    disk:PATH, a key prefix under s3://BUCKET/PREFIX (and the
                    gs:// and azblob:// forms), or, for any other form, URL
                    with {scratch} replaced by the test's own name. A
                    {scratch} in a bucket's name gives every test a new
                    bucket (left behind empty), for emulators whose
                    listings scan the whole bucket.

It prints a summary (each group's passed, failed and skipped counts, then
every failure with its message) and, on request, JUnit XML (--junit: one
testsuite per group, one testcase per test) and JSON Lines (--json: one object
per test with name, group, status, seconds and message).

--known-failures FILE lists tests expected to fail, one a line: a test name or
glob, whitespace, then the reason ('#' starts a comment). A listed test that
fails is reported as a known failure; one that passes is reported as fixed.

Exit status: 0 when every test passed, was skipped, or is a known failure; 1
when any test failed (or the run timed out); 2 for bad usage, a bad
known-failures file, or a backend or plugin that cannot start.

Examples:
  sharestore conformance --backend disk:/tmp/conf --junit junit.xml
  sharestore conformance --plugin ./sharestore-backend-sqlite --junit junit.xml \
      --known-failures known-failures.txt
  sharestore conformance --plugin sharestore-backend-s3 \
      --backend 's3://bucket/conformance?region=us-east-1' --short --parallel 4`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runConformance(cmd.Context(), e, &f)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.backend, "backend", "", "the backend `URL`, or the location under which each test makes its scratch store (see above)")
	f.pf.add(fs, e.stderr)
	fs.StringVar(&f.junit, "junit", "", "write JUnit XML to `FILE`")
	fs.StringVar(&f.json, "json", "", "write one JSON object per test to `FILE`")
	fs.StringVar(&f.known, "known-failures", "", "read the tests expected to fail from `FILE`")
	fs.StringVar(&f.run, "run", "", "run only the tests whose full name (e.g. Backend/Listing/PrefixIsolation, Crawlers/basic) matches `REGEX`")
	fs.BoolVar(&f.short, "short", false, "walk a sample of the 1024 prefixes instead of all of them")
	fs.IntVar(&f.parallel, "parallel", 1, "run `N` tests side by side")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Minute, "stop the run after `D`; the tests left are reported not run and the exit status is 1")
	fs.BoolVarP(&f.verbose, "verbose", "v", false, "print every test's result as it finishes, not only failures")
	fs.IntVar(&f.workers, "workers", 1, "with --leasedb: run each crawler cycle of the scenarios on this many workers that share it, as that many crawl processes on one lease database would")
	fs.StringVar(&f.leasedb, "leasedb", "", "run the crawler scenarios with their lease databases on this PostgreSQL database (postgres://…), each in a new schema that is dropped after it")
	return cmd
}

// scenarioSchemas gives each crawler scenario a lease database of its
// own in a new schema of the PostgreSQL database base, dropped when the
// scenario ends; the names carry the process ID and a counter, so
// parallel scenarios and concurrent runs keep apart.
func scenarioSchemas(base string) func(t conformance.TB) string {
	var n atomic.Int64
	return func(t conformance.TB) string {
		name := fmt.Sprintf("sharestore_conformance_%d_%d", os.Getpid(), n.Add(1))
		u, drop, err := leasedb.NewPostgresSchema(t.Context(), base, name)
		if err != nil {
			t.Fatalf("--leasedb: %v", err)
		}
		t.Cleanup(func() {
			if err := drop(context.Background()); err != nil {
				t.Errorf("--leasedb: %v", err)
			}
		})
		return u
	}
}

// conformanceRun is what a run tests: the harness, what to call it in
// reports, and how to stop it.
type conformanceRun struct {
	h     conformance.Harness
	props map[string]string
	close func() error
}

func runConformance(ctx context.Context, e *env, f *conformanceFlags) error {
	var sel *regexp.Regexp
	if f.run != "" {
		re, err := regexp.Compile(f.run)
		if err != nil {
			return usageErr(fmt.Errorf("--run %q: %v", f.run, err))
		}
		sel = re
	}
	if f.parallel < 1 {
		return usageErr(fmt.Errorf("--parallel %d: want 1 or more", f.parallel))
	}
	if f.timeout <= 0 {
		return usageErr(fmt.Errorf("--timeout %v: want a positive duration", f.timeout))
	}
	if f.leasedb != "" && !strings.HasPrefix(f.leasedb, "postgres://") && !strings.HasPrefix(f.leasedb, "postgresql://") {
		return usageErr(fmt.Errorf("--leasedb %q: want a postgres:// URL (without --leasedb each crawler scenario has a new SQLite file)", leasedb.RedactURL(f.leasedb)))
	}
	if f.workers < 1 || (f.workers > 1 && f.leasedb == "") {
		return usageErr(fmt.Errorf("--workers %d: want 1, or more with --leasedb postgres://… (workers share a cycle through a lease database on PostgreSQL)", f.workers))
	}
	known, err := readKnownFailures(f.known)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "sharestore-conformance-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	cr, err := conformanceTarget(ctx, f)
	if err != nil {
		return err
	}
	defer cr.close()
	if err := preflight(ctx, cr.h, tmp); err != nil {
		return err
	}

	o := conformance.Options{Short: f.short, Workers: f.workers}
	if f.leasedb != "" {
		o.LeaseDB = scenarioSchemas(f.leasedb)
	}
	tests := append(conformance.BackendTests(cr.h, o), conformance.CrawlerTests(cr.h, o)...)
	runCtx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	rs := runner.Run(runCtx, tests, runner.Config{Run: sel, Parallel: f.parallel, TempRoot: tmp,
		OnResult: func(r report.Result) { progressLine(e.stderr, r, f.verbose) }})
	rs = known.Apply(rs)
	if err := writeReports(f, rs, cr.props); err != nil {
		return err
	}
	report.WriteSummary(e.stdout, rs, known.Unmatched())
	if ctx.Err() != nil {
		return interrupted(ctx, ctx.Err(), "conformance", "the tests that ran are reported above; their scratch data is removed")
	}
	if runCtx.Err() != nil {
		return &exitError{code: exitFailure, err: fmt.Errorf("conformance: the run timed out after %v", f.timeout)}
	}
	if report.Verdict(rs) != 0 {
		return &exitError{code: exitFailure, err: errors.New("conformance: FAIL")}
	}
	return nil
}

// readKnownFailures parses the --known-failures file, if any; a missing
// or malformed file is a usage error.
func readKnownFailures(path string) (*report.KnownFailures, error) {
	if path == "" {
		return nil, nil
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, usageErr(fmt.Errorf("--known-failures: %v", err))
	}
	defer fh.Close()
	kf, err := report.ParseKnownFailures(fh, path)
	if err != nil {
		return nil, usageErr(err)
	}
	return kf, nil
}

// progressLine prints one finished test to w: failures always, the rest
// with verbose.
func progressLine(w io.Writer, r report.Result, verbose bool) {
	if r.Status != report.Failed && !verbose {
		return
	}
	label := map[report.Status]string{report.Passed: "PASS", report.Failed: "FAIL", report.Skipped: "SKIP"}[r.Status]
	fmt.Fprintf(w, "--- %s: %s (%.2fs)\n", label, r.Name, r.Elapsed.Seconds())
}

// writeReports writes the --junit and --json files.
func writeReports(f *conformanceFlags, rs []report.Result, props map[string]string) error {
	write := func(path string, fn func(io.Writer) error) error {
		if path == "" {
			return nil
		}
		fh, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := fn(fh); err != nil {
			fh.Close()
			return fmt.Errorf("write %s: %w", path, err)
		}
		return fh.Close()
	}
	if err := write(f.junit, func(w io.Writer) error { return report.WriteJUnit(w, "sharestore-conformance", rs, props) }); err != nil {
		return err
	}
	return write(f.json, func(w io.Writer) error { return report.WriteJSON(w, rs) })
}

// preflight makes one fresh backend and drops it, so that a backend or
// plugin that cannot start is exit status 2 with its cause, before any
// test runs.
func preflight(ctx context.Context, h conformance.Harness, tmp string) error {
	s := runner.NewScope(ctx, "preflight", tmp)
	var openErrMsg error
	s.Do(func(tb *runner.Scope) {
		b, err := h.NewBackend(tb.Context(), tb)
		if err != nil {
			openErrMsg = err
			return
		}
		b.Close()
	})
	s.Close()
	if openErrMsg != nil {
		return openErr(openErrMsg)
	}
	if s.Failed() {
		return openErr(sharestore.Errorf(sharestore.ErrUnavailable, "%s", strings.TrimSpace(s.Output())))
	}
	return nil
}

// version is the first line of versionText, for reports.
func shortVersion() string {
	v, _, _ := strings.Cut(versionText(), "\n")
	return v
}

// redactedSpec is spec as reports may show it.
func redactedSpec(spec string) string { return redact.String(spec) }
