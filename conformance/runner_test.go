package conformance_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/sharestore/sharestore"
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

// hidingHarness's backends never list share 1 of any storage index: a
// contract bug the crawler scenarios must catch.
type hidingHarness struct{ memHarness }

type hiding struct{ sharestore.Backend }

func (h hiding) ListPrefix(ctx context.Context, p sharestore.Prefix, fn func(sharestore.ShareInfo) error) error {
	return h.Backend.ListPrefix(ctx, p, func(i sharestore.ShareInfo) error {
		if i.Shnum == 1 {
			return nil
		}
		return fn(i)
	})
}

func (h hidingHarness) NewBackend(ctx context.Context, t conformance.TB) (sharestore.Backend, error) {
	b, err := h.memHarness.NewBackend(ctx, t)
	return hiding{b}, err
}

func (hidingHarness) PlantObject(ctx context.Context, t conformance.TB, b sharestore.Backend, key string, data []byte) error {
	return conformance.CloudHarness{}.PlantObject(ctx, t, b.(hiding).Backend, key, data)
}

// A crawler scenario that differs from the golden files says which
// counter and which lease database row differ, next to the golden value.
func TestCrawlerDifferenceNamesTheRow(t *testing.T) {
	rs := runner.Run(context.Background(), conformance.CrawlerTests(hidingHarness{}, conformance.Options{}), runner.Config{Run: regexp.MustCompile(`^Crawlers/basic$`)})
	if len(rs) != 1 || rs[0].Status != report.Failed {
		t.Fatalf("results %+v, want Crawlers/basic failed", rs)
	}
	for _, want := range []string{
		"crawler results differ from the golden file testdata/crawlers/basic.json",
		"leasedb.history[cycle=0].entry.space-recovered.examined-shares: got 7, golden 9",
		"leasedb.history[cycle=1].entry.lease-age-histogram[0][2]: got 7, golden 9",
	} {
		if !strings.Contains(rs[0].Message, want) {
			t.Errorf("message lacks %q:\n%s", want, rs[0].Message)
		}
	}
}
