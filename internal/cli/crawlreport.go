package cli

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/crawler"
	"github.com/sharestore/sharestore/internal/units"
	"github.com/sharestore/sharestore/leasedb"
)

// crawlReport is what crawl prints at the end. Its JSON keys are Tahoe's
// kebab-case, like every JSON document the command prints; byte counts
// are integers and durations seconds.
type crawlReport struct {
	Backend  string   `json:"backend"`
	StateDir string   `json:"state-dir"`
	Seeded   int      `json:"seeded-sample-shares,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	// Accounting is the accounting cycle this crawl completed (the last
	// one, without --once), or nil if it completed none.
	Accounting *accountingReport `json:"accounting,omitempty"`
	Deletion   *deletionsReport  `json:"deletion,omitempty"`
	// Buckets is the count of the bucket-counting cycle this crawl
	// completed, or nil if it completed none.
	Buckets *bucketsReport `json:"buckets,omitempty"`
	Stats   *leasedb.Stats `json:"leasedb,omitempty"`
	// Progress is each crawler's progress when the crawl stopped.
	Progress map[string]crawler.Progress `json:"progress,omitempty"`
	// FailedPrefixes lists, per crawler, the prefixes of the cycle that
	// failed and were not examined.
	FailedPrefixes map[string][]crawler.PrefixFailure `json:"failed-prefixes,omitempty"`
}

type accountingReport struct {
	Cycle             int                    `json:"cycle"`
	Started           time.Time              `json:"started"`
	Finished          time.Time              `json:"finished"`
	DryRun            bool                   `json:"dry-run"`
	Expiration        string                 `json:"expiration"`
	Sharesets         int64                  `json:"sharesets"`
	Shares            map[string]int64       `json:"shares"`
	ShareBytes        map[string]int64       `json:"share-bytes"`
	DiskBytes         map[string]int64       `json:"disk-bytes"`
	Added             int64                  `json:"added"`
	Removed           int64                  `json:"removed"`
	Deleted           map[string]int64       `json:"deleted"`
	WouldDelete       map[string]int64       `json:"would-delete"`
	DeleteFailed      int64                  `json:"delete-failed"`
	CorruptShares     []crawler.CorruptShare `json:"corrupt-shares"`
	LeaseAgeHistogram [][3]int64             `json:"lease-age-histogram"`
	SpaceRecovered    map[string]int64       `json:"space-recovered"`
	// Requests counts the store requests of the cycle, when the backend
	// counts them.
	Requests sharestore.StoreRequests `json:"store-requests,omitempty"`
}

type bucketsReport struct {
	Cycle     int   `json:"cycle"`
	Sharesets int64 `json:"sharesets"`
	// BeforeDeletions is how many shares the reported accounting cycle
	// deleted after this count's cycle had started, so that the count
	// may still include them; 0 when the count came after every
	// deletion (crawl --once counts after the accounting cycle).
	BeforeDeletions int64 `json:"counted-before-deletions,omitempty"`
	// Requests counts the store requests of the cycle, when the backend
	// counts them.
	Requests sharestore.StoreRequests `json:"store-requests,omitempty"`
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
		Requests:          h.Requests,
	}
}

// report fills rep from what the crawl's cycles stored: the cycles this
// crawl completed, never one an earlier run left in the history.
func (r *crawlRun) report(ctx context.Context, rep *crawlReport) error {
	var acctEnd *time.Time
	var deleted int64
	if r.acct != nil {
		eng := r.engines[r.index("accounting")]
		if n := r.finished[r.index("accounting")]; n >= 0 {
			hist, err := r.acct.Report(ctx, eng.State())
			if err != nil {
				return err
			}
			if h, ok := hist.History[n]; ok {
				rep.Accounting = newAccountingReport(n, h)
				rep.Deletion.Deferred = h.SpaceRecovered["delete-deferred"]
				acctEnd, deleted = eng.State().LastCycleEnd, h.SpaceRecovered["actual-shares"]
			}
		}
		rep.Deletion.Held = r.acct.HeldReason()
		if id := r.acct.LastCycleID(); id != "" {
			var err error
			if rep.Deletion.Deletions, err = r.acct.Deletions(ctx, id); err != nil {
				return err
			}
		}
		st, err := r.db.Stats(ctx)
		if err != nil {
			return err
		}
		rep.Stats = &st
	}
	if r.buckets != nil {
		i := r.index("buckets")
		if s := r.buckets.State(); s.LastCompleteCount != nil && r.finished[i] >= 0 && *s.LastCompleteCycle == r.finished[i] {
			rep.Buckets = &bucketsReport{Cycle: *s.LastCompleteCycle, Sharesets: *s.LastCompleteCount, Requests: r.engines[i].State().LastCycleRequests}
			if start := r.engines[i].State().LastCycleStart; acctEnd != nil && start != nil && start.Before(*acctEnd) {
				rep.Buckets.BeforeDeletions = deleted
			}
		}
	}
	rep.Progress = map[string]crawler.Progress{}
	for i, eng := range r.engines {
		rep.Progress[r.names[i]] = eng.Progress()
		if failed := eng.State().FailedPrefixes(); len(failed) > 0 {
			if rep.FailedPrefixes == nil {
				rep.FailedPrefixes = map[string][]crawler.PrefixFailure{}
			}
			rep.FailedPrefixes[r.names[i]] = failed
		}
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

func printCrawlReport(w io.Writer, r *crawlReport, interrupted bool) {
	fmt.Fprintf(w, "Backend:   %s\nState dir: %s\n", r.Backend, r.StateDir)
	if a := r.Accounting; a != nil {
		fmt.Fprintf(w, "\nAccounting cycle %d (%s to %s, expiration %s%s)\n", a.Cycle,
			a.Started.Format(time.RFC3339), a.Finished.Format(time.RFC3339), a.Expiration, map[bool]string{true: ", dry run"}[a.DryRun])
		fmt.Fprintf(w, "  sharesets:   %d\n", a.Sharesets)
		fmt.Fprintf(w, "  shares:      %d (%d immutable, %d mutable, %d corrupt)\n", a.Shares["total"], a.Shares["immutable"], a.Shares["mutable"], a.Shares["corrupt"])
		fmt.Fprintf(w, "  share bytes: %s   disk bytes: %s\n", units.Bytes(a.ShareBytes["total"]), units.Bytes(a.DiskBytes["total"]))
		fmt.Fprintf(w, "  added %d, removed %d, deleted %d, would delete %d, delete failures %d\n",
			a.Added, a.Removed, a.Deleted["total"], a.WouldDelete["total"], a.DeleteFailed)
		if a.Requests != nil {
			fmt.Fprintf(w, "  store requests: %s\n", a.Requests)
		}
		for _, c := range a.CorruptShares {
			fmt.Fprintf(w, "  corrupt: SI %s shnum %d\n", c.SI, c.Shnum)
		}
		printDeletions(w, r.Deletion)
	} else if p, ok := r.Progress["accounting"]; ok {
		fmt.Fprintf(w, "\nAccounting: no cycle completed in this run (%s)\n", crawler.FormatProgress(p))
	}
	if b := r.Buckets; b != nil {
		fmt.Fprintf(w, "\nBucket counter: %d sharesets (cycle %d", b.Sharesets, b.Cycle)
		if b.BeforeDeletions > 0 {
			fmt.Fprintf(w, "; counted while the accounting cycle ran, so it may include some of the %d shares that cycle deleted", b.BeforeDeletions)
		}
		fmt.Fprintln(w, ")")
		if b.Requests != nil {
			fmt.Fprintf(w, "  store requests: %s\n", b.Requests)
		}
	} else if p, ok := r.Progress["buckets"]; ok {
		fmt.Fprintf(w, "\nBucket counter: no cycle completed in this run (%s)\n", crawler.FormatProgress(p))
	}
	if s := r.Stats; s != nil {
		printLeaseDBStats(w, *s)
	}
	for _, name := range slices.Sorted(maps.Keys(r.FailedPrefixes)) {
		fmt.Fprintf(w, "\nFailed prefixes (%s crawler), not examined this cycle:\n", name)
		printFailures(w, "  ", r.FailedPrefixes[name])
	}
	if interrupted {
		for _, name := range slices.Sorted(maps.Keys(r.Progress)) {
			if p := r.Progress[name]; p.CycleInProgress && (name != "accounting" || r.Accounting != nil) && (name != "buckets" || r.Buckets != nil) {
				fmt.Fprintf(w, "%s, interrupted: %s\n", name, crawler.FormatProgress(p))
			}
		}
	}
}

// printFailures lists failed prefixes, one a line.
func printFailures(w io.Writer, indent string, failed []crawler.PrefixFailure) {
	for _, f := range failed {
		fmt.Fprintf(w, "%sprefix %s: %s after %d attempt(s) at %s: %s\n", indent, f.Prefix, f.Class, f.Attempts, f.Time.UTC().Format(time.RFC3339), f.Reason)
	}
}
