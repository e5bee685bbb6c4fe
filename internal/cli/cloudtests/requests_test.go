package cloudtests

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/internal/cli/clitest"
)

// requestsReport is the part of crawl --json that counts requests.
type requestsReport struct {
	Accounting struct {
		Shares   map[string]int64         `json:"shares"`
		Corrupt  []json.RawMessage        `json:"corrupt-shares"`
		Requests sharestore.StoreRequests `json:"store-requests"`
	} `json:"accounting"`
	Buckets struct {
		Requests sharestore.StoreRequests `json:"store-requests"`
	} `json:"buckets"`
}

func crawlRequests(t *testing.T, args ...string) requestsReport {
	t.Helper()
	out, _ := run(t, append([]string{"crawl", "--once", "--fast", "--json", "--progress", "none"}, args...)...)
	var r requestsReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("crawl report: %v\n%s", err, out)
	}
	return r
}

// crawl reports the store requests of each cycle, in process and through
// the cloud plugin. A first accounting cycle lists each prefix once,
// reads each share's header with one GET (a corrupt share is listed and
// read once more, in case the listing was stale) and reads the store's
// owner record once (the check that this state directory may delete); a
// steady one lists each prefix and reads the owner record, and the
// bucket counter only lists. status shows the last cycle's, in JSON and
// in text.
func TestCrawlReportsStoreRequests(t *testing.T) {
	src := "disk:" + diskStore(t)
	bin := clitest.CloudPlugin(t)
	for _, c := range clouds() {
		for _, via := range []string{"in-process", "plugin"} {
			t.Run(c.name+"/"+via, func(t *testing.T) {
				url := strings.Replace(c.url(t), "copy-test/server1", "requests-test/"+via, 1)
				run(t, "mkbucket", "--backend", url)
				run(t, "copy", "--from", src, "--to", url)
				args := []string{"--backend", url, "--state-dir", filepath.Join(t.TempDir(), "state")}
				if via == "plugin" {
					args = append(args, "--plugin", bin)
				}
				listOnly := sharestore.StoreRequests{sharestore.StoreList: {OK: sharestore.NumPrefixes}}

				first := crawlRequests(t, args...)
				shares, corrupt := first.Accounting.Shares["total"], int64(len(first.Accounting.Corrupt))
				want := sharestore.StoreRequests{sharestore.StoreList: {OK: sharestore.NumPrefixes + corrupt}, sharestore.StoreGet: {OK: shares + corrupt + 1}}
				steadyWant := sharestore.StoreRequests{sharestore.StoreList: {OK: sharestore.NumPrefixes}, sharestore.StoreGet: {OK: 1}}
				if shares == 0 || !same(first.Accounting.Requests, want) {
					t.Errorf("first accounting cycle over %d shares made %v, want %v", shares, first.Accounting.Requests, want)
				}
				if !same(first.Buckets.Requests, listOnly) {
					t.Errorf("bucket count made %v, want %v", first.Buckets.Requests, listOnly)
				}
				steady := crawlRequests(t, args...)
				if !same(steady.Accounting.Requests, steadyWant) {
					t.Errorf("steady accounting cycle made %v, want %v", steady.Accounting.Requests, steadyWant)
				}

				out, _ := run(t, "status", "--json", "--state-dir", args[3])
				var st struct {
					Progress struct {
						Last sharestore.StoreRequests `json:"last-cycle-store-requests"`
					} `json:"lease-checker-progress"`
				}
				if err := json.Unmarshal([]byte(out), &st); err != nil {
					t.Fatalf("status --json: %v\n%s", err, out)
				}
				if !same(st.Progress.Last, steadyWant) {
					t.Errorf("status --json shows %v for the last cycle, want %v", st.Progress.Last, steadyWant)
				}
				text, _ := run(t, "status", "--state-dir", args[3])
				if line := fmt.Sprintf("Store requests in the last cycle: %s", steadyWant); !strings.Contains(text, line) {
					t.Errorf("status does not say %q:\n%s", line, text)
				}
			})
		}
	}
}

// same reports whether a and b hold the same counts.
func same(a, b sharestore.StoreRequests) bool { return len(a.Sub(b)) == 0 }
