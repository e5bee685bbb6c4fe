package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sharestore/sharestore/crawler"
	"github.com/sharestore/sharestore/leasedb"
)

// expireAll are the flags of a crawl that expires every lease and may
// delete every share of the store.
var expireAll = []string{"--expire-mode", "cutoff-date", "--expire-cutoff-date", "2999-01-01", "--allow-future-cutoff", "--max-delete-percent", "100"}

// After a damaged state file is moved aside, the fresh cycle is numbered
// after the history, the report is that cycle's (not the last entry of
// the history), and the warning is printed once.
func TestCrawlAfterDamagedStateReportsTheNewCycle(t *testing.T) {
	root, _ := buildTahoeStore(t)
	state := filepath.Join(t.TempDir(), "state")
	args := []string{"--backend", "disk:" + root, "--state-dir", state}
	crawlJSON(t, args...)
	crawlJSON(t, args...)
	r, _ := crawlJSON(t, append(args, expireAll...)...)
	if r.Accounting.Cycle != 2 || r.Accounting.Deleted["total"] != 8 {
		t.Fatalf("expiring cycle %d deleted %d", r.Accounting.Cycle, r.Accounting.Deleted["total"])
	}
	os.WriteFile(filepath.Join(state, accountingState), []byte("{garbage"), 0o644)
	code, out, errOut := run(t, append([]string{"crawl", "--once", "--fast", "--progress", "none"}, args...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "Accounting cycle 3 (") || !strings.Contains(out, "deleted 0,") || strings.Contains(out, "deleted 8") {
		t.Fatalf("report after the damaged state:\n%s", out)
	}
	if n := strings.Count(errOut, "accounting.state.json is damaged"); n != 1 {
		t.Fatalf("the warning is printed %d times:\n%s", n, errOut)
	}
	// The history keeps every cycle under its own number, and status
	// shows the one that just ran as the last.
	code, out, _ = run(t, "status", "--state-dir", state, "--json")
	var st struct {
		LeaseChecker struct {
			History map[string]crawler.HistoryEntry `json:"history"`
		} `json:"lease-checker"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil {
		t.Fatalf("status --json %d:\n%s", code, out)
	}
	h := st.LeaseChecker.History
	if len(h) != 4 || h["2"].SpaceRecovered["actual-shares"] != 8 || h["3"].SpaceRecovered["actual-shares"] != 0 {
		t.Fatalf("history %+v", h)
	}
	code, out, _ = run(t, "status", "--state-dir", state)
	if code != 0 || !strings.Contains(out, "Last complete cycle (3, ") {
		t.Fatalf("status:\n%s", out)
	}
}

// crawl --once counts buckets after the accounting cycle's deletions:
// a crawl that deletes every share of one of the three sharesets reports
// two. (It deletes every share of a second one too, but a stray file
// keeps that one's directory, and Tahoe counts directories.)
func TestBucketCountAfterDeletions(t *testing.T) {
	root, _ := buildTahoeStore(t)
	state := filepath.Join(t.TempDir(), "state")
	args := []string{"--backend", "disk:" + root, "--state-dir", state}
	if r, _ := crawlJSON(t, args...); r.Buckets == nil || r.Buckets.Sharesets != 3 {
		t.Fatalf("before: %+v", r.Buckets)
	}
	r, _ := crawlJSON(t, append(args, expireAll...)...)
	if r.Accounting.Deleted["total"] != 8 || r.Buckets == nil || r.Buckets.Sharesets != 2 || r.Buckets.BeforeDeletions != 0 {
		t.Fatalf("deleted %d, buckets %+v", r.Accounting.Deleted["total"], r.Buckets)
	}
}

var kebab = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// checkKebab fails for every object key in v, at any depth, that is not
// kebab-case.
func checkKebab(t *testing.T, what string, v any, path string) {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if !kebab.MatchString(k) {
				t.Errorf("%s: key %q at %s is not kebab-case", what, k, path)
			}
			checkKebab(t, what, x, path+"."+k)
		}
	case []any:
		for _, x := range v {
			checkKebab(t, what, x, path+"[]")
		}
	}
}

// decodeJSON decodes out, one JSON value, into map[string]any.
func decodeJSON(t *testing.T, what, out string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, out)
	}
	return m
}

// Every JSON document the command prints (except ls, which has its own
// test) has kebab-case keys only, down to the last nested object.
func TestJSONKeysAreKebabCase(t *testing.T) {
	root, _ := buildTahoeStore(t)
	state := filepath.Join(t.TempDir(), "state")
	args := []string{"crawl", "--once", "--fast", "--json", "--progress", "none", "--backend", "disk:" + root, "--state-dir", state}
	documents := map[string]string{}
	for _, extra := range [][]string{nil, append([]string{"--dry-run"}, expireAll...), expireAll} {
		code, out, errOut := run(t, append(args, extra...)...)
		if code != 0 {
			t.Fatalf("crawl %v: %d %s", extra, code, errOut)
		}
		documents["crawl "+strings.Join(extra, " ")] = out
	}
	code, out, _ := run(t, "status", "--state-dir", state, "--json")
	if code != 0 {
		t.Fatalf("status: %d", code)
	}
	documents["status"] = out
	code, out, _ = run(t, "maintenance", "clean-incoming", "--backend", "disk:"+root, "--older-than", "0", "--dry-run", "--json")
	if code != 0 {
		t.Fatalf("clean-incoming: %d %s", code, out)
	}
	documents["clean-incoming"] = out
	for what, out := range documents {
		checkKebab(t, what, decodeJSON(t, what, out), "")
	}
	// The documents hold what the check must reach: deletions with their
	// lease, history entries, progress, the lease database's statistics.
	for what, key := range map[string]string{
		"crawl --dry-run " + strings.Join(expireAll, " "): `"renewed"`,
		"crawl " + strings.Join(expireAll, " "):           `"leased-shares"`,
		"status":                                          `"space-recovered"`,
		"clean-incoming":                                  `"dry-run"`,
	} {
		if !strings.Contains(documents[what], key) {
			t.Errorf("%s lacks %s:\n%s", what, key, documents[what])
		}
	}
	if p := decodeJSON(t, "crawl", documents["crawl "])["progress"].(map[string]any)["accounting"].(map[string]any); p["cycle-in-progress"] != false {
		t.Errorf("crawl's progress is not numbers: %v", p)
	}
}

// status reports Tahoe's units: the ETA and the cycle times in seconds
// in the JSON, and the same numbers in the text.
func TestStatusNumbers(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := leasedb.Open(ctx, filepath.Join(dir, leasedbFile), leasedb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	// Accounting: cycle 3 started at t0, 256 prefixes done by t0+512s.
	cycle := 3
	start := t0
	acct := crawler.State{Version: crawler.StateVersion, Crawler: crawler.AccountingName, CurrentCycle: &cycle, CycleStart: &start,
		CycleID: "3@" + itoa(int(t0.UnixNano())), LastCompletePrefix: 255, RunStart: &crawler.RunMark{Time: t0}}
	// Buckets: the last cycle took 547996752 ns.
	end, last := t0.Add(547996752*time.Nanosecond), 0
	buckets := crawler.State{Version: crawler.StateVersion, Crawler: crawler.BucketsName, LastCompletePrefix: -1,
		LastCycleFinished: &last, LastCycleStart: &start, LastCycleEnd: &end}
	if err := acct.Save(filepath.Join(dir, accountingState)); err != nil {
		t.Fatal(err)
	}
	if err := buckets.Save(filepath.Join(dir, bucketsState)); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(512 * time.Second)
	s, err := readStatus(ctx, dir, "", now)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(s)
	m := decodeJSON(t, "status", string(b))
	p := m["lease-checker-progress"].(map[string]any)
	if p["estimated-cycle-complete-time-left"] != 1536.0 || p["estimated-time-per-cycle"] != 2048.0 || p["cycle-complete-percentage"] != 25.0 {
		t.Errorf("lease-checker-progress %v", p)
	}
	if bp := m["bucket-counter"].(map[string]any)["progress"].(map[string]any); bp["estimated-time-per-cycle"] != 0.547996752 {
		t.Errorf("bucket-counter progress %v", bp)
	}
	var text bytes.Buffer
	printStatus(&text, s, now)
	for _, want := range []string{
		"Current crawl 25.0% complete (ETA 1536s)",
		"(estimated cycle time 34 minutes)",
		"No crawl scheduled (estimated cycle time under 1 second)",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("status text lacks %q:\n%s", want, text.String())
		}
	}
}

// Text output gives byte counts in IEC units with one decimal; JSON
// gives the same counts as integers.
func TestTextUnits(t *testing.T) {
	root, shares := buildTahoeStore(t)
	var total int64
	for _, s := range shares {
		total += int64(len(s.raw))
	}
	state := filepath.Join(t.TempDir(), "state")
	r, _ := crawlJSON(t, "--backend", "disk:"+root, "--state-dir", state)
	if r.Accounting.ShareBytes["total"] != total || total != 14201 {
		t.Fatalf("share bytes %d, want %d (14201)", r.Accounting.ShareBytes["total"], total)
	}
	code, out, _ := run(t, "crawl", "--once", "--fast", "--progress", "none", "--backend", "disk:"+root, "--state-dir", state)
	if code != 0 || !strings.Contains(out, "share bytes: 13.9 KiB   disk bytes: ") || !regexp.MustCompile(`disk bytes: \d+\.\d [KMG]iB\n`).MatchString(out) {
		t.Fatalf("crawl text:\n%s", out)
	}
	if !regexp.MustCompile(`Lease database: 12 leased shares, \d+\.\d [KMG]iB leased, 3 sharesets\n`).MatchString(out) {
		t.Fatalf("lease database line:\n%s", out)
	}
	code, out, _ = run(t, "status", "--state-dir", state)
	if code != 0 || !regexp.MustCompile(`\(\d mutable / \d immutable\), \d+\.\d KiB \(\d+\.\d KiB / \d+\.\d KiB\)`).MatchString(out) {
		t.Fatalf("status text:\n%s", out)
	}
	// Each share a dry run would delete, with its size: the immutable
	// share of 8000 data bytes (8252 with its header and three leases) is
	// 8.0 KiB, a small mutable one whole bytes.
	code, out, _ = run(t, append([]string{"crawl", "--once", "--fast", "--progress", "none", "--backend", "disk:" + root, "--state-dir", state, "--dry-run"}, expireAll...)...)
	if code != 0 || !regexp.MustCompile(`would delete: SI \w+ shnum 10 \(immutable, 8\.0 KiB\): `).MatchString(out) ||
		!regexp.MustCompile(`would delete: SI \w+ shnum 0 \(mutable, \d{3} B\): `).MatchString(out) || strings.Contains(out, "bytes)") {
		t.Fatalf("dry run text:\n%s", out)
	}
}
