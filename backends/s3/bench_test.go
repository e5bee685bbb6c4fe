package s3_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/cloud"
	"github.com/sharestore/sharestore/backends/cloud/cloudtest"
	"github.com/sharestore/sharestore/backends/s3"
)

// TestListBenchmark measures ListPrefix over all 1024 prefixes of a
// bucket of N shares (SHARESTORE_CLOUD_BENCH_SHARES, e.g. 100000) against
// the raw SDK listing of the same keys, sequentially and with 8 prefixes
// in parallel, and prints the ratio. It is skipped unless the variable is
// set. See BENCHMARKS.md for the command and the figures.
func TestListBenchmark(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SHARESTORE_CLOUD_BENCH_SHARES"))
	if n <= 0 {
		t.Skip("set SHARESTORE_CLOUD_BENCH_SHARES=100000 to run the listing benchmark")
	}
	ctx := context.Background()
	c := minio(t)
	c.KeyPrefix = cloudtest.FreshPrefix("bench")
	c.Backend = cloud.Options{Retry: cloudtest.FastRetry}
	b, err := s3.Open(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	st := b.Store().(*s3.Store)
	rng := rand.New(rand.NewPCG(42, 42))
	keys := make([]string, n)
	for i := range keys {
		var si sharestore.StorageIndex
		for j := range si {
			si[j] = byte(rng.UintN(256))
		}
		keys[i] = b.KeyPrefix() + cloud.ChunkKey(si, int(rng.UintN(10)), 0)
	}
	start := time.Now()
	body := make([]byte, 12)
	if err := putAll(ctx, st, n, func(i int) string { return keys[i] }, func(int) []byte { return body }); err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded %d shares in %v", n, time.Since(start).Round(time.Millisecond))

	raw := func(p sharestore.Prefix) (int, error) {
		return rawCount(ctx, st, b.KeyPrefix()+"shares/"+string(p)+"/")
	}
	layer := func(p sharestore.Prefix) (int, error) {
		count := 0
		err := b.ListPrefix(ctx, p, func(sharestore.ShareInfo) error { count++; return nil })
		return count, err
	}
	var failed atomic.Value
	walk := func(fn func(sharestore.Prefix) (int, error), par int) (time.Duration, int) {
		start := time.Now()
		total, err := eachPrefix(par, fn)
		if err != nil {
			failed.Store(err)
		}
		return time.Since(start), total
	}
	for _, par := range []int{1, 8} {
		// Warm up once, then measure the raw SDK and the layer back to
		// back, twice, keeping the best of each.
		walk(raw, par)
		var bestRaw, bestLayer time.Duration
		for r := 0; r < 2; r++ {
			dr, nr := walk(raw, par)
			dl, nl := walk(layer, par)
			if err, _ := failed.Load().(error); err != nil {
				t.Fatal(err)
			}
			if nr != n || nl != n {
				t.Fatalf("listed raw %d, layer %d, want %d", nr, nl, n)
			}
			if bestRaw == 0 || dr < bestRaw {
				bestRaw = dr
			}
			if bestLayer == 0 || dl < bestLayer {
				bestLayer = dl
			}
		}
		line := fmt.Sprintf("shares=%d parallel_prefixes=%d raw_sdk=%v list_prefix=%v ratio=%.2f", n, par, bestRaw.Round(time.Millisecond), bestLayer.Round(time.Millisecond), float64(bestLayer)/float64(bestRaw))
		t.Log(line)
		fmt.Println("BENCH", line)
	}
}
