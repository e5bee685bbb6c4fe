package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/sharestore/sharestore/crawler"
	"github.com/sharestore/sharestore/internal/statedir"
)

// expireEverything are crawl flags whose policy expires every lease (a
// cutoff date far in the future).
var expireEverything = []string{"--expire-mode", "cutoff-date", "--expire-cutoff-date", "2999-01-01", "--allow-future-cutoff"}

// shareFiles returns every share file (a decimal name) under
// root/shares/PP/SI, relative to root.
func shareFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(filepath.Join(root, "shares"), func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if _, err := strconv.Atoi(info.Name()); err == nil && info.Mode().IsRegular() && !strings.Contains(rel, "incoming") {
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func deletionKeys(ds []crawler.Deletion, outcome string) []string {
	var out []string
	for _, d := range ds {
		if d.Outcome == outcome {
			out = append(out, d.SI+"/"+strconv.Itoa(d.Shnum)+" "+d.Reason)
		}
	}
	sort.Strings(out)
	return out
}

// --dry-run --json lists every share a real run then deletes, with its
// type, size and reason, and a real run deletes exactly those and logs
// each one.
func TestDryRunListsWhatARealRunDeletes(t *testing.T) {
	root, _ := buildTahoeStore(t)
	state := filepath.Join(t.TempDir(), "state")
	base := []string{"--backend", "disk:" + root, "--state-dir", state}
	crawlJSON(t, base...) // records every share with a starter lease
	args := append(append([]string{}, base...), append(expireEverything, "--max-delete-percent", "100")...)
	dry, _ := crawlJSON(t, append(args, "--dry-run")...)
	would := deletionKeys(dry.Deletion.Deletions, crawler.OutcomeWouldDelete)
	if len(would) != 8 {
		t.Fatalf("dry run lists %d shares, want the 8 non-corrupt ones: %v", len(would), dry.Deletion.Deletions)
	}
	for _, d := range dry.Deletion.Deletions {
		if d.Reason != crawler.ReasonLeaseExpired || d.Lease == nil || d.Lease.Account != 1 || d.Size <= 0 || (d.Type != "immutable" && d.Type != "mutable") {
			t.Errorf("dry-run entry without its reason, lease, size or type: %+v", d)
		}
	}
	if before := shareFiles(t, root); len(before) != 12 {
		t.Fatalf("the dry run changed the store: %v", before)
	}
	code, out, _ := run(t, append([]string{"crawl", "--once", "--fast", "--progress", "none", "--dry-run"}, args...)...)
	if code != 0 || strings.Count(out, "would delete: SI ") != 8 || !strings.Contains(out, "lease of account 1 renewed") {
		t.Errorf("the dry run's text report does not list the 8 shares with their reason:\n%s", out)
	}

	real, errOut := crawlJSON(t, args...)
	deleted := deletionKeys(real.Deletion.Deletions, crawler.OutcomeDeleted)
	if strings.Join(deleted, ",") != strings.Join(would, ",") {
		t.Fatalf("real run deleted\n%v\nthe dry run listed\n%v", deleted, would)
	}
	if n := strings.Count(errOut, "msg=\"deleted share\""); n != 8 || !strings.Contains(errOut, "reason=\"lease of account 1") {
		t.Errorf("%d deletions logged with their reason, want 8:\n%s", n, errOut)
	}
	if left := shareFiles(t, root); len(left) != 4 {
		t.Errorf("after the real run %d share files are left, want the 4 corrupt ones: %v", len(left), left)
	}
}

// Without a limit, a cycle that would delete more than DefaultHoldPercent
// of the store deletes nothing and expires no lease; --max-delete bounds a
// cycle and the rest wait for the next; a cutoff date in the future is
// refused without --allow-future-cutoff.
func TestDeletionBrakes(t *testing.T) {
	root, _ := buildTahoeStore(t)
	state := filepath.Join(t.TempDir(), "state")
	base := []string{"--backend", "disk:" + root, "--state-dir", state}
	crawlJSON(t, base...)

	code, _, errOut := run(t, append([]string{"crawl", "--once", "--fast", "--progress", "none", "--expire-mode", "cutoff-date", "--expire-cutoff-date", "2099-01-01"}, base...)...)
	if code != 2 || !strings.Contains(errOut, "--expire-cutoff-date 2099-01-01 is in the future") || !strings.Contains(errOut, "--allow-future-cutoff") {
		t.Fatalf("future cutoff: exit %d: %s", code, errOut)
	}

	held, _ := crawlJSON(t, append(base, expireEverything...)...)
	if held.Accounting.Deleted["total"] != 0 || !strings.Contains(held.Deletion.Held, "8 of 12 shares") {
		t.Fatalf("held cycle: deleted %v, held %q", held.Accounting.Deleted, held.Deletion.Held)
	}
	if n := len(deletionKeys(held.Deletion.Deletions, crawler.OutcomeWouldDelete)); n != 8 {
		t.Errorf("the held cycle lists %d shares it would delete, want 8", n)
	}
	if left := shareFiles(t, root); len(left) != 12 {
		t.Fatalf("a held cycle deleted shares: %v", left)
	}

	bounded, _ := crawlJSON(t, append(base, append(expireEverything, "--max-delete", "3")...)...)
	if bounded.Accounting.Deleted["total"] != 3 || bounded.Deletion.Deferred != 5 {
		t.Fatalf("--max-delete 3: deleted %d, deferred %d", bounded.Accounting.Deleted["total"], bounded.Deletion.Deferred)
	}
	if n := len(deletionKeys(bounded.Deletion.Deletions, crawler.OutcomeDeferred)); n != 5 {
		t.Errorf("%d deferred shares listed, want 5", n)
	}
	// The deferred shares kept their (expired) leases, so they are still
	// explained, and the next bounded cycle takes the next three.
	next, _ := crawlJSON(t, append(base, append(expireEverything, "--max-delete", "3")...)...)
	if next.Accounting.Deleted["total"] != 3 || next.Deletion.Deferred != 2 {
		t.Fatalf("second bounded cycle: deleted %d, deferred %d", next.Accounting.Deleted["total"], next.Deletion.Deferred)
	}
	for _, d := range next.Deletion.Deletions {
		if d.Reason != crawler.ReasonLeaseExpired {
			t.Errorf("a deferred share lost the lease that explains it: %+v", d)
		}
	}
	for _, bad := range [][]string{{"--max-delete", "0"}, {"--max-delete-percent", "0"}, {"--max-delete-percent", "101"}} {
		if code, _, _ := run(t, append(append([]string{"crawl", "--once"}, base...), bad...)...); code != 2 {
			t.Errorf("%v: exit %d, want 2", bad, code)
		}
	}
}

// A second crawl on a state directory in use exits 2 and names the
// holder.
func TestSecondCrawlOnStateDirExits2(t *testing.T) {
	root, _ := buildTahoeStore(t)
	state := filepath.Join(t.TempDir(), "state")
	base := []string{"crawl", "--once", "--fast", "--progress", "none", "--backend", "disk:" + root, "--state-dir", state}
	if code, _, e := run(t, base...); code != 0 {
		t.Fatal(e)
	}
	held, err := statedir.Acquire(state, "sharestore crawl (the first one)")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Unlock()
	code, _, errOut := run(t, base...)
	if code != 2 || !strings.Contains(errOut, "is in use by PID "+strconv.Itoa(os.Getpid())) || !strings.Contains(errOut, "the first one") {
		t.Fatalf("second crawl: exit %d: %s", code, errOut)
	}
}

// Two state directories on one store: the first claims it, the second
// records its shares but never deletes one, and says who owns the store;
// --take-ownership hands the store over explicitly.
func TestSecondStateDirNeverDeletes(t *testing.T) {
	root, _ := buildTahoeStore(t)
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	crawlJSON(t, "--backend", "disk:"+root, "--state-dir", a)
	marker, err := os.ReadFile(filepath.Join(root, statedir.OwnerMarkerName))
	if err != nil || !strings.Contains(string(marker), a) {
		t.Fatalf("the first crawl did not claim the store: %s, %v", marker, err)
	}
	// b records the shares (its first cycle), then would delete them all.
	crawlJSON(t, "--backend", "disk:"+root, "--state-dir", b)
	args := append([]string{"--backend", "disk:" + root, "--state-dir", b}, append(expireEverything, "--max-delete-percent", "100")...)
	r, errOut := crawlJSON(t, args...)
	if r.Accounting.Deleted["total"] != 0 || len(shareFiles(t, root)) != 12 {
		t.Fatalf("the second state directory deleted %d shares", r.Accounting.Deleted["total"])
	}
	if !strings.Contains(errOut, "owned by state directory "+a) || !strings.Contains(r.Deletion.Held, a) {
		t.Errorf("the second crawl does not say who owns the store:\n%s\nheld: %q", errOut, r.Deletion.Held)
	}
	// Said once, as a log record.
	if n := strings.Count(errOut, "this cycle deletes nothing"); n != 1 || !strings.Contains(errOut, "level=WARN") {
		t.Errorf("the hold is said %d times, want once as a WARN record:\n%s", n, errOut)
	}
	var m statedir.Marker
	if b, _ := os.ReadFile(filepath.Join(root, statedir.OwnerMarkerName)); json.Unmarshal(b, &m) != nil || m.StateDir != a {
		t.Fatalf("the second crawl changed the marker: %+v", m)
	}

	r, errOut = crawlJSON(t, append(args, "--take-ownership")...)
	if r.Accounting.Deleted["total"] != 8 || !strings.Contains(errOut, "took ownership of the store from state directory "+a) {
		t.Fatalf("--take-ownership: deleted %d\n%s", r.Accounting.Deleted["total"], errOut)
	}
	// Now the first one is the stranger.
	r, _ = crawlJSON(t, "--backend", "disk:"+root, "--state-dir", a, "--expire-mode", "age", "--expire-override", "1day")
	if !strings.Contains(r.Deletion.Held, b) {
		t.Errorf("the old owner is not told that %s owns the store: %q", b, r.Deletion.Held)
	}
}
