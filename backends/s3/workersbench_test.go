package s3_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sharestore/sharestore/backends/cloud"
	"github.com/sharestore/sharestore/backends/cloud/cloudtest"
	"github.com/sharestore/sharestore/backends/s3"
	"github.com/sharestore/sharestore/crawler"
	"github.com/sharestore/sharestore/internal/emulators"
	"github.com/sharestore/sharestore/leasedb"
)

// TestWorkersBenchmark measures workers that share a cycle: steady
// accounting cycles over one MinIO bucket of SHARESTORE_WORKERS_BENCH_SHARES
// shares, with SHARESTORE_WORKERS_BENCH_DELAY (default 20ms) added to
// every request, on one worker and on three that share the lease
// database on PostgreSQL, each worker with the same settings (its own
// client, prefix plan, SHARESTORE_WORKERS_BENCH_IN_FLIGHT prefixes in
// flight, default 8). The runs take turns; it prints the medians and
// their ratio, the CPU time each cycle cost MinIO, PostgreSQL and this
// process (read from /proc), and so the shortest cycle the machine's
// cores allow, and checks that the shared lease database ends as one
// SQLite engine's does (lease times aside).
func TestWorkersBenchmark(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SHARESTORE_WORKERS_BENCH_SHARES"))
	if n <= 0 {
		t.Skip("set SHARESTORE_WORKERS_BENCH_SHARES=100000 to run the workers benchmark")
	}
	delay := 20 * time.Millisecond
	if d, err := time.ParseDuration(os.Getenv("SHARESTORE_WORKERS_BENCH_DELAY")); err == nil {
		delay = d
	}
	rounds := 3
	if v, err := strconv.Atoi(os.Getenv("SHARESTORE_WORKERS_BENCH_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	inFlight := 8
	if v, err := strconv.Atoi(os.Getenv("SHARESTORE_WORKERS_BENCH_IN_FLIGHT")); err == nil && v > 0 {
		inFlight = v
	}
	ctx := context.Background()
	c := minio(t)
	proxy, endpoint := newDelayProxy(t, c.Endpoint)
	c.Endpoint = endpoint
	c.KeyPrefix = cloudtest.FreshPrefix("workers")
	open := func() *cloud.Backend {
		c := c
		c.Backend = cloud.Options{Retry: cloudtest.FastRetry, ListPlan: cloud.PlanPrefix}
		b, err := s3.Open(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return b
	}
	backends := []*cloud.Backend{open(), open(), open()}
	loadShares(t, backends[0].Store().(*s3.Store), backends[0].KeyPrefix(), n)

	u := emulators.GetPostgres(t).NewDatabase(t)
	dir := t.TempDir()
	cycle := func(workers int) error {
		var wg sync.WaitGroup
		errs := make([]error, workers)
		for w := 0; w < workers; w++ {
			db, err := leasedb.OpenURL(ctx, u, leasedb.Options{})
			if err != nil {
				return err
			}
			defer db.Close()
			a, err := crawler.NewAccounting(backends[w], db, crawler.RealClock{}, crawler.AccountingConfig{Logger: quietLog})
			if err != nil {
				return err
			}
			cfg := crawler.Config{CPUSlice: 1000 * time.Hour, AllowedCPUProportion: 1, OneShot: true, Logger: quietLog, PrefixesInFlight: inFlight,
				Shared: &crawler.Sharing{DB: db, Worker: fmt.Sprintf("w%d", w), Store: "bench", Poll: 20 * time.Millisecond}}
			e, err := crawler.New(a, filepath.Join(dir, fmt.Sprintf("w%d.json", w)), crawler.RealClock{}, cfg, crawler.Hooks{})
			if err != nil {
				return err
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[w] = e.Run(ctx)
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
		return nil
	}
	if err := cycle(3); err != nil { // the first cycle, untimed: every share is new
		t.Fatal(err)
	}
	proxy.delay.Store(int64(delay))
	secs := map[int][]float64{}
	cpus := map[int][]float64{}
	for r := 0; r < rounds; r++ {
		order := []int{1, 3}
		if r%2 == 1 {
			slices.Reverse(order)
		}
		for _, w := range order {
			start, c0 := time.Now(), sampleCPU()
			if err := cycle(w); err != nil {
				t.Fatalf("%d workers: %v", w, err)
			}
			wall, used := time.Since(start).Seconds(), sampleCPU().sub(c0)
			secs[w] = append(secs[w], wall)
			cpus[w] = append(cpus[w], used.total())
			fmt.Printf("BENCH round %d, %d worker(s): %.3f s, CPU %v\n", r+1, w, wall, used)
		}
	}
	one, three := median(secs[1]), median(secs[3])
	fmt.Printf("BENCH shares=%d delay=%v in-flight=%d rounds=%d (medians; per round 1: %v, 3: %v)\n", n, delay, inFlight, rounds, secs[1], secs[3])
	fmt.Printf("BENCH %-22s %9.3f s\n", "steady, 1 worker", one)
	fmt.Printf("BENCH %-22s %9.3f s  %.2fx faster\n", "steady, 3 workers", three, one/three)
	cores := float64(runtime.NumCPU())
	fmt.Printf("BENCH CPU per cycle (MinIO, PostgreSQL, test) %.2f s with 1 worker, %.2f s with 3; on %v cores no cycle can be shorter than %.2f s\n",
		median(cpus[1]), median(cpus[3]), cores, median(cpus[3])/cores)

	// One engine on SQLite over the same bucket ends with the same
	// database, lease times aside.
	proxy.delay.Store(0)
	sqDir := filepath.Join(dir, "sqlite")
	if err := runCycle(sqDir, backends[0], inFlight, n); err != nil {
		t.Fatal(err)
	}
	got, want := benchDump(t, u), benchDump(t, "sqlite:"+filepath.Join(sqDir, "leasedb.sqlite"))
	if !reflect.DeepEqual(got.Shares, want.Shares) || !reflect.DeepEqual(got.Leases, want.Leases) || !reflect.DeepEqual(got.Accounts, want.Accounts) {
		t.Fatalf("the shared lease database (%d shares, %d leases) differs from one engine's on SQLite (%d, %d)", len(got.Shares), len(got.Leases), len(want.Shares), len(want.Leases))
	}
}

// benchDump is the dump of the lease database at u, lease times and
// history cleared.
func benchDump(t *testing.T, u string) *leasedb.Dump {
	t.Helper()
	db, err := leasedb.OpenURL(context.Background(), u, leasedb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	d, err := db.Dump(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i := range d.Leases {
		d.Leases[i].RenewalTime, d.Leases[i].ExpirationTime = 0, nil
	}
	d.History = nil
	return d
}
