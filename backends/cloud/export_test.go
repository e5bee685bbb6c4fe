package cloud

import (
	"time"

	"github.com/sharestore/sharestore"
)

// SetRecentClock makes the backend's memory of recent listings read the
// time from now, for tests of its age limit.
func SetRecentClock(b *Backend, now func() time.Time) { b.c.recent.now = now }

// RecentMaxAge is recentMaxAge, for tests.
const RecentMaxAge = recentMaxAge

// PlanFor returns the plan a scan from prefix index first would use.
func PlanFor(b *Backend, first int) ListPlan { return b.c.learned.choose(b.c.opts.ListPlan, first) }

// Buffered returns how many listings the range scan s holds that Next
// has not returned, and false when s is a scan of another kind.
func Buffered(s sharestore.PrefixScan) (int, bool) {
	r, ok := s.(*rangeScan)
	if !ok {
		return 0, false
	}
	return len(r.prod.results), true
}
