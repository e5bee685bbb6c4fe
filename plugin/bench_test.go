package plugin_test

import (
	"context"
	"path/filepath"
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
// store in process and through the disk plugin, in one run. Run it with
// scripts/bench-plugin.sh, which prints the plugin/in-process ratios.
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
	for _, be := range []struct {
		name string
		b    sharestore.Backend
	}{{"inprocess", inproc}, {"plugin", viaPlugin}} {
		b.Run("buckets/"+be.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				c := crawler.NewBuckets(be.b)
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
			}
		})
		b.Run("accounting-first/"+be.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				benchAccounting(b, be.b, b.TempDir(), cfg, n)
			}
		})
		b.Run("accounting-steady/"+be.name, func(b *testing.B) {
			dir := b.TempDir()
			benchAccounting(b, be.b, dir, cfg, n)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				benchAccounting(b, be.b, dir, cfg, n)
			}
		})
	}
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
