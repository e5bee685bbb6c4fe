package crawler

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/disk"
	"github.com/sharestore/sharestore/internal/benchstore"
	"github.com/sharestore/sharestore/leasedb"
)

// TestCrashChild is the crawler process of TestCrashResume; it runs only
// when that test starts it.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv("SHARESTORE_CRASH_CHILD")
	if dir == "" {
		t.Skip("run by TestCrashResume")
	}
	ctx := context.Background()
	b, err := disk.Open(filepath.Join(dir, "store"), disk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db, err := leasedb.Open(ctx, filepath.Join(dir, "leasedb.sqlite"), leasedb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	clock := NewFakeClock(t0)
	a, err := NewAccounting(b, db, clock, AccountingConfig{Logger: quiet, Policy: leasedb.ExpirationPolicy{Enabled: true, Mode: "age"}})
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(a, filepath.Join(dir, "accounting.json"), clock, Config{CPUSlice: time.Hour, OneShot: true, CheckpointEvery: 7, Logger: quiet}, Hooks{
		AfterPrefix: func(c int, p sharestore.Prefix) { fmt.Printf("prefix %d\n", p.Index()) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Run(ctx); err != nil {
		t.Fatal(err)
	}
	fmt.Println("cycle done")
}

func runChild(t *testing.T, dir string, killAfter int) bool {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SHARESTORE_CRASH_CHILD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	seen, done := 0, false
	for sc.Scan() {
		line := sc.Text()
		if line == "cycle done" {
			done = true
		}
		if strings.HasPrefix(line, "prefix ") {
			seen++
			if killAfter > 0 && seen == killAfter {
				cmd.Process.Signal(syscall.SIGKILL)
			}
		}
	}
	cmd.Wait()
	return done
}

// A crawler SIGKILLed at random prefixes and resumed ends with exactly the
// state and lease database of an undisturbed run.
func TestCrashResume(t *testing.T) {
	if testing.Short() {
		t.Skip("starts subprocesses")
	}
	clean, crashed := t.TempDir(), t.TempDir()
	benchstore.CrawlFixture(t, clean, 600, t0)
	benchstore.CrawlFixture(t, crashed, 600, t0)
	if !runChild(t, clean, 0) {
		t.Fatal("undisturbed run did not finish")
	}
	kills := killRepeatedly(t, crashed, 200)
	want, got := benchstore.CrawlResult(t, clean), benchstore.CrawlResult(t, crashed)
	if want != got {
		t.Fatalf("after %d kills the result differs from an undisturbed run:\n--- undisturbed\n%s\n--- crashed\n%s", kills, want, got)
	}
	if !strings.Contains(want, "actual-shares") {
		t.Fatal("the lease database has no cycle history")
	}
}

// A steady cycle, whose prefixes are settled from their memos and
// committed in batches, SIGKILLed at random prefixes and resumed, ends
// with exactly the state and lease database of an undisturbed one: the
// engine never saves a state that counts a prefix whose result was not
// committed yet.
func TestCrashResumeSteady(t *testing.T) {
	if testing.Short() {
		t.Skip("starts subprocesses")
	}
	clean, crashed := t.TempDir(), t.TempDir()
	benchstore.CrawlFixture(t, clean, 600, t0)
	benchstore.CrawlFixture(t, crashed, 600, t0)
	for _, dir := range []string{clean, crashed} {
		if !runChild(t, dir, 0) {
			t.Fatal("first cycle did not finish")
		}
	}
	if !runChild(t, clean, 0) {
		t.Fatal("undisturbed steady cycle did not finish")
	}
	kills := killRepeatedly(t, crashed, 300)
	want, got := benchstore.CrawlResult(t, clean), benchstore.CrawlResult(t, crashed)
	if want != got {
		t.Fatalf("after %d kills the steady result differs from an undisturbed one:\n--- undisturbed\n%s\n--- crashed\n%s", kills, want, got)
	}
}

// killRepeatedly runs the crawler on dir up to four times, SIGKILLing
// each run after a random number of prefixes (at most within), then lets
// it finish, and returns how many runs it killed.
func killRepeatedly(t *testing.T, dir string, within int) int {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(within)))
	kills := 0
	for i := 0; i < 4; i++ {
		at := 1 + rng.IntN(within)
		if runChild(t, dir, at) {
			break
		}
		kills++
		t.Logf("killed after %d more prefixes", at)
	}
	if kills == 0 {
		t.Fatal("no run was killed")
	}
	if !runChild(t, dir, 0) {
		t.Fatal("resumed run did not finish")
	}
	return kills
}
