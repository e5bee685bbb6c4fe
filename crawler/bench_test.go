package crawler

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/disk"
	"github.com/sharestore/sharestore/internal/benchstore"
	"github.com/sharestore/sharestore/internal/emulators"
	"github.com/sharestore/sharestore/leasedb"
)

// peakHeap samples the heap in use until stop is called and returns the
// peak in MiB.
func peakHeap() (stop func() float64) {
	var peak atomic.Uint64
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var m runtime.MemStats
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-quit:
				return
			case <-t.C:
			}
		}
	}()
	return func() float64 {
		close(quit)
		wg.Wait()
		return float64(peak.Load()) / (1 << 20)
	}
}

// BenchmarkCycle compares an unthrottled crawl cycle with a bare walk of
// the same directory tree (readdir plus lstat of every file, which is the
// least any listing of the store can do). Run it with
// scripts/bench-crawl.sh, which prints the ratios.
func BenchmarkCycle(b *testing.B) {
	n := benchstore.Shares()
	root := benchstore.Disk(b, n)
	ctx := context.Background()
	quietCfg := Config{CPUSlice: 1000 * time.Hour, AllowedCPUProportion: 1, OneShot: true, Logger: quiet}

	b.Run("walk", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			files := 0
			err := filepath.WalkDir(filepath.Join(root, "shares"), func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if !d.IsDir() {
					if _, err := d.Info(); err != nil {
						return err
					}
					files++
				}
				return nil
			})
			if err != nil || files != n {
				b.Fatalf("walked %d files: %v", files, err)
			}
		}
	})
	// The first cycle's honest limit: the walk plus one header read per
	// share (open, one read of the first 512 bytes, close), serially.
	b.Run("walk-headers", func(b *testing.B) {
		buf := make([]byte, 512)
		for i := 0; i < b.N; i++ {
			files := 0
			err := filepath.WalkDir(filepath.Join(root, "shares"), func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				if _, err := d.Info(); err != nil {
					return err
				}
				f, err := os.Open(p)
				if err != nil {
					return err
				}
				_, err = f.Read(buf)
				f.Close()
				files++
				return err
			})
			if err != nil || files != n {
				b.Fatalf("walked %d files: %v", files, err)
			}
		}
	})
	backend, err := disk.Open(root, disk.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("buckets", func(b *testing.B) {
		stop := peakHeap()
		for i := 0; i < b.N; i++ {
			c := NewBuckets(backend)
			e, err := New(c, filepath.Join(b.TempDir(), "s.json"), RealClock{}, quietCfg, Hooks{})
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
		b.ReportMetric(stop(), "peak-heap-MiB")
	})
	// The first accounting cycle over a store the lease database has
	// never seen: every share's header is read and recorded.
	// With SHARESTORE_BENCH_POSTGRES=1 the two accounting cycles run a
	// second time with the lease database on the test PostgreSQL
	// cluster (a new database for each first cycle).
	engines := []string{""}
	if os.Getenv("SHARESTORE_BENCH_POSTGRES") == "1" {
		engines = append(engines, "postgres")
	}
	for _, eng := range engines {
		suffix := ""
		if eng != "" {
			suffix = "-" + eng
		}
		newDB := func(b *testing.B, dir string) string {
			if eng == "postgres" {
				return emulators.GetPostgres(b).NewDatabase(b)
			}
			return "sqlite:" + filepath.Join(dir, "leasedb.sqlite")
		}
		b.Run("accounting-first"+suffix, func(b *testing.B) {
			stop := peakHeap()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				dir := b.TempDir()
				u := newDB(b, dir)
				b.StartTimer()
				runAccounting(b, backend, dir, u, quietCfg, n)
			}
			b.ReportMetric(stop(), "peak-heap-MiB")
		})
		// A steady-state cycle: every share is known, so none is read.
		b.Run("accounting-steady"+suffix, func(b *testing.B) {
			dir := b.TempDir()
			u := newDB(b, dir)
			runAccounting(b, backend, dir, u, quietCfg, n)
			stop := peakHeap()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				runAccounting(b, backend, dir, u, quietCfg, n)
			}
			b.ReportMetric(stop(), "peak-heap-MiB")
		})
	}
}

// runAccounting runs one accounting cycle over backend with the lease
// database at dbURL and the crawler's state file in dir.
func runAccounting(b *testing.B, backend sharestore.Backend, dir, dbURL string, cfg Config, n int) {
	ctx := context.Background()
	db, err := leasedb.OpenURL(ctx, dbURL, leasedb.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	a, err := NewAccounting(backend, db, RealClock{}, AccountingConfig{Logger: quiet, Prefetch: true})
	if err != nil {
		b.Fatal(err)
	}
	e, err := New(a, filepath.Join(dir, "acct.json"), RealClock{}, cfg, Hooks{})
	if err != nil {
		b.Fatal(err)
	}
	if err := e.Run(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(a.memoHits), "memo-hits")
	// The check scans the whole database: not part of the cycle.
	b.StopTimer()
	defer b.StartTimer()
	st, err := db.Stats(ctx)
	if err != nil || st.LeasedShares != int64(n) {
		b.Fatalf("leased %d of %d: %v", st.LeasedShares, n, err)
	}
}
