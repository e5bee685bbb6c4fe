//go:build unix

package plugin_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/disk"
	"github.com/sharestore/sharestore/crawler"
	"github.com/sharestore/sharestore/plugin"
)

// recordEnv names the file a recording plugin appends its calls to.
const recordEnv = "SHARESTORE_PLUGIN_TEST_RECORD"

// serveRecorded is the main of a recording plugin: the test binary
// re-executed by a host with recordEnv set. It serves the disk backend
// at the configured path and appends a line "CALL RPC" to the file
// recordEnv names for each ListPrefix and Shareset.Share call the
// backend serves, RPC being the method of the RPC that made it: so a
// ListPrefix made for a scan stream reads "ListPrefix ScanPrefixes", and
// a Share made for a batch of header reads "Share ReadHeaders".
func serveRecorded() {
	f, err := os.OpenFile(os.Getenv(recordEnv), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	plugin.Serve(func(_ context.Context, cfg plugin.Config) (sharestore.Backend, error) {
		b, err := disk.Open(strings.TrimPrefix(cfg.URL, "disk:"), disk.Options{Create: cfg.Create})
		if err != nil {
			return nil, err
		}
		return &recorded{Backend: b, f: f}, nil
	})
	os.Exit(0)
}

// recorded is the backend of a recording plugin. It has none of the
// optional interfaces, so the plugin server serves its scans with
// ListPrefix and its header batches with Share.
type recorded struct {
	sharestore.Backend
	mu sync.Mutex
	f  *os.File
}

func (r *recorded) record(ctx context.Context, call string) {
	m, _ := grpc.Method(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(r.f, "%s %s\n", call, path.Base(m))
}

func (r *recorded) ListPrefix(ctx context.Context, p sharestore.Prefix, fn func(sharestore.ShareInfo) error) error {
	r.record(ctx, "ListPrefix")
	return r.Backend.ListPrefix(ctx, p, fn)
}

func (r *recorded) Shareset(si sharestore.StorageIndex) sharestore.Shareset {
	return recordedSet{Shareset: r.Backend.Shareset(si), r: r}
}

type recordedSet struct {
	sharestore.Shareset
	r *recorded
}

func (s recordedSet) Share(ctx context.Context, shnum int) (sharestore.Share, error) {
	s.r.record(ctx, "Share")
	return s.Shareset.Share(ctx, shnum)
}

// readCalls counts the lines of a recording plugin's file.
func readCalls(t *testing.T, file string) map[string]int {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out[sc.Text()]++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// A plugin backend under the crawler's rate limiter and a share counter
// (the CLI's crawl composition) keeps the plugin's scan stream and
// batched header reads: an accounting cycle lists every prefix through
// ScanPrefixes and classifies the new shares through ReadHeaders, with
// no ListPrefix or Share RPC. The limiter still charges every request:
// the uploads, one token per prefix of the scan and one per header.
func TestRateLimitedCountedPluginKeepsStreams(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	calls := filepath.Join(t.TempDir(), "calls")
	t.Setenv(recordEnv, calls)
	dir := t.TempDir()
	ctx := context.Background()
	pb, err := plugin.Open(ctx, self, plugin.Config{URL: "disk:" + filepath.Join(dir, "store"), Create: true}, plugin.HostOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer pb.Close()
	limClock := crawler.NewFakeClock(t0)
	var listed atomic.Int64
	b := sharestore.Intercept(crawler.RateLimit(pb, 1000, 1, limClock), sharestore.Hooks{
		Listed: func(sharestore.ShareInfo) { listed.Add(1) },
	})

	// Four shares a prefix: the crawler reads such a prefix's headers
	// in one batch.
	const n = 40
	for i := 0; i < n; i++ {
		si := sharestore.StorageIndex{byte(i / 4 * 20), byte(i / 4)}
		w, err := b.Shareset(si).WriteImmutable(ctx, i%4, 4)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(ctx, 0, []byte("data")); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Three requests per upload at 1000/s, the first one free.
	if got, want := limClock.Now().Sub(t0), time.Duration(3*n-1)*time.Millisecond; got != want {
		t.Fatalf("the uploads waited %v on the limiter, want %v", got, want)
	}
	beforeCrawl := limClock.Now()
	crawlOnce(t, dir, b, true, nil)

	got := readCalls(t, calls)
	for _, bad := range []string{"ListPrefix ListPrefix", "Share Share"} {
		if got[bad] != 0 {
			t.Errorf("%d %q calls: the wrappers hid the plugin's stream and batch paths (calls %v)", got[bad], bad, got)
		}
	}
	if got["ListPrefix ScanPrefixes"] != sharestore.NumPrefixes {
		t.Errorf("%d prefixes listed for the scan stream, want %d (calls %v)", got["ListPrefix ScanPrefixes"], sharestore.NumPrefixes, got)
	}
	if got["Share ReadHeaders"] != n {
		t.Errorf("%d headers read for ReadHeaders batches, want %d (calls %v)", got["Share ReadHeaders"], n, got)
	}
	if listed.Load() != n {
		t.Errorf("the counter saw %d shares listed, want %d", listed.Load(), n)
	}
	// At least one token per prefix and one per header.
	if waited, least := limClock.Now().Sub(beforeCrawl), time.Duration(sharestore.NumPrefixes+n)*time.Millisecond; waited < least {
		t.Errorf("the cycle waited %v on the limiter, want at least %v", waited, least)
	}
}
