package crawler

import (
	"fmt"
	"strings"
	"time"

	"github.com/sharestore/sharestore/leasedb"
)

// AbbreviateTime renders d as Tahoe's abbreviate_time does (see
// leasedb.AbbreviateTime), and "unknown" for nil.
func AbbreviateTime(d *time.Duration) string {
	if d == nil {
		return "unknown"
	}
	return leasedb.AbbreviateTime(*d)
}

// FormatProgress renders p as Tahoe's status page does: "Current crawl
// 19.4% complete (ETA 120s) (next work in 5 seconds) (estimated cycle time
// 3 hours)" during a cycle, "Next crawl in 59 minutes (estimated cycle
// time …)" between cycles, and "No crawl scheduled" after a one-shot run.
func FormatProgress(p Progress) string {
	var b strings.Builder
	if p.CycleInProgress {
		fmt.Fprintf(&b, "Current crawl %.1f%% complete", p.Percentage)
		if p.ETA != nil {
			fmt.Fprintf(&b, " (ETA %ds)", int64(p.ETA.Seconds()))
		}
		fmt.Fprintf(&b, " (next work in %s)", AbbreviateTime(p.RemainingWait))
	} else if p.RemainingWait != nil {
		fmt.Fprintf(&b, "Next crawl in %s", AbbreviateTime(p.RemainingWait))
	} else {
		b.WriteString("No crawl scheduled")
	}
	if p.CycleTime != nil {
		fmt.Fprintf(&b, " (estimated cycle time %s)", AbbreviateTime(p.CycleTime))
	}
	return b.String()
}
