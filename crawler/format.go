package crawler

import (
	"fmt"
	"strings"
	"time"
)

// AbbreviateTime renders d as Tahoe's abbreviate_time does: whole
// seconds below 2 minutes, minutes below 3 hours, hours below 2 days,
// days below 2 years, then years; "unknown" for nil.
func AbbreviateTime(d *time.Duration) string {
	if d == nil {
		return "unknown"
	}
	s := d.Seconds()
	plural := func(n float64, unit string) string {
		c := int64(n)
		if c == 1 {
			return fmt.Sprintf("%d %s", c, unit)
		}
		return fmt.Sprintf("%d %ss", c, unit)
	}
	switch {
	case s < 120:
		return plural(s, "second")
	case s < 3*3600:
		return plural(s/60, "minute")
	case s < 2*86400:
		return plural(s/3600, "hour")
	case s < 2*365*86400:
		return plural(s/86400, "day")
	}
	return plural(s/(365*86400), "year")
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
