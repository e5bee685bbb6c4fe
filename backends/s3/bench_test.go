package s3_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

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
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	body := make([]byte, 12)
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				if err := st.Put(ctx, keys[i], body); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded %d shares in %v", n, time.Since(start).Round(time.Millisecond))

	prefixes := sharestore.Prefixes()
	raw := func(p sharestore.Prefix) (int, error) {
		count := 0
		pg := awss3.NewListObjectsV2Paginator(st.Client(), &awss3.ListObjectsV2Input{Bucket: aws.String(st.Bucket()), Prefix: aws.String(b.KeyPrefix() + "shares/" + string(p) + "/")})
		for pg.HasMorePages() {
			out, err := pg.NextPage(ctx)
			if err != nil {
				return 0, err
			}
			count += len(out.Contents)
		}
		return count, nil
	}
	layer := func(p sharestore.Prefix) (int, error) {
		count := 0
		err := b.ListPrefix(ctx, p, func(sharestore.ShareInfo) error { count++; return nil })
		return count, err
	}
	walk := func(fn func(sharestore.Prefix) (int, error), par int) (time.Duration, int) {
		start := time.Now()
		var total atomic.Int64
		var idx atomic.Int64
		var wg sync.WaitGroup
		for w := 0; w < par; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := idx.Add(1) - 1
					if i >= int64(len(prefixes)) {
						return
					}
					c, err := fn(prefixes[i])
					if err != nil {
						failed.Store(err)
						return
					}
					total.Add(int64(c))
				}
			}()
		}
		wg.Wait()
		return time.Since(start), int(total.Load())
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
