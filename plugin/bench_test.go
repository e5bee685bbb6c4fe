package plugin_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/disk"
	"github.com/sharestore/sharestore/crawler"
	"github.com/sharestore/sharestore/leasedb"
	"github.com/sharestore/sharestore/plugin"
	"github.com/sharestore/sharestore/share"
)

// benchShares is the size of the benchmark store: 100k by default, more
// with SHARESTORE_BENCH_SHARES.
func benchShares() int {
	if v, err := strconv.Atoi(os.Getenv("SHARESTORE_BENCH_SHARES")); err == nil && v > 0 {
		return v
	}
	return 100_000
}

// benchStore is crawler's benchmark store (the same generator and the
// same cached directory): n immutable shares, two per storage index,
// spread over all prefixes.
func benchStore(b *testing.B, n int) string {
	b.Helper()
	root := filepath.Join(os.TempDir(), fmt.Sprintf("sharestore-bench-store-%d", n))
	done := filepath.Join(root, ".complete")
	if _, err := os.Stat(done); err == nil {
		return root
	}
	os.RemoveAll(root)
	data := make([]byte, 200)
	raw := append(share.NewImmutableHeader(1, int64(len(data))), data...)
	for i := 0; i < n/2; i++ {
		var si sharestore.StorageIndex
		binary.BigEndian.PutUint64(si[:], uint64(i)*0x9e3779b97f4a7c15)
		binary.BigEndian.PutUint64(si[8:], uint64(i))
		s := si.String()
		dir := filepath.Join(root, "shares", s[:2], s)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		for shnum := 0; shnum < 2; shnum++ {
			if err := os.WriteFile(filepath.Join(dir, strconv.Itoa(shnum)), raw, 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := os.WriteFile(done, nil, 0o644); err != nil {
		b.Fatal(err)
	}
	return root
}

// BenchmarkCycle runs unthrottled crawl cycles over the same 100k-share
// store in process and through the disk plugin, in one run. Run it with
// scripts/bench-plugin.sh, which prints the plugin/in-process ratios.
func BenchmarkCycle(b *testing.B) {
	n := benchShares()
	root := benchStore(b, n)
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
