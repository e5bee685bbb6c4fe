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
// the cloud plugin, under list_plan=prefix (a LIST per prefix) and under
// the default plan (auto, which lists this small store in one range: a
// LIST per 1000 keys, plus a range listing started again wherever the
// crawl falls more than the scan's MaxAge behind its listing, so the
// number depends on the machine's speed and is bounded, not exact). A
// first accounting cycle lists the store once,
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
		for _, cell := range []struct {
			via, plan string
			inFlight  int
		}{{"in-process", "auto", 1}, {"plugin", "auto", 1}, {"in-process", "prefix", 1}, {"plugin", "prefix", 1}} {
			via, name := cell.via, cell.plan
			if cell.inFlight > 1 {
				name += fmt.Sprintf("-in-flight-%d", cell.inFlight)
			}
			t.Run(c.name+"/"+via+"/"+name, func(t *testing.T) {
				url := strings.Replace(c.url(t), "copy-test/server1", "requests-test/"+via+"-"+name, 1)
				if cell.plan != "auto" {
					sep := "?"
					if strings.Contains(url, "?") {
						sep = "&"
					}
					url += sep + "list_plan=" + cell.plan
				}
				run(t, "mkbucket", "--backend", url)
				run(t, "copy", "--from", src, "--to", url)
				args := []string{"--backend", url, "--state-dir", filepath.Join(t.TempDir(), "state")}
				if via == "plugin" {
					args = append(args, "--plugin", bin)
				}
				if cell.inFlight > 1 {
					args = append(args, "--prefixes-in-flight", fmt.Sprint(cell.inFlight))
				}
				first := crawlRequests(t, args...)
				shares, corrupt := first.Accounting.Shares["total"], int64(len(first.Accounting.Corrupt))
				if shares == 0 {
					t.Fatal("the first cycle saw no shares")
				}
				// check compares a cycle's counts with the GETs and the
				// LISTs (besides those of the corrupt shares' re-reads,
				// extra) it should make: exactly one per prefix under
				// list_plan=prefix; under auto at least one per 1000
				// objects (each share is one object here) and fewer than
				// a quarter of the prefix plan's.
				check := func(what string, got sharestore.StoreRequests, extra, gets int64) {
					t.Helper()
					lists, canceled := int64(sharestore.NumPrefixes), int64(0)
					if cell.plan == "auto" {
						// A range listing started again abandons the
						// next page it had asked for: canceled.
						canceled = got[sharestore.StoreList].Canceled
						lists = got[sharestore.StoreList].OK - extra
						if least := (shares + corrupt + 999) / 1000; lists < least || lists >= sharestore.NumPrefixes/4 {
							t.Errorf("%s made %d LISTs; want at least %d and under %d", what, lists, least, sharestore.NumPrefixes/4)
						}
					}
					want := sharestore.StoreRequests{sharestore.StoreList: {OK: lists + extra, Canceled: canceled}, sharestore.StoreGet: {OK: gets}}
					if !same(got, want) {
						t.Errorf("%s over %d shares made %v, want %v", what, shares, got, want)
					}
				}
				check("first accounting cycle", first.Accounting.Requests, corrupt, shares+corrupt+1)
				check("bucket count", first.Buckets.Requests, 0, 0)
				steady := crawlRequests(t, args...)
				check("steady accounting cycle", steady.Accounting.Requests, 0, 1)
				steadyWant := steady.Accounting.Requests

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
