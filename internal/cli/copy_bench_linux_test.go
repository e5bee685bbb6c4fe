package cli

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/cloud"
	"github.com/sharestore/sharestore/backends/disk"
	"github.com/sharestore/sharestore/internal/benchstore"
	"github.com/sharestore/sharestore/internal/workerpool"
)

// TestCopyBenchmark copies a disk store of N shares
// (SHARESTORE_COPY_BENCH_SHARES, e.g. 20000; internal/benchstore builds
// it) into MinIO with each --transfers of SHARESTORE_COPY_BENCH_TRANSFERS
// (default 1,8,32), each into a fresh key prefix, and prints shares/s and
// the peak RSS of the copy. Each copy is its own process of the
// sharestore binary, so the RSS is the whole process's (the kernel's
// ru_maxrss of the child), start-up included. Then, as the store's own
// speed, it PUTs and GETs each share's object with the raw SDK from as
// many goroutines as the largest --transfers. With
// SHARESTORE_COPY_BENCH_TO=disk the copies go to fresh disk stores
// instead, and there is no baseline. It is skipped unless
// SHARESTORE_COPY_BENCH_SHARES is set. See BENCHMARKS.md for the command
// and the figures.
func TestCopyBenchmark(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SHARESTORE_COPY_BENCH_SHARES"))
	if n <= 0 {
		t.Skip("set SHARESTORE_COPY_BENCH_SHARES=20000 to run the copy benchmark")
	}
	transfers := []int{1, 8, 32}
	if v := os.Getenv("SHARESTORE_COPY_BENCH_TRANSFERS"); v != "" {
		transfers = nil
		for _, f := range strings.Split(v, ",") {
			k, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || k < 1 {
				t.Fatalf("SHARESTORE_COPY_BENCH_TRANSFERS=%q: want a list of positive numbers", v)
			}
			transfers = append(transfers, k)
		}
	}
	src := benchstore.Disk(t, n)
	bin := filepath.Join(t.TempDir(), "sharestore")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/sharestore/sharestore/cmd/sharestore").CombinedOutput(); err != nil {
		t.Fatalf("building sharestore: %v\n%s", err, out)
	}
	toDisk := os.Getenv("SHARESTORE_COPY_BENCH_TO") == "disk"
	base, what := "", "disk→disk"
	if !toDisk {
		base, what = minioURL(t, "copy-bench"), "disk→MinIO"
	}
	for _, k := range transfers {
		dst := strings.Replace(base, "?", fmt.Sprintf("-x%d?", k), 1)
		if toDisk {
			dst = "disk:" + filepath.Join(t.TempDir(), fmt.Sprintf("dst%d", k))
		}
		cmd := exec.Command(bin, "copy", "--from", "disk:"+src, "--to", dst, "--transfers", strconv.Itoa(k))
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		start := time.Now()
		err := cmd.Run()
		elapsed := time.Since(start)
		if err != nil || !strings.Contains(out.String(), fmt.Sprintf("copied %d shares", n)) {
			t.Fatalf("--transfers %d: %v\nstdout %s\nstderr (tail) %s", k, err, out.String(), tail(errb.String(), 2000))
		}
		ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		if !ok {
			t.Fatal("no rusage for the copy process")
		}
		// On Linux ru_maxrss is in KiB.
		t.Logf("copy %s, %d shares, --transfers %d: %.1f s, %.0f shares/s, peak RSS %.1f MiB",
			what, n, k, elapsed.Seconds(), float64(n)/elapsed.Seconds(), float64(ru.Maxrss)/1024)
	}
	if !toDisk {
		k := slices.Max(transfers)
		elapsed := rawPutGet(t, src, strings.Replace(base, "?", "-raw?", 1), k)
		t.Logf("raw SDK PUT+GET of each share's object, %d shares, %d at once: %.1f s, %.0f shares/s",
			n, k, elapsed.Seconds(), float64(n)/elapsed.Seconds())
	}
}

// rawPutGet PUTs each share of the disk store at root as its object at
// the s3:// URL dst and GETs it back, from k goroutines, with the
// store's SDK client alone: the two requests a copy of a small share
// cannot do without. It returns the time taken.
func rawPutGet(t *testing.T, root, dst string, k int) time.Duration {
	t.Helper()
	ctx := context.Background()
	b, err := openBackend(ctx, dst, true, &pluginFlags{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var cb *cloud.Backend
	for l := sharestore.Backend(b); l != nil && cb == nil; {
		cb, _ = l.(*cloud.Backend)
		w, ok := l.(sharestore.Wrapper)
		if !ok {
			break
		}
		l = w.Unwrap()
	}
	if cb == nil {
		t.Fatalf("%s is not a cloud backend", dst)
	}
	src, err := disk.Open(root, disk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var ids []sharestore.ShareID
	for _, p := range sharestore.Prefixes() {
		infos, err := listAll(ctx, src, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, info := range infos {
			ids = append(ids, info.ID())
		}
	}
	st := cb.Store()
	start := time.Now()
	err = workerpoolEach(ctx, ids, k, func(id sharestore.ShareID) error {
		rc, _, err := src.Shareset(id.SI).OpenRaw(ctx, id.Shnum)
		if err != nil {
			return err
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
		key := cb.KeyPrefix() + cloud.ChunkKey(id.SI, id.Shnum, 0)
		if err := st.Put(ctx, key, data); err != nil {
			return err
		}
		_, err = st.Get(ctx, key, 0, -1)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return time.Since(start)
}

// workerpoolEach calls fn for each of items from k goroutines and
// returns the first error.
func workerpoolEach[T any](ctx context.Context, items []T, k int, fn func(T) error) error {
	var mu sync.Mutex
	var first error
	failed := func() bool { mu.Lock(); defer mu.Unlock(); return first != nil }
	workerpool.Each(ctx, items, k, func(it T) {
		if failed() {
			return
		}
		if err := fn(it); err != nil {
			mu.Lock()
			first = cmp.Or(first, err)
			mu.Unlock()
		}
	})
	return first
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
