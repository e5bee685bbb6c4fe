package report

import "time"

// nastyMessage holds every character that must survive into XML: markup
// characters, a NUL, an ANSI escape, and a second line.
const nastyMessage = "got <nil> & \"x\" with \x00 and \x1b[31m\nsecond line"

// fixture returns a small run: two groups, every status, a multi-line
// failure and a message with characters XML cannot hold.
func fixture() []Result {
	ms := time.Millisecond
	return []Result{
		{Name: "Backend/Mutable/Create", Group: "Backend/Mutable", Status: Passed, Elapsed: 120 * ms},
		{Name: `Backend/Mutable/S10/eq_"1"`, Group: "Backend/Mutable", Status: Failed, Elapsed: 30 * ms, Message: nastyMessage},
		{Name: "Backend/Mutable/Planted", Group: "Backend/Mutable", Status: Skipped, Message: "needs planting: the plugin has no harness"},
		{Name: "Backend/Listing/Over1000", Group: "Backend/Listing", Status: Known, Elapsed: 2500 * ms, Message: "listing stopped after 1000 keys", Reason: "acme#12"},
		{Name: "Backend/Listing/Order", Group: "Backend/Listing", Status: Fixed, Elapsed: 10 * ms, Reason: "was flaky"},
		{Name: "Backend/Mutable/Delete", Group: "Backend/Mutable", Status: Failed, Elapsed: 5 * ms, Message: "\n  deleted shnum 10 too\n  want only 1"},
		{Name: "Crawlers/basic", Group: "Crawlers", Status: Passed, Elapsed: 1000 * ms},
		{Name: "Crawlers/lost-leasedb", Group: "Crawlers", Status: Skipped, Message: "needs planting: the plugin has no harness"},
	}
}
