//go:build unix

package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sharestore/sharestore/internal/logging"
)

// The daemon's handlers, in process with httptest, over crawlers that
// ran one cycle: every endpoint answers, /status.json is the status of
// the running crawlers, and while the crawlers restart the status
// endpoints say so with 503 while /healthz stays 200.
func TestServeHandlers(t *testing.T) {
	store := sampleStore(t)
	e := &env{stdout: io.Discard, stderr: &bytes.Buffer{}, logger: logging.Discard()}
	d := &daemon{e: e, logger: e.logger, requests: newRequestMetrics()}
	f := crawlFlags{backend: "disk:" + store, stateDir: t.TempDir(), which: "all", inFlight: 1, fast: true, once: true}
	ctx := context.Background()
	set, err := d.open(ctx, serveSpec{crawl: f})
	if err != nil {
		t.Fatal(err)
	}
	defer d.closeCurrent()
	for i, err := range set.run.run(ctx, e, "none", true, &set.listed) {
		if err != nil {
			t.Fatalf("%s: %v", set.run.names[i], err)
		}
	}
	srv := httptest.NewServer(d.handler())
	defer srv.Close()
	get := func(path string) (int, string, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	for _, c := range []struct {
		path, ctype, body string
		code              int
	}{
		{"/healthz", "text/plain", "ok", 200},
		{"/readyz", "text/plain", "ready", 200},
		{"/status.json", "application/json", `"lease-checker"`, 200},
		{"/storage?t=json", "application/json", `"bucket-counter"`, 200},
		{"/storage", "text/plain", "t=json", 404},
		{"/metrics", "text/plain", "sharestore_accounting_shares_added_total", 200},
		{"/", "text/html", `id="lease-age-chart"`, 200},
		{"/elsewhere", "text/plain", "not found", 404},
	} {
		code, ctype, body := get(c.path)
		if code != c.code || !strings.HasPrefix(ctype, c.ctype) || !strings.Contains(body, c.body) {
			t.Errorf("GET %s: %d %s, want %d %s with %q:\n%.300s", c.path, code, ctype, c.code, c.ctype, c.body, body)
		}
	}
	_, _, body := get("/status.json")
	var served statusJSON
	if err := json.Unmarshal([]byte(body), &served); err != nil {
		t.Fatal(err)
	}
	want, err := set.status(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !equalJSON(served.LeaseChecker.History, want.LeaseChecker.History) || *served.BucketCounter.LastCompleteCount != *want.BucketCounter.LastCompleteCount {
		t.Errorf("/status.json is not the crawlers' status")
	}

	d.closeCurrent() // as during a SIGHUP restart
	for _, path := range []string{"/readyz", "/status.json", "/storage?t=json", "/"} {
		if code, _, body := get(path); code != http.StatusServiceUnavailable || !strings.Contains(body, "restarting") {
			t.Errorf("GET %s while restarting: %d %s", path, code, body)
		}
	}
	if code, _, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz while restarting: %d", code)
	}
}
