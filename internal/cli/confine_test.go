//go:build unix

package cli

import (
	"bytes"
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/leasedb"
)

// The storage index planted outside the root; its prefix, "ac", is none
// of buildTahoeStore's.
const outsideSI = "acaqcaibaeaqcaibaeaqcaibae"

// outsideDir makes, outside every store, a directory that looks like a
// prefix directory holding two valid immutable shares of outsideSI, and
// returns it.
func outsideDir(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "outside")
	dir := filepath.Join(out, outsideSI)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"0", "1"} {
		if err := os.WriteFile(filepath.Join(dir, n), tahoeImmutable(1, []byte("outside data "+n), 1), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// treeOf returns every path under dir with its contents (or "<dir>"),
// to show that nothing there changed.
func treeOf(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			out[rel] = "<dir>"
			return nil
		}
		b, err := os.ReadFile(p)
		out[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameTree(t *testing.T, before, after map[string]string) {
	t.Helper()
	for k, v := range before {
		if w, ok := after[k]; !ok || w != v {
			t.Errorf("outside the root: %s changed or vanished", k)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			t.Errorf("outside the root: %s appeared", k)
		}
	}
}

// storeWithEscape is buildTahoeStore with shares/ac a symbolic link to
// outsideDir. It returns the root, the outside directory and the link.
func storeWithEscape(t *testing.T) (root, out, link string) {
	t.Helper()
	root, _ = buildTahoeStore(t)
	out = outsideDir(t)
	link = filepath.Join(root, "shares", "ac")
	if err := os.Symlink(out, link); err != nil {
		t.Fatal(err)
	}
	return root, out, link
}

// captureWarnings sends the default logger to a buffer until the test
// ends: the disk backend warns through it when it is opened without a
// logger (the command gives it its own, on its stderr).
func captureWarnings(t *testing.T) fmtStringer {
	t.Helper()
	buf := &lockedBuf{}
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(buf, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })
	return buf
}

type fmtStringer interface{ String() string }

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// backdateLeases renews every lease in the state directory's lease
// database at renewal, so that a cutoff date after it expires them all.
func backdateLeases(t *testing.T, state string, renewal time.Time) int {
	t.Helper()
	ctx := context.Background()
	db, err := leasedb.Open(ctx, filepath.Join(state, leasedbFile), leasedb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dump, err := db.Dump(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(ctx, func(tx *leasedb.Tx) error {
		for _, l := range dump.Leases {
			si, err := sharestore.ParseStorageIndex(l.StorageIndex)
			if err != nil {
				return err
			}
			if err := tx.AddOrRenewLease(ctx, si, l.Shnum, l.AccountID, renewal, renewal.Add(leasedb.StarterLeaseDuration)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return len(dump.Leases)
}

// Acceptance: a crawl with expiry over a store whose shares/ac is a
// symbolic link to shares outside the root deletes nothing outside.
func TestCrawlExpiryKeepsOutsideOfSymlinkedPrefix(t *testing.T) {
	root, out, link := storeWithEscape(t)
	before := treeOf(t, out)
	state := filepath.Join(t.TempDir(), "state")
	_, logs := crawlJSON(t, "--backend", "disk:"+root, "--state-dir", state)
	if n := backdateLeases(t, state, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)); n == 0 {
		t.Fatal("no leases recorded")
	}
	r, _ := crawlJSON(t, "--backend", "disk:"+root, "--state-dir", state, "--expire-mode", "cutoff-date", "--expire-cutoff-date", "2025-01-01", "--max-delete-percent", "100")
	if r.Accounting.Deleted["total"] == 0 {
		t.Fatalf("expiry deleted nothing, so the test shows nothing: %+v", r.Accounting)
	}
	sameTree(t, before, treeOf(t, out))
	if _, err := os.Lstat(link); err != nil {
		t.Errorf("the link itself was removed: %v", err)
	}
	// The disk backend warns through the command's logger, on its
	// stderr.
	if !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, link) {
		t.Errorf("no warning names %s; stderr:\n%s", link, logs)
	}
}

// ls over such a store names nothing outside.
func TestLsSkipsSymlinkedPrefix(t *testing.T) {
	root, out, _ := storeWithEscape(t)
	captureWarnings(t)
	before := treeOf(t, out)
	for _, args := range [][]string{{"--json"}, {}, {"--prefix", "ac"}} {
		code, stdout, errOut := run(t, append([]string{"ls", "--backend", "disk:" + root}, args...)...)
		if code != 0 {
			t.Fatalf("ls %v: exit %d: %s", args, code, errOut)
		}
		if strings.Contains(stdout, outsideSI) {
			t.Errorf("ls %v lists the outside:\n%s", args, stdout)
		}
	}
	sameTree(t, before, treeOf(t, out))
}

// copy --from such a store copies nothing from outside.
func TestCopyFromSkipsSymlinkedPrefix(t *testing.T) {
	root, out, _ := storeWithEscape(t)
	captureWarnings(t)
	before := treeOf(t, out)
	dst := t.TempDir()
	if code, _, errOut := run(t, "copy", "--from", "disk:"+root, "--to", "disk:"+dst); code != 0 {
		t.Fatalf("copy: exit %d: %s", code, errOut)
	}
	if _, err := os.Lstat(filepath.Join(dst, "shares", "ac")); err == nil {
		t.Error("the destination got a shares/ac")
	}
	code, stdout, _ := run(t, "ls", "--backend", "disk:"+dst, "--json")
	if code != 0 || strings.Contains(stdout, outsideSI) || strings.Count(stdout, "\n") != 12 {
		t.Errorf("destination after copy (exit %d):\n%s", code, stdout)
	}
	sameTree(t, before, treeOf(t, out))
}

// copy --to a store whose shares/PP is a symbolic link to outside
// writes nothing there, and says which link stopped it.
func TestCopyToSymlinkedPrefixWritesNothingOutside(t *testing.T) {
	src, shares := buildTahoeStore(t)
	captureWarnings(t)
	dst := t.TempDir()
	os.MkdirAll(filepath.Join(dst, "shares"), 0o755)
	out := filepath.Join(t.TempDir(), "outside")
	os.MkdirAll(out, 0o755)
	os.WriteFile(filepath.Join(out, "keep"), []byte("outside file"), 0o644)
	link := filepath.Join(dst, "shares", shares[0].si[:2])
	if err := os.Symlink(out, link); err != nil {
		t.Fatal(err)
	}
	before := treeOf(t, out)
	code, _, errOut := run(t, "copy", "--from", "disk:"+src, "--to", "disk:"+dst, "--prefix", shares[0].si[:2])
	if code == 0 || !strings.Contains(errOut, link) {
		t.Errorf("copy: exit %d, %q; want a failure naming %s", code, errOut, link)
	}
	sameTree(t, before, treeOf(t, out))
}
