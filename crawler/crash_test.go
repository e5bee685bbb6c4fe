package crawler

import (
	"bufio"
	"context"
	"encoding/json"
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
	"github.com/sharestore/sharestore/leasedb"
	"github.com/sharestore/sharestore/share"
)

// crashFixture builds a store of n sharesets spread over the prefixes and
// a lease database in which every third share's only lease has expired,
// every fifth share is unknown to the database, and a few rows are for
// shares that vanished.
func crashFixture(t *testing.T, dir string, n int) {
	t.Helper()
	ctx := context.Background()
	b, err := disk.Open(filepath.Join(dir, "store"), disk.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	db, err := leasedb.Open(ctx, filepath.Join(dir, "leasedb.sqlite"), leasedb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(ctx, func(tx *leasedb.Tx) error {
		for i := 0; i < n; i++ {
			var si sharestore.StorageIndex
			si[0], si[1], si[2] = byte(i*7), byte(i), byte(i>>8)
			data := []byte(strings.Repeat(fmt.Sprint(i), 20))
			raw := append(share.NewImmutableHeader(1, int64(len(data))), data...)
			if i%11 == 0 {
				raw = []byte("corrupt share " + fmt.Sprint(i))
			}
			vanished := i%13 == 5
			if !vanished {
				if err := b.Shareset(si).PutRaw(ctx, i%4, strings.NewReader(string(raw)), int64(len(raw))); err != nil {
					return err
				}
			}
			if i%5 == 0 && !vanished {
				continue // new to the database
			}
			if err := tx.AddNewShare(ctx, si, i%4, 4096, sharestore.ShareTypeImmutable, t0); err != nil {
				return err
			}
			renew := t0
			if i%3 == 0 {
				renew = t0.Add(-100 * 24 * time.Hour)
			}
			if err := tx.AddOrRenewLease(ctx, si, i%4, leasedb.AccountAnonymous, renew, renew.Add(31*24*time.Hour)); err != nil {
				return err
			}
			if err := tx.MarkStable(ctx, si, i%4, 4096); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

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

func canonicalDump(t *testing.T, dir string) string {
	t.Helper()
	ctx := context.Background()
	db, err := leasedb.Open(ctx, filepath.Join(dir, "leasedb.sqlite"), leasedb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	d, err := db.Dump(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.MarshalIndent(d, "", " ")
	st, err := os.ReadFile(filepath.Join(dir, "accounting.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s State
	json.Unmarshal(st, &s)
	s.RecentPrefixSeconds = nil
	sb, _ := json.MarshalIndent(s, "", " ")
	return string(b) + "\n" + string(sb)
}

// A crawler SIGKILLed at random prefixes and resumed ends with exactly the
// state and lease database of an undisturbed run.
func TestCrashResume(t *testing.T) {
	if testing.Short() {
		t.Skip("starts subprocesses")
	}
	clean, crashed := t.TempDir(), t.TempDir()
	crashFixture(t, clean, 600)
	crashFixture(t, crashed, 600)
	if !runChild(t, clean, 0) {
		t.Fatal("undisturbed run did not finish")
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	kills := 0
	for i := 0; i < 4; i++ {
		at := 1 + rng.IntN(200)
		if runChild(t, crashed, at) {
			break
		}
		kills++
		t.Logf("killed after %d more prefixes", at)
	}
	if kills == 0 {
		t.Fatal("no run was killed")
	}
	if !runChild(t, crashed, 0) {
		t.Fatal("resumed run did not finish")
	}
	want, got := canonicalDump(t, clean), canonicalDump(t, crashed)
	if want != got {
		t.Fatalf("after %d kills the result differs from an undisturbed run:\n--- undisturbed\n%s\n--- crashed\n%s", kills, want, got)
	}
	if !strings.Contains(want, `"actual-shares": `) && !strings.Contains(want, `actual-shares`) {
		t.Fatal("history missing")
	}
}
