package crawler

import (
	"fmt"
	"strings"
	"time"

	"github.com/sharestore/sharestore/leasedb"
)

// AbbreviateTime renders d as Tahoe's abbreviate_time does (see
// leasedb.AbbreviateTime), except that a duration above zero and below a
// second is "under 1 second" rather than "0 seconds"; nil is "unknown".
func AbbreviateTime(d *time.Duration) string {
	switch {
	case d == nil:
		return "unknown"
	case *d > 0 && *d < time.Second:
		return "under 1 second"
	}
	return leasedb.AbbreviateTime(*d)
}

// FormatETA renders an ETA in whole seconds, rounded ("2044s", "0s"), or
// "unknown" for nil, as Tahoe's status page shows it.
func FormatETA(d *time.Duration) string {
	if d == nil {
		return "unknown"
	}
	return fmt.Sprintf("%ds", int64(d.Round(time.Second).Seconds()))
}

// FormatProgress renders p as Tahoe's status page does: "Current crawl
// 19.4% complete (ETA 120s) (next work in 5 seconds) (estimated cycle time
// 3 hours)" during a cycle (with "ETA unknown" until a prefix is done),
// "Next crawl in 59 minutes (estimated cycle time …)" between cycles,
// and "No crawl scheduled" after a one-shot run.
func FormatProgress(p Progress) string {
	var b strings.Builder
	if p.CycleInProgress {
		fmt.Fprintf(&b, "Current crawl %.1f%% complete (ETA %s)", p.Percentage, FormatETA(p.ETA))
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
