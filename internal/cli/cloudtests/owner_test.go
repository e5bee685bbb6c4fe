package cloudtests

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// crawlReport is the part of crawl --json these tests read.
type crawlReport struct {
	Accounting struct {
		Deleted map[string]int64 `json:"deleted"`
	} `json:"accounting"`
	Deletion struct {
		Held string `json:"deletion-held"`
	} `json:"deletion"`
}

func crawl(t *testing.T, args ...string) (crawlReport, string) {
	t.Helper()
	out, errOut := run(t, append([]string{"crawl", "--once", "--fast", "--json", "--progress", "none"}, args...)...)
	var r crawlReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("crawl report: %v\n%s", err, out)
	}
	return r, errOut
}

// Two state directories on one bucket: the first claims the store, and
// the second, although every lease in its own lease database expires,
// deletes nothing of it; the owner then can.
func TestSecondStateDirNeverDeletesInABucket(t *testing.T) {
	src := "disk:" + diskStore(t)
	for _, c := range clouds() {
		t.Run(c.name, func(t *testing.T) {
			dst := strings.Replace(c.url(t), "copy-test/server1", "owner-test/server2", 1)
			run(t, "mkbucket", "--backend", dst)
			run(t, "copy", "--from", src, "--to", dst)
			before := records(t, dst)
			a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
			expire := []string{"--expire-mode", "cutoff-date", "--expire-cutoff-date", "2999-01-01", "--allow-future-cutoff", "--max-delete-percent", "100"}

			crawl(t, "--backend", dst, "--state-dir", a)
			crawl(t, "--backend", dst, "--state-dir", b)
			r, errOut := crawl(t, append([]string{"--backend", dst, "--state-dir", b}, expire...)...)
			if r.Accounting.Deleted["total"] != 0 || records(t, dst) != before {
				t.Fatalf("the second state directory deleted %d shares of the bucket", r.Accounting.Deleted["total"])
			}
			if !strings.Contains(errOut, "owned by state directory "+a) || !strings.Contains(r.Deletion.Held, a) {
				t.Errorf("the second crawl does not name the owner %s:\n%s", a, errOut)
			}
			r, _ = crawl(t, append([]string{"--backend", dst, "--state-dir", a}, expire...)...)
			if r.Accounting.Deleted["total"] == 0 || r.Accounting.Deleted["corrupt"] != 0 {
				t.Fatalf("the owner deleted %v; want every non-corrupt share", r.Accounting.Deleted)
			}
		})
	}
}
