package cloud

import "time"

// SetRecentClock makes the backend's memory of recent listings read the
// time from now, for tests of its age limit.
func SetRecentClock(b *Backend, now func() time.Time) { b.c.recent.now = now }

// RecentMaxAge is recentMaxAge, for tests.
const RecentMaxAge = recentMaxAge
