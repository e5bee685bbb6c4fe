package cli

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sharestore/sharestore/internal/benchstore"
)

// TestProcessBenchmark measures crawl cycles the way a user meets them:
// each cycle is a whole `sharestore crawl --once --fast` process over a
// disk store of SHARESTORE_PROCESS_BENCH_SHARES shares (e.g. 100000;
// internal/benchstore builds it), start-up included, in process and
// through the sharestore-backend-disk plugin. Each mode first runs the
// store's first cycle into its own state directory; then the steady
// cycles run in SHARESTORE_PROCESS_BENCH_PAIRS pairs (default 5), one
// of each mode, the order swapped every pair. It prints each figure's
// median, the median of the pairs' plugin/in-process ratios, and the
// peak RSS (the kernel's ru_maxrss of the crawl process; through the
// plugin the larger of the host and the plugin process, which the host
// reaps). SHARESTORE_PROCESS_BENCH_MODES=inprocess runs the in-process
// cycles alone (for the 1M-share store). It is skipped unless
// SHARESTORE_PROCESS_BENCH_SHARES is set. See BENCHMARKS.md.
func TestProcessBenchmark(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SHARESTORE_PROCESS_BENCH_SHARES"))
	if n <= 0 {
		t.Skip("set SHARESTORE_PROCESS_BENCH_SHARES=100000 to run the whole-process crawl benchmark")
	}
	pairs := 5
	if v := os.Getenv("SHARESTORE_PROCESS_BENCH_PAIRS"); v != "" {
		var err error
		if pairs, err = strconv.Atoi(v); err != nil || pairs < 1 {
			t.Fatalf("SHARESTORE_PROCESS_BENCH_PAIRS=%q: want a positive number", v)
		}
	}
	modes := []string{"inprocess", "plugin"}
	if os.Getenv("SHARESTORE_PROCESS_BENCH_MODES") == "inprocess" {
		modes = modes[:1]
	}
	root := benchstore.Disk(t, n)
	bins := t.TempDir()
	host := filepath.Join(bins, "sharestore")
	plug := filepath.Join(bins, "sharestore-backend-disk")
	for bin, pkg := range map[string]string{host: "cmd/sharestore", plug: "cmd/sharestore-backend-disk"} {
		if out, err := exec.Command("go", "build", "-o", bin, "github.com/sharestore/sharestore/"+pkg).CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", pkg, err, out)
		}
	}
	state := map[string]string{}
	cycle := func(mode string) (secs, rssMiB float64) {
		args := []string{"crawl", "--once", "--fast", "--progress", "none",
			"--backend", "disk:" + root, "--state-dir", state[mode]}
		if mode == "plugin" {
			args = append(args, "--plugin", plug)
		}
		cmd := exec.Command(host, args...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		start := time.Now()
		err := cmd.Run()
		elapsed := time.Since(start)
		if err != nil {
			t.Fatalf("%s cycle: %v\nstdout %s\nstderr (tail) %s", mode, err, tail(out.String(), 2000), tail(errb.String(), 2000))
		}
		ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		if !ok {
			t.Fatal("no rusage for the crawl process")
		}
		return elapsed.Seconds(), float64(ru.Maxrss) / 1024 // KiB on Linux
	}
	for _, m := range modes {
		state[m] = filepath.Join(t.TempDir(), m)
		s, rss := cycle(m)
		t.Logf("BENCH %d shares, first cycle, %s: %.2f s, peak RSS %.1f MiB", n, m, s, rss)
	}
	secs := map[string][]float64{}
	rss := map[string][]float64{}
	var ratios []float64
	for i := 0; i < pairs; i++ {
		order := slices.Clone(modes)
		if i%2 == 1 {
			slices.Reverse(order)
		}
		got := map[string]float64{}
		for _, m := range order {
			s, r := cycle(m)
			got[m] = s
			secs[m] = append(secs[m], s)
			rss[m] = append(rss[m], r)
		}
		if len(modes) == 2 {
			ratios = append(ratios, got["plugin"]/got["inprocess"])
		}
	}
	for _, m := range modes {
		t.Logf("BENCH %d shares, steady cycle, %s: median %.2f s of %s, peak RSS %.1f MiB (largest of %d)",
			n, m, median(secs[m]), figures(secs[m]), slices.Max(rss[m]), len(rss[m]))
	}
	if len(ratios) > 0 {
		t.Logf("BENCH %d shares, steady cycle, plugin / in process: median %.3f of %s", n, median(ratios), figures(ratios))
	}
}

// median returns the median of xs, which must not be empty.
func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// figures formats xs as a comma-separated list with two decimals.
func figures(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.2f", x)
	}
	return strings.Join(parts, ", ")
}
