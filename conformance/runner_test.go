package conformance_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sharestore/sharestore/backends/mem"
	"github.com/sharestore/sharestore/conformance"
	"github.com/sharestore/sharestore/internal/conformance/report"
	"github.com/sharestore/sharestore/internal/conformance/runner"
)

// The whole suite runs outside go test, on the conformance command's
// runner, with the results go test gives: every test passes on the
// in-memory backend, side by side, and a harness that cannot plant
// skips exactly the planting tests with that reason.
func TestSuiteOnTheRunner(t *testing.T) {
	o := conformance.Options{Short: true}
	tests := append(conformance.BackendTests(memHarness{}, o), conformance.CrawlerTests(memHarness{mem.Options{ChunkSize: 1000, PageSize: 7}}, o)...)
	rs := runner.Run(context.Background(), tests, runner.Config{Parallel: 2, TempRoot: t.TempDir()})
	if len(rs) < 150 {
		t.Errorf("%d results, want at least 150", len(rs))
	}
	groups := map[string]bool{}
	for _, r := range rs {
		groups[r.Group] = true
		if r.Status == report.Failed {
			t.Errorf("%s failed: %s", r.Name, r.Message)
		}
		if !strings.HasPrefix(r.Name, r.Group+"/") {
			t.Errorf("%s is not in its group %s", r.Name, r.Group)
		}
	}
	for _, g := range []string{"Backend/Listing", "Backend/Mutable", "Backend/Scan", "Crawlers"} {
		if !groups[g] {
			t.Errorf("no results in group %s", g)
		}
	}

	rs = runner.Run(context.Background(), conformance.BackendTests(noRawHarness{}, o), runner.Config{})
	skipped := 0
	for _, r := range rs {
		if r.Status == report.Skipped && strings.Contains(r.Message, "harness cannot plant raw objects") {
			skipped++
		}
		if r.Status == report.Failed {
			t.Errorf("%s failed without planting: %s", r.Name, r.Message)
		}
	}
	if skipped == 0 {
		t.Error("no test skipped for want of planting")
	}
}
