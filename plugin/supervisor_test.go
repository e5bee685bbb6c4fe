//go:build unix

package plugin_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/disk"
	"github.com/sharestore/sharestore/crawler"
	"github.com/sharestore/sharestore/internal/benchstore"
	"github.com/sharestore/sharestore/leasedb"
	"github.com/sharestore/sharestore/plugin"
	"github.com/sharestore/sharestore/share"
)

// TestSupervisorRestartsCrashedPlugin SIGKILLs a plugin and checks that
// the next calls fail at most with ErrUnavailable, that a new process
// takes over, and that it serves the same store.
func TestSupervisorRestartsCrashedPlugin(t *testing.T) {
	ctx := context.Background()
	b, _ := openDisk(t, plugin.HostOptions{})
	var si sharestore.StorageIndex
	si[0] = 42
	raw := append(share.NewImmutableHeader(1, 5), "hello"...)
	if err := b.Shareset(si).PutRaw(ctx, 3, bytes.NewReader(raw), int64(len(raw))); err != nil {
		t.Fatal(err)
	}
	old := b.PID()
	if err := killPID(old); err != nil {
		t.Fatal(err)
	}
	waitGone(t, old, 10*time.Second)
	var got []byte
	var err error
	for i := 0; i < 3; i++ {
		got, err = b.Shareset(si).ReadShareData(ctx, 3, 0, 100)
		if err == nil {
			break
		}
		if !errors.Is(err, sharestore.ErrUnavailable) {
			t.Fatalf("read after the crash: %v (code %v); want UNAVAILABLE or success", err, sharestore.CodeOf(err))
		}
	}
	if err != nil || string(got) != "hello" {
		t.Fatalf("read after restart = %q, %v", got, err)
	}
	if b.Restarts() != 1 || b.PID() == old || !alive(b.PID()) {
		t.Fatalf("Restarts() = %d, PID %d (old %d)", b.Restarts(), b.PID(), old)
	}
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// frozenClock stands still: its Now is always t0 and its Sleep returns at
// once. The slice retry after a crash then does not move time, so the
// crawl through a killed plugin can be compared, lease times included,
// with an undisturbed one.
type frozenClock struct{}

func (frozenClock) Now() time.Time { return t0 }

func (frozenClock) Sleep(ctx context.Context, d time.Duration) error { return sharestore.CtxErr(ctx) }

// crawlOnce runs one accounting cycle over b with a frozen clock, with or
// without Prefetch (which lists through one scan). kill, if non-nil, runs
// after every prefix.
func crawlOnce(t *testing.T, dir string, b sharestore.Backend, prefetch bool, kill func(p sharestore.Prefix)) {
	t.Helper()
	ctx := context.Background()
	db, err := leasedb.Open(ctx, filepath.Join(dir, "leasedb.sqlite"), leasedb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	clock := frozenClock{}
	a, err := crawler.NewAccounting(b, db, clock, crawler.AccountingConfig{Logger: quiet, Prefetch: prefetch, Policy: leasedb.ExpirationPolicy{Enabled: true, Mode: "age"}})
	if err != nil {
		t.Fatal(err)
	}
	e, err := crawler.New(a, filepath.Join(dir, "accounting.json"), clock, crawler.Config{CPUSlice: time.Minute, OneShot: true, Logger: quiet}, crawler.Hooks{
		AfterPrefix: func(_ int, p sharestore.Prefix) {
			if kill != nil {
				kill(p)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestCrawlSurvivesPluginSIGKILL SIGKILLs the disk plugin twice in the
// middle of an accounting cycle, listing prefix by prefix and through a
// scan stream. The supervisor restarts it, the engine retries the failed
// slice, and the cycle ends with the lease database and state of an
// undisturbed in-process run.
func TestCrawlSurvivesPluginSIGKILL(t *testing.T) {
	for _, prefetch := range []bool{false, true} {
		t.Run(fmt.Sprintf("prefetch=%v", prefetch), func(t *testing.T) { crawlThroughKills(t, prefetch) })
	}
}

func crawlThroughKills(t *testing.T, prefetch bool) {
	clean, crashed := t.TempDir(), t.TempDir()
	benchstore.CrawlFixture(t, clean, 400, t0)
	benchstore.CrawlFixture(t, crashed, 400, t0)

	b, err := disk.Open(filepath.Join(clean, "store"), disk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	crawlOnce(t, clean, b, false, nil)
	b.Close()

	pb, err := plugin.Open(context.Background(), diskPlugin, plugin.Config{URL: "disk:" + filepath.Join(crashed, "store")}, plugin.HostOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer pb.Close()
	var killed []int
	crawlOnce(t, crashed, pb, prefetch, func(p sharestore.Prefix) {
		if i := p.Index(); i == 300 || i == 700 {
			pid := pb.PID()
			if err := killPID(pid); err != nil {
				t.Errorf("kill %d: %v", pid, err)
			}
			waitGone(t, pid, 10*time.Second)
			killed = append(killed, pid)
		}
	})
	if len(killed) != 2 || pb.Restarts() != 2 {
		t.Fatalf("killed %v, Restarts() = %d; want 2 kills and 2 restarts", killed, pb.Restarts())
	}
	if want, got := benchstore.CrawlResult(t, clean), benchstore.CrawlResult(t, crashed); want != got {
		t.Fatalf("the crawl through a killed plugin differs from an undisturbed run:\n--- undisturbed\n%s\n--- killed twice\n%s", want, got)
	}
}

// killPID kills process pid outright (SIGKILL on Unix).
func killPID(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}
