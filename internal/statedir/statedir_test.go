package statedir

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/disk"
)

var now = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

// A second holder of a state directory is refused at once, with the
// first holder's PID and command; after Unlock it may take it.
func TestLockRefusesSecondHolder(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("flock is not available on Windows")
	}
	dir := t.TempDir()
	l, err := Acquire(dir, "sharestore crawl --backend disk:/x")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(dir, "sharestore crawl second")
	if !errors.Is(err, sharestore.ErrConflict) {
		t.Fatalf("second Acquire: %v, want ErrConflict", err)
	}
	for _, want := range []string{dir, "PID " + strconv.Itoa(os.Getpid()), "sharestore crawl --backend disk:/x"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	l2, err := Acquire(dir, "third")
	if err != nil {
		t.Fatalf("Acquire after Unlock: %v", err)
	}
	l2.Unlock()
}

// A FIFO or a directory in place of the lock file is refused, never
// opened.
func TestLockRefusesOddFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, LockFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Acquire(dir, "x"); !errors.Is(err, sharestore.ErrInvalidArgument) {
		t.Fatalf("Acquire with a directory as the lock: %v", err)
	}
}

func openStore(t *testing.T) *disk.Backend {
	t.Helper()
	b, err := disk.Open(filepath.Join(t.TempDir(), "storage"), disk.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// The first state directory that may delete claims an unowned store; a
// second one is told who owns it and does not own it, until it takes the
// store over explicitly; a dry run never claims.
func TestOwnership(t *testing.T) {
	ctx := context.Background()
	b := openStore(t)
	a, c := t.TempDir(), t.TempDir()

	o, err := CheckOwner(ctx, b, OwnerCheck{StateDir: a, Now: now})
	if err != nil || o.Owned || o.Claimed {
		t.Fatalf("check without claim = %+v, %v; want not owned, nothing written", o, err)
	}
	if _, err := b.ReadMeta(ctx, OwnerMarkerName); !errors.Is(err, sharestore.ErrNotFound) {
		t.Fatalf("a check without claim wrote the marker: %v", err)
	}
	o, err = CheckOwner(ctx, b, OwnerCheck{StateDir: a, Claim: true, Now: now})
	if err != nil || !o.Owned || !o.Claimed {
		t.Fatalf("first claim = %+v, %v", o, err)
	}
	o, err = CheckOwner(ctx, b, OwnerCheck{StateDir: a, Claim: true, Now: now})
	if err != nil || !o.Owned || o.Claimed {
		t.Fatalf("owner again = %+v, %v; want owned, nothing rewritten", o, err)
	}
	o, err = CheckOwner(ctx, b, OwnerCheck{StateDir: c, Claim: true, Now: now})
	if err != nil || o.Owned {
		t.Fatalf("second state directory = %+v, %v; want not owned", o, err)
	}
	if !strings.Contains(o.Reason, a) || !strings.Contains(o.Reason, "--take-ownership") || o.Found == nil {
		t.Errorf("reason %q does not name the owner %s and the way out", o.Reason, a)
	}
	o, err = CheckOwner(ctx, b, OwnerCheck{StateDir: c, Claim: true, Take: true, Now: now})
	if err != nil || !o.Owned || !o.Claimed || o.Found == nil || o.Found.StateDir != a {
		t.Fatalf("take over = %+v, %v", o, err)
	}
	o, _ = CheckOwner(ctx, b, OwnerCheck{StateDir: a, Claim: true, Now: now})
	if o.Owned {
		t.Fatal("the old owner still owns the store after a take-over")
	}
}

// A damaged marker, a damaged owner ID and a backend that keeps no
// records never give ownership without --take-ownership.
func TestOwnershipDamaged(t *testing.T) {
	ctx := context.Background()
	b := openStore(t)
	a := t.TempDir()
	if err := b.WriteMeta(ctx, OwnerMarkerName, []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	o, err := CheckOwner(ctx, b, OwnerCheck{StateDir: a, Claim: true, Now: now})
	if err != nil || o.Owned || !strings.Contains(o.Reason, "damaged") {
		t.Fatalf("damaged marker = %+v, %v", o, err)
	}
	if o, err = CheckOwner(ctx, b, OwnerCheck{StateDir: a, Claim: true, Take: true, Now: now}); err != nil || !o.Owned {
		t.Fatalf("damaged marker with take = %+v, %v", o, err)
	}

	if err := os.WriteFile(filepath.Join(a, OwnerIDFile), []byte("short\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := CheckOwner(ctx, b, OwnerCheck{StateDir: a, Claim: true, Now: now}); !errors.Is(err, sharestore.ErrCorrupt) {
		t.Fatalf("damaged owner ID: %v, want ErrCorrupt", err)
	}

	var hidden struct{ sharestore.Backend } // hides MetaStore
	hidden.Backend = b
	o, err = CheckOwner(ctx, hidden, OwnerCheck{StateDir: t.TempDir(), Claim: true, Now: now})
	if err != nil || o.Owned || !strings.Contains(o.Reason, "cannot keep an ownership marker") {
		t.Fatalf("backend without records = %+v, %v", o, err)
	}
	if o, _ = CheckOwner(ctx, hidden, OwnerCheck{StateDir: t.TempDir(), Take: true, Now: now}); !o.Owned {
		t.Fatal("--take-ownership on a backend without records did not give ownership")
	}
}
