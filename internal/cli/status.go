package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/sharestore/sharestore/crawler"
	"github.com/sharestore/sharestore/internal/config"
	"github.com/sharestore/sharestore/internal/units"
	"github.com/sharestore/sharestore/leasedb"
)

func newStatusCmd(e *env) *cobra.Command {
	var stateDir, leasedbFlag string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status [--state-dir DIR] [--json]",
		Short: "Show the crawlers' progress, the current cycle so far and the history",
		Long: `status reads a state directory written by "sharestore crawl" and shows where
each crawler is, what the current accounting cycle has found so far with
estimates for the whole cycle, and the history of recent cycles. With --json it
prints Tahoe's status keys: bucket-counter, lease-checker and
lease-checker-progress.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if stateDir == "" {
				dir, err := defaultStateDir()
				if err != nil {
					return err
				}
				stateDir = dir
			}
			if err := config.CheckLeaseDB(config.FlagKeys, leasedbFlag); err != nil {
				return usageErr(err)
			}
			return runStatus(cmd.Context(), e, stateDir, leasedbFlag, asJSON)
		},
	}
	cmd.Flags().StringVar(&stateDir, "state-dir", "", "state directory of the crawl (default ./sharestore-state, or else the demo's ./sharestore-data/state)")
	cmd.Flags().StringVar(&leasedbFlag, "leasedb", "", leasedbFlagUsage)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

type statusJSON struct {
	BucketCounter        *bucketStatus        `json:"bucket-counter"`
	LeaseChecker         *crawler.CycleReport `json:"lease-checker"`
	LeaseCheckerProgress *crawler.Progress    `json:"lease-checker-progress"`
	LeaseDB              *leasedb.Stats       `json:"leasedb,omitempty"`
}

type bucketStatus struct {
	crawler.BucketsState
	Progress crawler.Progress `json:"progress"`
}

func runStatus(ctx context.Context, e *env, dir, leasedbFlag string, asJSON bool) error {
	now := time.Now()
	out, err := readStatus(ctx, dir, leasedbFlag, now)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", " ")
		return enc.Encode(out)
	}
	printStatus(e.stdout, out, now)
	return nil
}

// readStatus reads the state directory dir, and the lease database that
// leasedbFlag names (see leasedbURL), as of now.
func readStatus(ctx context.Context, dir, leasedbFlag string, now time.Time) (statusJSON, error) {
	if err := checkStateDir(dir); err != nil {
		return statusJSON{}, err
	}
	bs, bok, err := crawler.ReadState(filepath.Join(dir, bucketsState), crawler.BucketsName)
	if err != nil {
		return statusJSON{}, err
	}
	as, aok, err := crawler.ReadState(filepath.Join(dir, accountingState), crawler.AccountingName)
	if err != nil {
		return statusJSON{}, err
	}
	if !bok && !aok {
		return statusJSON{}, usageErr(fmt.Errorf("state directory %s holds no crawler state; run \"sharestore crawl --state-dir %s\" first", dir, dir))
	}
	src := statusSource{}
	if bok {
		src.buckets = &bs
	}
	if aok {
		db, err := leasedb.OpenURL(ctx, leasedbURL(dir, leasedbFlag), leasedb.Options{})
		if err != nil {
			return statusJSON{}, err
		}
		defer db.Close()
		acct, err := crawler.NewAccounting(nil, db, crawler.RealClock{}, crawler.AccountingConfig{})
		if err != nil {
			return statusJSON{}, err
		}
		src.accounting, src.acct, src.db = &as, acct, db
	}
	src.bucketsPath = filepath.Join(dir, bucketsState)
	return src.status(ctx, now)
}

// statusSource is what a status is made of: each crawler's state (nil
// when that crawler has none), and for the accounting crawler the
// crawler and lease database that make its report.
type statusSource struct {
	buckets, accounting *crawler.State
	acct                *crawler.Accounting
	db                  *leasedb.DB
	bucketsPath         string // the bucket counter's state file, for messages
}

// status assembles the status as of now.
func (src statusSource) status(ctx context.Context, now time.Time) (statusJSON, error) {
	out := statusJSON{}
	if s := src.buckets; s != nil {
		var bs crawler.BucketsState
		if len(s.Extra) > 0 {
			if err := json.Unmarshal(s.Extra, &bs); err != nil {
				return out, fmt.Errorf("%s: %w", src.bucketsPath, err)
			}
		}
		out.BucketCounter = &bucketStatus{BucketsState: bs, Progress: crawler.ProgressOf(*s, now)}
	}
	if s := src.accounting; s != nil {
		rep, err := src.acct.Report(ctx, *s)
		if err != nil {
			return out, err
		}
		p := crawler.ProgressOf(*s, now)
		stats, err := src.db.Stats(ctx)
		if err != nil {
			return out, err
		}
		out.LeaseChecker, out.LeaseCheckerProgress, out.LeaseDB = &rep, &p, &stats
	}
	return out, nil
}

func printStatus(w io.Writer, s statusJSON, now time.Time) {
	if b := s.BucketCounter; b != nil {
		fmt.Fprintln(w, "Bucket counter")
		if b.LastCompleteCount == nil {
			fmt.Fprintln(w, "  Total sharesets: Not computed yet")
		} else {
			fmt.Fprintf(w, "  Total sharesets: %d (the number of files and directories for which this server is holding a share)\n", *b.LastCompleteCount)
		}
		fmt.Fprintf(w, "  %s\n", crawler.FormatProgress(b.Progress))
		printStatusRequests(w, b.Progress)
		printStatusFailures(w, b.Progress)
	}
	if s.LeaseChecker == nil {
		return
	}
	r := s.LeaseChecker
	fmt.Fprintln(w, "\nLease expiration crawler")
	fmt.Fprintf(w, "  %s\n", crawler.FormatProgress(*s.LeaseCheckerProgress))
	printStatusRequests(w, *s.LeaseCheckerProgress)
	printStatusFailures(w, *s.LeaseCheckerProgress)
	if so := r.SoFar; so != nil {
		c := so.Counters
		fmt.Fprintln(w, "  Current cycle:")
		fmt.Fprintf(w, "    So far, this cycle has examined %d shares in %d sharesets (%d mutable / %d immutable) (%s / %s)\n",
			c["examined-shares"], c["examined-buckets"], c["examined-buckets-mutable"], c["examined-buckets-immutable"],
			units.Bytes(c["examined-diskbytes-mutable"]), units.Bytes(c["examined-diskbytes-immutable"]))
		fmt.Fprintf(w, "    and has recovered: %s\n", crawler.RecoveredText(c, "actual"))
		if r.Remaining != nil {
			whole := r.Whole.SpaceRecovered
			fmt.Fprintf(w, "    The remainder of this cycle is expected to recover: %s\n", crawler.RecoveredText(r.Remaining.SpaceRecovered, "actual"))
			fmt.Fprintf(w, "    The whole cycle is expected to examine %d shares in %d sharesets\n", whole["examined-shares"], whole["examined-buckets"])
			fmt.Fprintf(w, "    and to recover: %s\n", crawler.RecoveredText(whole, "actual"))
		}
		for _, cs := range so.Corrupt {
			fmt.Fprintf(w, "    Corrupt share: SI %s shnum %d\n", cs.SI, cs.Shnum)
		}
	}
	for i, c := range newestFirst(r.History) {
		h := r.History[c]
		took := time.Duration(h.CycleStartFinish[1]-h.CycleStartFinish[0]) * time.Second
		ago := now.Sub(time.Unix(h.CycleStartFinish[1], 0))
		if i == 0 {
			fmt.Fprintf(w, "  Last complete cycle (%d, which took %s and finished %s ago) recovered: %s\n", c, crawler.AbbreviateTime(&took), crawler.AbbreviateTime(&ago), crawler.RecoveredText(h.SpaceRecovered, "actual"))
			fmt.Fprintf(w, "    and saw a total of %s\n", crawler.RecoveredText(h.SpaceRecovered, "examined"))
			if !h.ExpirationEnabled {
				fmt.Fprintln(w, "    but expiration was not enabled.")
			}
			for _, cs := range h.Corrupt {
				fmt.Fprintf(w, "    Corrupt share: SI %s shnum %d\n", cs.SI, cs.Shnum)
			}
			continue
		}
		fmt.Fprintf(w, "  Cycle %d: examined %d shares, recovered %d\n", c, h.SpaceRecovered["examined-shares"], h.SpaceRecovered["actual-shares"])
	}
	if d := s.LeaseDB; d != nil {
		printLeaseDBStats(w, *d)
	}
}

// printStatusRequests shows the store requests of p's cycles, when they
// were counted.
func printStatusRequests(w io.Writer, p crawler.Progress) {
	if p.CycleRequests != nil {
		fmt.Fprintf(w, "  Store requests this cycle so far: %s\n", p.CycleRequests)
	}
	if p.LastCycleRequests != nil {
		fmt.Fprintf(w, "  Store requests in the last cycle: %s\n", p.LastCycleRequests)
	}
}

// printStatusFailures lists the failed prefixes of p's cycle.
func printStatusFailures(w io.Writer, p crawler.Progress) {
	if len(p.FailedPrefixes) == 0 {
		return
	}
	which := "the last cycle"
	if p.CycleInProgress {
		which = "this cycle"
	}
	fmt.Fprintf(w, "  Failed prefixes, not examined in %s:\n", which)
	printFailures(w, "    ", p.FailedPrefixes)
}

// checkStateDir refuses, as bad usage, a --state-dir that is missing or
// is not a directory, saying which.
func checkStateDir(dir string) error {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return usageErr(fmt.Errorf("--state-dir %s does not exist; run \"sharestore crawl\" first or pass --state-dir", dir))
	case err != nil:
		return usageErr(fmt.Errorf("--state-dir %s: %w", dir, err))
	case !st.IsDir():
		return usageErr(fmt.Errorf("--state-dir %s is not a directory (it is a %s); pass the directory that holds the crawler state files", dir, fileKind(st.Mode())))
	}
	return nil
}

// fileKind names the kind of file mode describes, for messages.
func fileKind(mode fs.FileMode) string {
	switch {
	case mode.IsRegular():
		return "file"
	case mode&fs.ModeSymlink != 0:
		return "symbolic link"
	case mode&fs.ModeNamedPipe != 0:
		return "named pipe"
	case mode&fs.ModeSocket != 0:
		return "socket"
	case mode&fs.ModeDevice != 0:
		return "device"
	}
	return "non-directory"
}

// defaultStateDir is status's state directory when --state-dir is not
// given: crawl's default, ./sharestore-state, if it exists, or else the
// demo's, ./sharestore-data/state, if that exists.
func defaultStateDir() (string, error) {
	demo := filepath.Join(defaultDataDir, "state")
	for _, dir := range []string{defaultStateDirName, demo} {
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			return dir, nil
		}
	}
	return "", usageErr(fmt.Errorf("no --state-dir given, and neither ./%s (crawl's default) nor ./%s (crawl --demo's) exists; pass --state-dir", defaultStateDirName, demo))
}

// printLeaseDBStats prints the lease database's statistics, its bytes in
// IEC units.
func printLeaseDBStats(w io.Writer, d leasedb.Stats) {
	fmt.Fprintf(w, "\nLease database: %d leased shares, %s leased, %d sharesets\n", d.LeasedShares, units.Bytes(d.LeasedBytes), d.Sharesets)
}

// newestFirst returns the cycles of a history, the newest first.
func newestFirst(history map[int]crawler.HistoryEntry) []int {
	cycles := make([]int, 0, len(history))
	for c := range history {
		cycles = append(cycles, c)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(cycles)))
	return cycles
}
