//go:build unix

package plugin_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/disk"
	"github.com/sharestore/sharestore/crawler"
	"github.com/sharestore/sharestore/internal/benchstore"
	"github.com/sharestore/sharestore/leasedb"
	"github.com/sharestore/sharestore/plugin"
)

// BenchmarkCycle runs unthrottled crawl cycles over the same 100k-share
// store in process and through the disk plugin. Every iteration runs one
// cycle each way, back to back, so the two figures of a ratio share the
// machine's conditions; it reports the seconds per cycle of each and
// their ratio (plugin/in-process). scripts/bench-plugin.sh prints the
// medians over several runs.
func BenchmarkCycle(b *testing.B) {
	n := benchstore.Shares()
	root := benchstore.Disk(b, n)
	ctx := context.Background()
	inproc, err := disk.Open(root, disk.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer inproc.Close()
	viaPlugin, err := plugin.Open(ctx, diskPlugin, plugin.Config{URL: "disk:" + root}, plugin.HostOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer viaPlugin.Close()
	cfg := crawler.Config{CPUSlice: 1000 * time.Hour, AllowedCPUProportion: 1, OneShot: true, Logger: quiet}
	backends := [2]sharestore.Backend{inproc, viaPlugin}

	b.Run("buckets", func(b *testing.B) {
		pairs(b, func(b *testing.B, i int) {
			c := crawler.NewBuckets(backends[i])
			e, err := crawler.New(c, filepath.Join(b.TempDir(), "s.json"), crawler.RealClock{}, cfg, crawler.Hooks{})
			if err != nil {
				b.Fatal(err)
			}
			if err := e.Run(ctx); err != nil {
				b.Fatal(err)
			}
			if got := *c.State().LastCompleteCount; got != int64(n/2) {
				b.Fatalf("counted %d", got)
			}
		})
	})
	b.Run("accounting-first", func(b *testing.B) {
		pairs(b, func(b *testing.B, i int) { benchAccounting(b, backends[i], b.TempDir(), cfg, n) })
	})
	b.Run("accounting-steady", func(b *testing.B) {
		dirs := [2]string{b.TempDir(), b.TempDir()}
		for i := range backends {
			benchAccounting(b, backends[i], dirs[i], cfg, n)
		}
		pairs(b, func(b *testing.B, i int) { benchAccounting(b, backends[i], dirs[i], cfg, n) })
	})
}

// pairs runs cycle(b, 0) (in process) and cycle(b, 1) (through the
// plugin) b.N times each, alternating, and reports the seconds per cycle
// of each and their ratio. The plugin's cycles run as sharestore crawl
// --plugin runs them, with GOMAXPROCS lowered to plugin.HostGOMAXPROCS,
// or to SHARESTORE_BENCH_PLUGIN_HOST_PROCS when it is set (set it to
// GOMAXPROCS to measure a host that keeps every processor).
func pairs(b *testing.B, cycle func(b *testing.B, i int)) {
	procs := [2]int{runtime.GOMAXPROCS(0), plugin.HostGOMAXPROCS(runtime.GOMAXPROCS(0))}
	if n, err := strconv.Atoi(os.Getenv("SHARESTORE_BENCH_PLUGIN_HOST_PROCS")); err == nil && n > 0 {
		procs[1] = n
	}
	defer runtime.GOMAXPROCS(procs[0])
	var took [2]time.Duration
	b.ResetTimer()
	for k := 0; k < b.N; k++ {
		for i := range took {
			runtime.GOMAXPROCS(procs[i])
			start := time.Now()
			cycle(b, i)
			took[i] += time.Since(start)
		}
	}
	b.ReportMetric(took[0].Seconds()/float64(b.N), "inprocess-s/cycle")
	b.ReportMetric(took[1].Seconds()/float64(b.N), "plugin-s/cycle")
	b.ReportMetric(took[1].Seconds()/took[0].Seconds(), "ratio")
}

func benchAccounting(b *testing.B, backend sharestore.Backend, dir string, cfg crawler.Config, n int) {
	ctx := context.Background()
	db, err := leasedb.Open(ctx, filepath.Join(dir, "leasedb.sqlite"), leasedb.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	a, err := crawler.NewAccounting(backend, db, crawler.RealClock{}, crawler.AccountingConfig{Logger: quiet, Prefetch: true})
	if err != nil {
		b.Fatal(err)
	}
	e, err := crawler.New(a, filepath.Join(dir, "acct.json"), crawler.RealClock{}, cfg, crawler.Hooks{})
	if err != nil {
		b.Fatal(err)
	}
	if err := e.Run(ctx); err != nil {
		b.Fatal(err)
	}
	st, err := db.Stats(ctx)
	if err != nil || st.LeasedShares != int64(n) {
		b.Fatalf("leased %d of %d: %v", st.LeasedShares, n, err)
	}
}
