package s3_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/cloud"
	"github.com/sharestore/sharestore/backends/cloud/cloudtest"
	"github.com/sharestore/sharestore/backends/s3"
	"github.com/sharestore/sharestore/crawler"
	"github.com/sharestore/sharestore/internal/emulators"
	"github.com/sharestore/sharestore/internal/workerpool"
	"github.com/sharestore/sharestore/leasedb"
	"github.com/sharestore/sharestore/share"
)

// delayProxy is a reverse proxy in front of the emulator that counts the
// requests it forwards, and the LIST requests among them, and holds each
// request for a fixed delay first (a cloud region's round trip).
type delayProxy struct {
	next         http.Handler
	delay        atomic.Int64 // time.Duration
	total, lists atomic.Int64
}

func newDelayProxy(t *testing.T, target string) (*delayProxy, string) {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = &http.Transport{MaxIdleConnsPerHost: 256}
	p := &delayProxy{next: rp}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return p, srv.URL
}

func (p *delayProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.total.Add(1)
	if r.Method == http.MethodGet && (r.URL.Query().Has("list-type") || r.URL.Query().Has("prefix")) {
		p.lists.Add(1)
	}
	if d := time.Duration(p.delay.Load()); d > 0 {
		time.Sleep(d)
	}
	p.next.ServeHTTP(w, r)
}

// benchRun is one kind of run of the cycle benchmark: it does its work
// once and returns an error if the work was wrong.
type benchRun struct {
	name string
	run  func() error
}

// TestCycleBenchmark measures whole accounting cycles over a MinIO
// bucket of N shares (SHARESTORE_CLOUD_BENCH_SHARES, such as 20000 or
// 100000), through a loopback proxy that counts the requests, against
// the raw SDK listing of the same keys and, when SHARESTORE_RCLONE names
// an rclone binary, against rclone size. The runs take turns, round
// after round (SHARESTORE_CLOUD_BENCH_ROUNDS, default 3), and the table
// gives each run's median seconds, its LIST requests and its ratio to
// the raw SDK's flat listing. With SHARESTORE_CLOUD_BENCH_DELAY (such as
// 20ms) the proxy then holds every request that long, and a steady
// cycle under the prefix plan is timed at 1 to 32 prefixes in flight.
// It is skipped unless SHARESTORE_CLOUD_BENCH_SHARES is set;
// scripts/bench-cloud.sh runs it, and BENCHMARKS.md has the figures.
func TestCycleBenchmark(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SHARESTORE_CLOUD_BENCH_SHARES"))
	if n <= 0 {
		t.Skip("set SHARESTORE_CLOUD_BENCH_SHARES=20000 to run the cycle benchmark")
	}
	rounds := 3
	if v, err := strconv.Atoi(os.Getenv("SHARESTORE_CLOUD_BENCH_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	ctx := context.Background()
	c := minio(t)
	target := c.Endpoint
	proxy, endpoint := newDelayProxy(t, target)
	c.Endpoint = endpoint
	c.KeyPrefix = cloudtest.FreshPrefix("cycle")
	open := func(plan cloud.ListPlan) *cloud.Backend {
		c := c
		c.Backend = cloud.Options{Retry: cloudtest.FastRetry, ListPlan: plan}
		b, err := s3.Open(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return b
	}
	rangeB, prefixB := open(cloud.PlanRange), open(cloud.PlanPrefix)
	st := rangeB.Store().(*s3.Store)
	loadShares(t, st, rangeB.KeyPrefix(), n)

	dir := t.TempDir()
	steadyDir := func(name string, b *cloud.Backend, inFlight int) string {
		d := filepath.Join(dir, name)
		if err := runCycle(d, b, inFlight, n); err != nil {
			t.Fatal(err)
		}
		return d
	}
	rangeDir, prefixDir := steadyDir("range", rangeB, 1), steadyDir("prefix", prefixB, 32)
	first := 0
	runs := []benchRun{
		{"raw-sdk-flat", func() error { return rawList(ctx, st, rangeB.KeyPrefix()+"shares/", n) }},
		{"raw-sdk-prefixes-32", func() error { return rawPrefixes(ctx, st, rangeB.KeyPrefix(), 32, n) }},
		{"steady-range", func() error { return runCycle(rangeDir, rangeB, 1, n) }},
		{"steady-prefix-32", func() error { return runCycle(prefixDir, prefixB, 32, n) }},
		{"first-range", func() error {
			first++
			return runCycle(filepath.Join(dir, fmt.Sprintf("first%d", first)), rangeB, 1, n)
		}},
	}
	if bin := os.Getenv("SHARESTORE_RCLONE"); bin != "" {
		runs = append(runs, benchRun{"rclone-size-fast-list", func() error { return rcloneSize(ctx, bin, endpoint, st.Bucket(), rangeB.KeyPrefix(), n) }})
	}
	secs := map[string][]float64{}
	lists := map[string]int64{}
	for r := 0; r < rounds; r++ {
		order := slices.Clone(runs)
		if r%2 == 1 {
			slices.Reverse(order)
		}
		for _, run := range order {
			before := proxy.lists.Load()
			start := time.Now()
			if err := run.run(); err != nil {
				t.Fatalf("%s: %v", run.name, err)
			}
			secs[run.name] = append(secs[run.name], time.Since(start).Seconds())
			lists[run.name] = proxy.lists.Load() - before
		}
	}
	base := median(secs["raw-sdk-flat"])
	fmt.Printf("BENCH shares=%d rounds=%d (medians)\n", n, rounds)
	fmt.Printf("BENCH %-24s %9s %7s %9s\n", "run", "seconds", "LISTs", "x raw-sdk-flat")
	for _, run := range runs {
		m := median(secs[run.name])
		fmt.Printf("BENCH %-24s %9.3f %7d %9.2f\n", run.name, m, lists[run.name], m/base)
	}

	delay, _ := time.ParseDuration(os.Getenv("SHARESTORE_CLOUD_BENCH_DELAY"))
	if delay <= 0 {
		return
	}
	proxy.delay.Store(int64(delay))
	fmt.Printf("BENCH with %v added to every request: a steady cycle\n", delay)
	fmt.Printf("BENCH %-24s %9s %7s %9s\n", "run", "seconds", "LISTs", "x in-flight 1")
	var one float64
	for _, k := range []int{1, 2, 4, 8, 16, 32} {
		before := proxy.lists.Load()
		start := time.Now()
		if err := runCycle(prefixDir, prefixB, k, n); err != nil {
			t.Fatal(err)
		}
		s := time.Since(start).Seconds()
		if k == 1 {
			one = s
		}
		fmt.Printf("BENCH %-24s %9.3f %7d %9.2f\n", fmt.Sprintf("prefix, in flight %d", k), s, proxy.lists.Load()-before, one/s)
	}
	for _, k := range []int{1, 8, 32} {
		before := proxy.lists.Load()
		start := time.Now()
		if err := runCycle(rangeDir, rangeB, k, n); err != nil {
			t.Fatal(err)
		}
		s := time.Since(start).Seconds()
		fmt.Printf("BENCH %-24s %9.3f %7d %9.2f\n", fmt.Sprintf("range, in flight %d", k), s, proxy.lists.Load()-before, one/s)
	}
}

// loadShares puts n valid immutable shares of 212 bytes, two per storage
// index, under kp in the bucket.
func loadShares(t *testing.T, st *s3.Store, kp string, n int) {
	data := make([]byte, 200)
	raw := append(share.NewImmutableHeader(1, int64(len(data))), data...)
	start := time.Now()
	err := putAll(context.Background(), st, n, func(i int) string {
		var si sharestore.StorageIndex
		binary.BigEndian.PutUint64(si[:], uint64(i/2)*0x9e3779b97f4a7c15)
		binary.BigEndian.PutUint64(si[8:], uint64(i/2))
		return kp + cloud.ChunkKey(si, i%2, 0)
	}, func(int) []byte { return raw })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded %d shares in %v", n, time.Since(start).Round(time.Millisecond))
}

// putAll PUTs objects 0 to n-1, named by key and holding body, 32 at a
// time, and returns the first error.
func putAll(ctx context.Context, st *s3.Store, n int, key func(int) string, body func(int) []byte) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	workerpool.Each(ctx, idx, 32, func(i int) {
		if err := st.Put(ctx, key(i), body(i)); err != nil {
			cancel(err)
		}
	})
	return context.Cause(ctx)
}

// rawCount counts the keys under prefix with the SDK's paginator.
func rawCount(ctx context.Context, st *s3.Store, prefix string) (int, error) {
	count := 0
	pg := awss3.NewListObjectsV2Paginator(st.Client(), &awss3.ListObjectsV2Input{Bucket: aws.String(st.Bucket()), Prefix: aws.String(prefix)})
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		if err != nil {
			return count, err
		}
		count += len(out.Contents)
	}
	return count, nil
}

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// runCycle runs one unthrottled accounting cycle over b with its state
// and lease database in dir, and checks that it saw n shares.
func runCycle(dir string, b sharestore.Backend, inFlight, n int) error {
	ctx := context.Background()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	db, err := leasedb.Open(ctx, filepath.Join(dir, "leasedb.sqlite"), leasedb.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	a, err := crawler.NewAccounting(b, db, crawler.RealClock{}, crawler.AccountingConfig{Logger: quietLog, Prefetch: inFlight == 1})
	if err != nil {
		return err
	}
	cfg := crawler.Config{CPUSlice: 1000 * time.Hour, AllowedCPUProportion: 1, OneShot: true, Logger: quietLog, PrefixesInFlight: inFlight}
	e, err := crawler.New(a, filepath.Join(dir, "acct.json"), crawler.RealClock{}, cfg, crawler.Hooks{})
	if err != nil {
		return err
	}
	if err := e.Run(ctx); err != nil {
		return err
	}
	if s, err := db.Stats(ctx); err != nil || s.LeasedShares != int64(n) {
		return fmt.Errorf("the lease database holds %d shares, want %d (%v)", s.LeasedShares, n, err)
	}
	return nil
}

// rawList pages through every key under prefix with the SDK's paginator.
func rawList(ctx context.Context, st *s3.Store, prefix string, n int) error {
	count, err := rawCount(ctx, st, prefix)
	if err != nil {
		return err
	}
	if count != n {
		return fmt.Errorf("listed %d keys, want %d", count, n)
	}
	return nil
}

// rawPrefixes lists each prefix's keys with the SDK, par prefixes at a
// time.
func rawPrefixes(ctx context.Context, st *s3.Store, kp string, par, n int) error {
	total, err := eachPrefix(par, func(p sharestore.Prefix) (int, error) {
		return rawCount(ctx, st, kp+"shares/"+string(p)+"/")
	})
	if err != nil {
		return err
	}
	if total != n {
		return fmt.Errorf("listed %d keys, want %d", total, n)
	}
	return nil
}

// eachPrefix calls fn for every prefix, par at a time, and returns the
// sum of what it returned and its first error.
func eachPrefix(par int, fn func(sharestore.Prefix) (int, error)) (int, error) {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	var total atomic.Int64
	workerpool.Each(ctx, sharestore.Prefixes(), par, func(p sharestore.Prefix) {
		c, err := fn(p)
		if err != nil {
			cancel(err)
		}
		total.Add(int64(c))
	})
	return int(total.Load()), context.Cause(ctx)
}

// rcloneSize runs rclone size --fast-list on the store's shares through
// the proxy and checks the count it prints.
func rcloneSize(ctx context.Context, bin, endpoint, bucket, kp string, n int) error {
	cmd := exec.CommandContext(ctx, bin, "size", "--fast-list", "--json", ":s3:"+bucket+"/"+kp+"shares")
	cmd.Env = append(os.Environ(),
		"RCLONE_S3_PROVIDER=Minio", "RCLONE_S3_ENDPOINT="+endpoint, "RCLONE_S3_REGION=us-east-1",
		"RCLONE_S3_ACCESS_KEY_ID="+emulators.MinIOUser, "RCLONE_S3_SECRET_ACCESS_KEY="+emulators.MinIOPassword,
		"RCLONE_CONFIG=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	if !strings.Contains(string(out), fmt.Sprintf(`"count":%d,`, n)) {
		return fmt.Errorf("rclone size printed %s, want a count of %d", out, n)
	}
	return nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
