package report

import (
	"testing"
	"time"
)

// TestVerdict checks the exit code: 1 exactly when some result failed or
// has an unknown status; known failures, fixed and skipped tests pass.
func TestVerdict(t *testing.T) {
	for _, c := range []struct {
		name     string
		statuses []Status
		want     int
	}{
		{"empty", nil, 0},
		{"all passed", []Status{Passed, Passed}, 0},
		{"skipped", []Status{Passed, Skipped}, 0},
		{"known failure", []Status{Passed, Known}, 0},
		{"fixed", []Status{Fixed, Passed}, 0},
		{"everything but failed", []Status{Passed, Skipped, Known, Fixed}, 0},
		{"one failed", []Status{Passed, Known, Failed, Fixed}, 1},
		{"only failed", []Status{Failed}, 1},
		{"unknown status", []Status{Passed, "exploded"}, 1},
		{"empty status", []Status{""}, 1},
	} {
		var rs []Result
		for _, s := range c.statuses {
			rs = append(rs, Result{Name: "G/t", Group: "G", Status: s})
		}
		if got := Verdict(rs); got != c.want {
			t.Errorf("%s: Verdict(%v) = %d, want %d", c.name, c.statuses, got, c.want)
		}
	}
}

// TestTallyAndGroups checks the counts, the total time, the group order
// (first appearance) and the name relative to the group.
func TestTallyAndGroups(t *testing.T) {
	rs := []Result{
		{Name: "B/x/1", Group: "B/x", Status: Passed, Elapsed: time.Second},
		{Name: "A/1", Group: "A", Status: Failed, Elapsed: 2 * time.Second},
		{Name: "B/x/2", Group: "B/x", Status: Skipped},
		{Name: "A/2", Group: "A", Status: Known},
		{Name: "A/3", Group: "A", Status: Fixed, Elapsed: 500 * time.Millisecond},
		{Name: "A/4", Group: "A", Status: "bogus"},
	}
	c := Tally(rs)
	if want := (Counts{Passed: 1, Failed: 2, Skipped: 1, Known: 1, Fixed: 1, Elapsed: 3500 * time.Millisecond}); c != want {
		t.Errorf("Tally = %+v, want %+v", c, want)
	}
	if c.Total() != 6 {
		t.Errorf("Total = %d, want 6", c.Total())
	}
	gs := groupResults(rs)
	if len(gs) != 2 || gs[0].name != "B/x" || gs[1].name != "A" || len(gs[0].results) != 2 || len(gs[1].results) != 4 {
		t.Fatalf("groups %+v", gs)
	}
	if gs[1].counts.Failed != 2 || gs[0].counts.Elapsed != time.Second {
		t.Errorf("group counts %+v, %+v", gs[0].counts, gs[1].counts)
	}
	for _, c := range []struct{ name, group, want string }{
		{"Backend/Mutable/TestAndSet_eq", "Backend/Mutable", "TestAndSet_eq"},
		{"Backend/Mutable/S10/eq_\"1\"", "Backend/Mutable", "S10/eq_\"1\""},
		{"Crawlers", "Crawlers", "Crawlers"},
		{"Backend/MutableX/a", "Backend/Mutable", "Backend/MutableX/a"},
		{"Other/a", "", "Other/a"},
	} {
		if got := (Result{Name: c.name, Group: c.group}).shortName(); got != c.want {
			t.Errorf("shortName(%q in %q) = %q, want %q", c.name, c.group, got, c.want)
		}
	}
}
