package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func crawlJSON(t *testing.T, args ...string) (crawlReport, string) {
	t.Helper()
	code, out, errOut := run(t, append([]string{"crawl", "--once", "--fast", "--json", "--progress", "none"}, args...)...)
	if code != 0 {
		t.Fatalf("crawl %v: exit %d: %s", args, code, errOut)
	}
	var r crawlReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	return r, errOut
}

// The README's main command: on a fresh machine it seeds and crawls the
// demonstration store; a rerun changes nothing.
func TestCrawlDemo(t *testing.T) {
	t.Chdir(t.TempDir())
	r, errOut := crawlJSON(t, "--demo")
	if r.Seeded == 0 || !strings.Contains(errOut, "seeded") {
		t.Fatalf("not seeded: %+v", r)
	}
	a := r.Accounting
	if a == nil || a.Shares["total"] != int64(r.Seeded) || a.Added != int64(r.Seeded) || a.Shares["corrupt"] == 0 || a.Shares["mutable"] == 0 {
		t.Fatalf("first report %+v", a)
	}
	if r.Buckets == nil || r.Buckets.Sharesets != sampleSharesets || a.Sharesets != sampleSharesets {
		t.Fatalf("buckets %+v, sharesets %d", r.Buckets, a.Sharesets)
	}
	r2, errOut := crawlJSON(t, "--demo")
	a2 := r2.Accounting
	if r2.Seeded != 0 || strings.Contains(errOut, "seeded") {
		t.Fatal("seeded twice")
	}
	if a2.Cycle != 1 || a2.Added != 0 || a2.Removed != 0 || a2.Deleted["total"] != 0 || a2.Shares["total"] != a.Shares["total"] {
		t.Fatalf("rerun changed something: %+v", a2)
	}
	code, out, _ := run(t, "status", "--json")
	var st map[string]json.RawMessage
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil {
		t.Fatalf("status: %d %s", code, out)
	}
	for _, k := range []string{"bucket-counter", "lease-checker", "lease-checker-progress"} {
		if len(st[k]) == 0 || string(st[k]) == "null" {
			t.Errorf("status lacks %s", k)
		}
	}
	code, out, _ = run(t, "status")
	if code != 0 || !strings.Contains(out, "Total sharesets: 300") || !strings.Contains(out, "but expiration was not enabled") {
		t.Fatalf("status text:\n%s", out)
	}
}

func TestCrawlTahoeStore(t *testing.T) {
	root, _ := buildTahoeStore(t)
	state := filepath.Join(t.TempDir(), "state")
	r, _ := crawlJSON(t, "--backend", "disk:"+root, "--state-dir", state)
	a := r.Accounting
	if a.Sharesets != 3 || a.Shares["immutable"] != 4 || a.Shares["mutable"] != 4 || a.Shares["corrupt"] != 4 || len(a.CorruptShares) != 4 {
		t.Fatalf("report %+v", a)
	}
	if a.ShareBytes["total"] <= 0 || a.DiskBytes["total"] <= 0 {
		t.Fatalf("bytes %+v %+v", a.ShareBytes, a.DiskBytes)
	}
	// Expire everything: corrupt shares stay, the rest go.
	expireAll := []string{"--backend", "disk:" + root, "--state-dir", state, "--expire-mode", "cutoff-date", "--expire-cutoff-date", "2999-01-01", "--allow-future-cutoff"}
	r, _ = crawlJSON(t, append(expireAll, "--dry-run")...)
	if r.Accounting.WouldDelete["total"] != 8 || r.Accounting.Deleted["total"] != 0 {
		t.Fatalf("dry run %+v", r.Accounting)
	}
	// 8 of 12 is above the default brake: nothing goes until told.
	r, _ = crawlJSON(t, expireAll...)
	if r.Accounting.Deleted["total"] != 0 || r.Deletion == nil || !strings.Contains(r.Deletion.Held, "8 of 12 shares") {
		t.Fatalf("expire without a limit: %+v %+v", r.Accounting, r.Deletion)
	}
	r, _ = crawlJSON(t, append(expireAll, "--max-delete-percent", "100")...)
	if r.Accounting.Deleted["total"] != 8 || r.Accounting.Deleted["corrupt"] != 0 {
		t.Fatalf("expire %+v", r.Accounting)
	}
	code, out, _ := run(t, "ls", "--backend", "disk:"+root, "--json")
	if code != 0 || strings.Count(out, "\n") != 4 || strings.Count(out, `"corrupt"`) != 4 {
		t.Fatalf("after GC:\n%s", out)
	}
}

func TestCrawlErrors(t *testing.T) {
	dir := t.TempDir()
	root, _ := buildTahoeStore(t)
	other, _ := buildTahoeStore(t)
	state := filepath.Join(dir, "state")
	if code, _, e := run(t, "crawl", "--once", "--backend", "disk:"+root, "--state-dir", state, "--progress", "none"); code != 0 {
		t.Fatal(e)
	}
	cases := []struct {
		args []string
		msg  string
	}{
		{[]string{"--expire-mode", "bogus"}, `--expire-mode "bogus": want age or cutoff-date`},
		{[]string{"--expire-mode", "age", "--expire-override", "2kumquats"}, "--expire-override: unknown unit 'kumquats' in '2kumquats'"},
		{[]string{"--expire-mode", "age", "--expire-override", "1week"}, "--expire-override: unknown unit 'week' in '1week'"},
		{[]string{"--expire-mode", "age", "--expire-override", "7"}, "--expire-override: no unit (like day, month, or year) in '7'"},
		{[]string{"--expire-mode", "age", "--expire-override", "0days"}, `--expire-override "0days": must be longer than 0 days`},
		{[]string{"--expire-override", "7days"}, "need --expire-mode"},
		{[]string{"--expire-mode", "cutoff-date"}, "--expire-mode cutoff-date needs --expire-cutoff-date YYYY-MM-DD"},
		{[]string{"--expire-mode", "cutoff-date", "--expire-cutoff-date", "yesterday"}, "--expire-cutoff-date: invalid date 'yesterday': want YYYY-MM-DD"},
		{[]string{"--crawler", "nope"}, "want accounting, buckets or all"},
		{[]string{"--backend", "disk:" + filepath.Join(dir, "missing")}, "does not exist"},
		{[]string{"--backend", "s4://x"}, "unknown scheme"},
		{[]string{"--backend", "disk:" + other, "--state-dir", state}, "belongs to backend"},
		{[]string{"--prefixes-in-flight", "0"}, "want 1 to 256"},
		{[]string{"--claim-lease", "10ms"}, "--claim-lease 10ms: want 1s to 24h0m0s"},
		{[]string{"--worker", "a\nb"}, `--worker "a\nb": want printable text`},
		{[]string{"--rate-limit", "-3"}, "--rate-limit -3: want a number of requests per second, 0 or more"},
		{[]string{"--rate-limit", "NaN"}, "--rate-limit NaN: want a number"},
		{[]string{"extra"}, `sharestore crawl takes no arguments, got "extra"`},
		{[]string{"--no-such-flag"}, "unknown flag"},
	}
	for _, c := range cases {
		args := append([]string{"crawl", "--once", "--progress", "none"}, c.args...)
		if !contains(c.args, "--backend") {
			args = append(args, "--backend", "disk:"+root, "--state-dir", state)
		}
		code, _, errOut := run(t, args...)
		if code != 2 || !strings.Contains(errOut, c.msg) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", c.args, code, errOut, c.msg)
		}
	}
	// A damaged state file is moved aside loudly, once, and the crawl
	// goes on.
	os.WriteFile(filepath.Join(state, accountingState), []byte("{garbage"), 0o644)
	r, errOut := crawlJSON(t, "--backend", "disk:"+root, "--state-dir", state)
	if len(r.Warnings) != 1 || strings.Count(errOut, "moved it to") != 1 || !strings.Contains(errOut, "level=WARN") {
		t.Fatalf("warnings %v, stderr %q", r.Warnings, errOut)
	}
	if code, _, e := run(t, "status", "--state-dir", filepath.Join(dir, "nothing")); code != 2 || !strings.Contains(e, "does not exist") {
		t.Fatalf("status on missing dir: %d %q", code, e)
	}
}

// Without --backend or --demo, crawl refuses to run and writes nothing:
// no sample shares appear in a production directory by accident.
func TestCrawlNeedsBackendOrDemo(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	root, _ := buildTahoeStore(t)
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{nil, "crawl: --backend is required"},
		{[]string{"--state-dir", "st"}, "--demo crawls a store of sample shares instead"},
		{[]string{"--demo", "--backend", "disk:" + root}, "--demo crawls the demonstration store; it takes no --backend or --plugin"},
		{[]string{"--demo", "--plugin", "/bin/true"}, "it takes no --backend or --plugin"},
	} {
		code, _, errOut := run(t, append([]string{"crawl", "--once", "--fast", "--progress", "none"}, c.args...)...)
		if code != exitUsage || !strings.Contains(errOut, c.msg) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", c.args, code, errOut, c.msg)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("a refused crawl wrote %v", ents)
	}
	if code, _, errOut := run(t, "status"); code != exitUsage || !strings.Contains(errOut, "no --state-dir given, and neither ./sharestore-state") {
		t.Fatalf("status with no state: %d %q", code, errOut)
	}
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}
