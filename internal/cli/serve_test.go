//go:build unix

package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sharestore/sharestore/backends/disk"
	"github.com/sharestore/sharestore/leasedb"
)

// sampleStore makes a disk store seeded with the demonstration's sample
// shares, and returns its path.
func sampleStore(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "storage")
	b, err := disk.Open(dir, disk.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := seedSamples(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	return dir
}

// daemonProc is a sharestore serve running in a subprocess.
type daemonProc struct {
	cmd  *exec.Cmd
	url  string        // http://HOST:PORT
	logs chan string   // its stderr, line by line
	done chan struct{} // closed when stderr ends
	log  strings.Builder
}

var listenLine = regexp.MustCompile(`listen=(http://\S+)/`)

// startDaemon starts sharestore serve with args (and --listen on a free
// loopback port) in a subprocess, and waits for it to listen.
func startDaemon(t *testing.T, args ...string) *daemonProc {
	t.Helper()
	args = append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)
	cmd := exec.Command(subprocessExe(t), "-test.run=^TestCLISubprocess$")
	cmd.Env = subprocessEnv(args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &daemonProc{cmd: cmd, logs: make(chan string, 1000), done: make(chan struct{})}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	go func() {
		defer close(d.done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			select {
			case d.logs <- sc.Text():
			default:
			}
		}
	}()
	deadline := time.After(60 * time.Second)
	for d.url == "" {
		select {
		case line := <-d.logs:
			d.log.WriteString(line + "\n")
			if m := listenLine.FindStringSubmatch(line); m != nil {
				d.url = m[1]
			}
		case <-d.done:
			t.Fatalf("serve %v exited before listening:\n%s", args, d.log.String())
		case <-deadline:
			t.Fatalf("serve %v did not listen within 60s:\n%s", args, d.log.String())
		}
	}
	return d
}

// status fetches the daemon's /status.json; it is empty while the
// crawlers restart (503).
func (d *daemonProc) status(t *testing.T) statusJSON {
	t.Helper()
	resp, err := http.Get(d.url + "/status.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st statusJSON
	if resp.StatusCode == http.StatusServiceUnavailable {
		return st
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// waitFor polls the daemon's status until ok accepts it.
func (d *daemonProc) waitFor(t *testing.T, what string, ok func(statusJSON) bool) statusJSON {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st := d.status(t)
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("the daemon never reached %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends SIGTERM and returns the exit code and the log.
func (d *daemonProc) stop(t *testing.T) (int, string) {
	t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	<-d.done
	for {
		select {
		case line := <-d.logs:
			d.log.WriteString(line + "\n")
			continue
		default:
		}
		break
	}
	err := d.cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), d.log.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, d.log.String()
}

// accountingDone reports whether the accounting crawler has completed
// cycle n.
func accountingDone(n int) func(statusJSON) bool {
	return func(st statusJSON) bool {
		if st.LeaseChecker == nil {
			return false
		}
		_, ok := st.LeaseChecker.History[n]
		return ok
	}
}

// leaseRows is a lease database's shares rows and lease counts, without
// the times that differ from run to run.
func leaseRows(t *testing.T, path string) ([]leasedb.DumpShare, map[string]int) {
	t.Helper()
	d := dumpOf(t, "sqlite:"+path)
	leases := map[string]int{}
	for _, l := range d.Leases {
		leases[fmt.Sprintf("%s/%d", l.StorageIndex, l.Shnum)]++
	}
	return d.Shares, leases
}

// SIGTERM mid-cycle: the daemon exits 0 with its state saved, a restart
// resumes the cycle where it stopped (it does not start again), and the
// lease database it ends with is the one an undisturbed crawl makes.
func TestServeSIGTERMMidCycleResumes(t *testing.T) {
	store := sampleStore(t)
	state := t.TempDir()
	// --rate-limit stretches the cycle (at least 1024 listings) over
	// seconds, so that SIGTERM lands inside it.
	args := []string{"--backend", "disk:" + store, "--state-dir", state, "--fast", "--crawler", "accounting", "--rate-limit", "200"}
	d := startDaemon(t, args...)
	mid := d.waitFor(t, "the middle of its first cycle", func(st statusJSON) bool {
		p := st.LeaseCheckerProgress
		return p != nil && p.CycleInProgress && p.CompletePrefixes >= 100
	})
	code, log := d.stop(t)
	if code != 0 {
		t.Fatalf("SIGTERM: exit %d, want 0\n%s", code, log)
	}
	if !strings.Contains(log, "the state is saved") {
		t.Errorf("no word of the saved state:\n%s", log)
	}
	if _, ok := mid.LeaseChecker.History[0]; ok {
		t.Fatal("the cycle had completed before SIGTERM; the test proves nothing")
	}

	d = startDaemon(t, args...)
	first := d.status(t).LeaseCheckerProgress
	if first == nil || first.CompletePrefixes < mid.LeaseCheckerProgress.CompletePrefixes {
		t.Fatalf("the restart did not resume: progress %+v, before SIGTERM %+v", first, mid.LeaseCheckerProgress)
	}
	done := d.waitFor(t, "the end of its first cycle", accountingDone(0))
	if code, log := d.stop(t); code != 0 {
		t.Fatalf("second SIGTERM: exit %d\n%s", code, log)
	}
	h := done.LeaseChecker.History[0]

	// The same store, crawled once without interruption.
	undisturbed := t.TempDir()
	if code, _, errOut := run(t, "crawl", "--once", "--fast", "--crawler", "accounting", "--progress", "none", "--backend", "disk:"+store, "--state-dir", undisturbed); code != 0 {
		t.Fatalf("crawl: exit %d: %s", code, errOut)
	}
	gotShares, gotLeases := leaseRows(t, filepath.Join(state, leasedbFile))
	wantShares, wantLeases := leaseRows(t, filepath.Join(undisturbed, leasedbFile))
	if len(gotShares) == 0 || !equalJSON(gotShares, wantShares) || !equalJSON(gotLeases, wantLeases) {
		t.Fatalf("leasedb after SIGTERM and restart differs from an undisturbed crawl:\n got %d shares %v\nwant %d shares %v", len(gotShares), gotLeases, len(wantShares), wantLeases)
	}
	// Nothing counted twice: the resumed cycle examined every share once.
	if n := h.SpaceRecovered["examined-shares"]; n != int64(len(wantShares)) {
		t.Fatalf("the resumed cycle examined %d shares, the store holds %d", n, len(wantShares))
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// A second daemon on the same state directory refuses to start, naming
// the first; so does a crawl.
func TestServeSecondDaemonRefused(t *testing.T) {
	store := sampleStore(t)
	state := t.TempDir()
	d := startDaemon(t, "--backend", "disk:"+store, "--state-dir", state)
	pid := d.cmd.Process.Pid
	for _, args := range [][]string{
		{"serve", "--listen", "127.0.0.1:0", "--backend", "disk:" + store, "--state-dir", state},
		{"crawl", "--once", "--backend", "disk:" + store, "--state-dir", state},
	} {
		code, _, errOut := run(t, args...)
		if code != exitUsage || !strings.Contains(errOut, "in use by PID "+itoa(pid)+" (sharestore serve --backend") {
			t.Errorf("%s beside a daemon: exit %d, %s", args[0], code, errOut)
		}
	}
	if code, log := d.stop(t); code != 0 {
		t.Fatalf("exit %d\n%s", code, log)
	}
}

// The endpoints: health, readiness, and Tahoe's JSON at both paths,
// the same structure as "sharestore status --json".
func TestServeEndpoints(t *testing.T) {
	store := sampleStore(t)
	state := t.TempDir()
	d := startDaemon(t, "--backend", "disk:"+store, "--state-dir", state, "--fast")
	d.waitFor(t, "a complete cycle", accountingDone(0))
	get := func(path string) (int, string) {
		resp, err := http.Get(d.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/storage?t=json": 200, "/status.json": 200, "/storage": 404, "/nothing": 404} {
		if code, body := get(path); code != want {
			t.Errorf("GET %s: %d, want %d: %s", path, code, want, body)
		}
	}
	_, a := get("/storage?t=json")
	var keys map[string]json.RawMessage
	if err := json.Unmarshal([]byte(a), &keys); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"bucket-counter", "lease-checker", "lease-checker-progress"} {
		if len(keys[k]) == 0 || string(keys[k]) == "null" {
			t.Errorf("/storage?t=json lacks %s:\n%s", k, a)
		}
	}
	if code, log := d.stop(t); code != 0 {
		t.Fatalf("exit %d\n%s", code, log)
	}
	// After the daemon stops, status reads the same cycle from the
	// state directory.
	code, out, _ := run(t, "status", "--json", "--state-dir", state)
	var st statusJSON
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || st.LeaseChecker == nil || len(st.LeaseChecker.History) == 0 {
		t.Fatalf("status: %d %s", code, out)
	}
	var served statusJSON
	json.Unmarshal([]byte(a), &served)
	if !equalJSON(served.LeaseChecker.History[0], st.LeaseChecker.History[0]) {
		t.Errorf("/storage?t=json history[0] differs from status --json")
	}
}

// SIGHUP restarts the crawlers with everything reopened, and the daemon
// goes on serving; the restart resumes the cycle in progress.
func TestServeSIGHUPRestartsTheCrawlers(t *testing.T) {
	store := sampleStore(t)
	state := t.TempDir()
	d := startDaemon(t, "--backend", "disk:"+store, "--state-dir", state, "--fast", "--crawler", "accounting", "--rate-limit", "200")
	before := d.waitFor(t, "prefixes done", func(st statusJSON) bool {
		p := st.LeaseCheckerProgress
		return p != nil && p.CycleInProgress && p.CompletePrefixes >= 50
	})
	d.cmd.Process.Signal(syscall.SIGHUP)
	restarted := false
	for line := range d.logs {
		d.log.WriteString(line + "\n")
		if strings.Contains(line, "SIGHUP: stopping the crawlers") {
			restarted = true
			break
		}
	}
	if !restarted {
		t.Fatalf("no restart logged:\n%s", d.log.String())
	}
	after := d.waitFor(t, "the restarted crawler answering", func(st statusJSON) bool { return st.LeaseCheckerProgress != nil })
	if after.LeaseCheckerProgress.CompletePrefixes < before.LeaseCheckerProgress.CompletePrefixes {
		t.Fatalf("after SIGHUP the cycle started again: %d prefixes, %d before", after.LeaseCheckerProgress.CompletePrefixes, before.LeaseCheckerProgress.CompletePrefixes)
	}
	d.waitFor(t, "the end of its first cycle", accountingDone(0))
	if code, log := d.stop(t); code != 0 {
		t.Fatalf("exit %d\n%s", code, log)
	}
}

// /metrics is Prometheus text that parses, passes client_golang's
// linter, carries the Go and process collectors, and agrees with
// /storage?t=json on what the cycle found.
func TestServeMetrics(t *testing.T) {
	store := sampleStore(t)
	d := startDaemon(t, "--backend", "disk:"+store, "--state-dir", t.TempDir(), "--fast")
	st := d.waitFor(t, "a complete accounting cycle and bucket count", func(st statusJSON) bool {
		return accountingDone(0)(st) && st.BucketCounter != nil && st.BucketCounter.LastCompleteCount != nil
	})
	resp, err := http.Get(d.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	problems, err := promlint.New(strings.NewReader(string(body))).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "sharestore_") {
			t.Errorf("lint: %s: %s", p.Metric, p.Text)
		}
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	value := func(name string, labels ...string) float64 {
		t.Helper()
		f := fams[name]
		if f == nil {
			t.Fatalf("no %s in /metrics", name)
		}
	metrics:
		for _, m := range f.Metric {
			for i := 0; i < len(labels); i += 2 {
				found := false
				for _, l := range m.Label {
					found = found || (l.GetName() == labels[i] && l.GetValue() == labels[i+1])
				}
				if !found {
					continue metrics
				}
			}
			switch {
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Counter != nil:
				return m.Counter.GetValue()
			}
		}
		t.Fatalf("no %s%v in /metrics", name, labels)
		return 0
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if fams[name] == nil {
			t.Errorf("no %s: the Go and process collectors are missing", name)
		}
	}
	h := st.LeaseChecker.History[0].SpaceRecovered
	for _, c := range []struct {
		metric string
		labels []string
		want   int64
	}{
		{"sharestore_accounting_examined_shares", []string{"type", "immutable"}, h["examined-shares-immutable"]},
		{"sharestore_accounting_examined_shares", []string{"type", "mutable"}, h["examined-shares-mutable"]},
		{"sharestore_accounting_examined_sharesets", []string{"type", "immutable"}, h["examined-buckets-immutable"]},
		{"sharestore_accounting_examined_bytes", []string{"type", "mutable"}, h["examined-diskbytes-mutable"]},
		{"sharestore_accounting_corrupt_shares", nil, st.LeaseChecker.History[0].CorruptCount},
		{"sharestore_accounting_shares_added_total", nil, h["added"]},
		{"sharestore_buckets_sharesets", nil, *st.BucketCounter.LastCompleteCount},
		{"sharestore_crawler_cycle", []string{"crawler", "accounting"}, 0},
	} {
		if got := value(c.metric, c.labels...); got != float64(c.want) {
			t.Errorf("%s%v = %v, /storage?t=json says %d", c.metric, c.labels, got, c.want)
		}
	}
	// Two cycles of 1024 prefixes: at least one request per prefix each,
	// all timed.
	var requests, timed uint64
	for _, m := range fams["sharestore_backend_requests_total"].GetMetric() {
		requests += uint64(m.Counter.GetValue())
	}
	for _, m := range fams["sharestore_backend_request_duration_seconds"].GetMetric() {
		timed += m.Histogram.GetSampleCount()
	}
	if requests < 2048 || timed != requests {
		t.Errorf("%d backend requests counted, %d timed; want at least 2048, all timed", requests, timed)
	}
	// The cycle wrote the leasedb and the status read it.
	tx := map[string]uint64{}
	for _, m := range fams["sharestore_leasedb_transaction_duration_seconds"].GetMetric() {
		for _, l := range m.Label {
			if l.GetName() == "kind" {
				tx[l.GetValue()] = m.Histogram.GetSampleCount()
			}
		}
	}
	if tx["write"] == 0 || tx["read"] == 0 {
		t.Errorf("leasedb transactions timed: %v; want reads and writes", tx)
	}
	if h["added"] == 0 || h["examined-shares-mutable"] == 0 {
		t.Fatalf("the sample store's cycle found nothing: %v", h)
	}
	d.stop(t)
}

// The status page shows, after a cycle, the crawlers, the lease-age
// chart (its bars add up to the cycle's histogram), the corrupt shares
// and the history, all from the binary (no external reference).
func TestServePage(t *testing.T) {
	store := sampleStore(t)
	d := startDaemon(t, "--backend", "disk:"+store, "--state-dir", t.TempDir(), "--fast")
	st := d.waitFor(t, "a complete accounting cycle", accountingDone(0))
	resp, err := http.Get(d.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(b)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	h := st.LeaseChecker.History[0]
	var leases int64
	for _, bucket := range h.Histogram {
		leases += bucket[2]
	}
	var drawn int64
	for _, m := range regexp.MustCompile(`class="bucket"[^>]*data-count="(\d+)"`).FindAllStringSubmatch(page, -1) {
		var n int64
		fmt.Sscan(m[1], &n)
		drawn += n
	}
	if leases == 0 || drawn != leases {
		t.Errorf("the chart draws %d leases, the cycle's histogram holds %d", drawn, leases)
	}
	for _, want := range []string{
		`data-name="accounting"`, `data-name="buckets"`, `id="lease-age-chart"`,
		"Last complete accounting cycle (0)", `id="history"`, `id="capabilities"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	for _, c := range h.Corrupt {
		if !strings.Contains(page, c.SI) {
			t.Errorf("corrupt share %s/%d not shown", c.SI, c.Shnum)
		}
	}
	if len(h.Corrupt) == 0 {
		t.Fatal("the sample store has corrupt shares; the cycle found none")
	}
	if regexp.MustCompile(`(src|href)="(https?:)?//`).MatchString(page) {
		t.Error("the page refers to something outside the binary")
	}
	d.stop(t)
}

// A plugin that dies is restarted by the supervisor, and /metrics counts
// the restart.
func TestServeCountsPluginRestarts(t *testing.T) {
	store := sampleStore(t)
	d := startDaemon(t, "--plugin", buildDiskPlugin(t), "--backend", "disk:"+store, "--state-dir", t.TempDir(), "--fast", "--crawler", "accounting", "--rate-limit", "100")
	d.waitFor(t, "a cycle under way", func(st statusJSON) bool {
		p := st.LeaseCheckerProgress
		return p != nil && p.CycleInProgress && p.CompletePrefixes > 0
	})
	if got := d.metric(t, "sharestore_plugin_restarts_total"); got != 0 {
		t.Fatalf("restarts before any death: %v", got)
	}
	// The daemon's children, whichever of its threads started them.
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", d.cmd.Process.Pid))
	var kids []byte
	for _, task := range tasks {
		b, _ := os.ReadFile(task)
		kids = append(append(kids, b...), ' ')
	}
	killed := 0
	for _, f := range strings.Fields(string(kids)) {
		pid, _ := strconv.Atoi(f)
		if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); strings.Contains(exe, "sharestore-backend-disk") {
			syscall.Kill(pid, syscall.SIGKILL)
			killed++
		}
	}
	if killed != 1 {
		t.Fatalf("found %d plugin processes among the daemon's children %q", killed, kids)
	}
	deadline := time.Now().Add(time.Minute)
	for d.metric(t, "sharestore_plugin_restarts_total") < 1 {
		if time.Now().After(deadline) {
			t.Fatal("the plugin's death was never counted")
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.waitFor(t, "the end of the cycle", accountingDone(0))
	resp, err := http.Get(d.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if m := regexp.MustCompile(`id="plugin-restarts">(\d+)<`).FindSubmatch(page); m == nil || string(m[1]) == "0" {
		t.Errorf("the status page does not show the plugin's restart")
	}
	if code, log := d.stop(t); code != 0 {
		t.Fatalf("exit %d\n%s", code, log)
	}
}

// metric returns the value of the unlabelled metric name in /metrics.
func (d *daemonProc) metric(t *testing.T, name string) float64 {
	t.Helper()
	resp, err := http.Get(d.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no %s in /metrics", name)
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
