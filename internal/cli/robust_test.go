//go:build unix

package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/crawler"
	"github.com/sharestore/sharestore/leasedb"
)

// The subprocess entry point: with SHARESTORE_CLI_ARGS set, the test
// binary runs Main with those arguments (a JSON array) and exits.
func TestCLISubprocess(t *testing.T) {
	env, ok := os.LookupEnv("SHARESTORE_CLI_ARGS")
	if !ok {
		t.Skip("only runs as a subprocess")
	}
	var args []string
	if err := json.Unmarshal([]byte(env), &args); err != nil {
		t.Fatal(err)
	}
	os.Exit(Main(args, os.Stdin, os.Stdout, os.Stderr))
}

// subprocessEnv is the environment that makes the test binary run the
// CLI with args.
func subprocessEnv(args ...string) []string {
	b, _ := json.Marshal(args)
	return append(os.Environ(), "SHARESTORE_CLI_ARGS="+string(b))
}

// nobody is the unprivileged user a root test runs the CLI as, so that
// file permissions apply.
const nobody = 65534

var (
	exeOnce sync.Once
	exePath string
	exeErr  error
)

// subprocessExe returns the test binary, copied where an unprivileged
// user can run it when the tests run as root.
func subprocessExe(t *testing.T) string {
	t.Helper()
	exeOnce.Do(func() {
		exePath, exeErr = os.Executable()
		if exeErr != nil || os.Geteuid() != 0 {
			return
		}
		var dir string
		if dir, exeErr = os.MkdirTemp("", "sharestore-cli-exe-"); exeErr != nil {
			return
		}
		os.Chmod(dir, 0o755)
		var b []byte
		if b, exeErr = os.ReadFile(exePath); exeErr != nil {
			return
		}
		exePath = filepath.Join(dir, "cli.test")
		exeErr = os.WriteFile(exePath, b, 0o755)
	})
	if exeErr != nil {
		t.Fatal(exeErr)
	}
	return exePath
}

type subResult struct {
	code           int
	stdout, stderr string
}

// runSub runs the CLI with args in a subprocess in dir, as nobody when
// asNobody and the tests run as root, and kills it after timeout: the
// code before the fixes hung or retried for ever.
func runSub(t *testing.T, dir string, timeout time.Duration, asNobody bool, args ...string) subResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, subprocessExe(t), "-test.run=^TestCLISubprocess$")
	cmd.Dir = dir
	cmd.Env = subprocessEnv(args...)
	if asNobody && os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("sharestore %v did not exit within %v: it hangs\nstderr:\n%s", args, timeout, clip(errb.String()))
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return subResult{code, out.String(), errb.String()}
}

func clip(s string) string {
	if len(s) > 4000 {
		return s[:2000] + "\n…\n" + s[len(s)-2000:]
	}
	return s
}

// Acceptance of issue 11: the crash-state reproduction of the
// bucket-counter hang (a state file without results, as SIGKILL leaves
// it) exits cleanly.
func TestCrawlBucketCounterCrashStateExits(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, defaultDataDir, "state")
	if err := os.MkdirAll(state, 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-time.Second)
	crash := fmt.Sprintf(`{"version":1,"crawler":%q,"current_cycle":0,"cycle_id":"0@%d","cycle_start":%q,"last_complete_prefix_index":40,"last_cycle_finished":null}`,
		crawler.BucketsName, start.UnixNano(), start.Format(time.RFC3339Nano))
	if err := os.WriteFile(filepath.Join(state, bucketsState), []byte(crash), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runSub(t, dir, 60*time.Second, false, "crawl", "--demo", "--once", "--fast", "--progress", "none")
	if r.code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", r.code, clip(r.stderr))
	}
	if strings.Contains(r.stderr, "WARNING") {
		t.Fatalf("a crash-time state is not damaged:\n%s", r.stderr)
	}
}

// Acceptance of issue 11: with one unreadable SI directory, crawl --once
// covers every other prefix, exits non-zero and names the failed prefix;
// status lists it. The test runs the crawl as an unprivileged user, for
// whom a mode-000 directory is really unreadable.
func TestCrawlUnreadableSIDirectory(t *testing.T) {
	root, shares := buildTahoeStore(t)
	state := filepath.Join(t.TempDir(), "state")
	os.Chmod(filepath.Dir(filepath.Dir(state)), 0o755) // the tests' temporary directory
	openUp(t, filepath.Dir(root))
	if err := os.Mkdir(state, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(state, 0o777)
	bad := shares[3].si // the mutable shareset
	badDir := filepath.Join(root, "shares", bad[:2], bad)
	if err := os.Chmod(badDir, 0); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(badDir, 0o755)
	if os.Geteuid() != 0 {
		if _, err := os.ReadDir(badDir); err == nil {
			t.Skip("cannot make a directory unreadable here")
		}
	}

	r := runSub(t, t.TempDir(), 90*time.Second, true, "crawl", "--once", "--fast", "--json", "--progress", "none",
		"--backend", "disk:"+root, "--state-dir", state)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\nstderr:\n%s", r.code, clip(r.stderr))
	}
	if !strings.Contains(r.stderr, "prefix "+bad[:2]) || !strings.Contains(r.stderr, bad) {
		t.Errorf("stderr does not name prefix %s and its SI directory:\n%s", bad[:2], clip(r.stderr))
	}
	var rep crawlReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, r.stdout)
	}
	f := rep.FailedPrefixes["accounting"]
	if len(f) != 1 || string(f[0].Prefix) != bad[:2] || f[0].Class != "PERMISSION_DENIED" || f[0].Attempts != 1 {
		t.Fatalf("report's failed prefixes %+v", rep.FailedPrefixes)
	}
	if rep.Accounting == nil || rep.Accounting.Shares["total"] != int64(len(shares)-4) {
		t.Fatalf("report %+v", rep.Accounting)
	}

	// Every other share is in the lease database; none of the failed SI.
	ctx := context.Background()
	db, err := leasedb.Open(ctx, filepath.Join(state, leasedbFile), leasedb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range shares {
		_, err := db.LookupShare(ctx, mustSI(t, s.si), s.shnum)
		if s.si == bad {
			if err == nil {
				t.Errorf("share %s/%d of the unreadable directory recorded", s.si, s.shnum)
			}
		} else if err != nil {
			t.Errorf("share %s/%d not recorded: %v", s.si, s.shnum, err)
		}
	}

	code, out, errOut := run(t, "status", "--state-dir", state)
	if code != 0 || !strings.Contains(out, "Failed prefixes, not examined in the last cycle:") || !strings.Contains(out, "prefix "+bad[:2]+": PERMISSION_DENIED") {
		t.Fatalf("status %d:\n%s\n%s", code, out, errOut)
	}
	code, out, _ = run(t, "status", "--state-dir", state, "--json")
	var st struct {
		Progress crawler.Progress `json:"lease-checker-progress"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || len(st.Progress.FailedPrefixes) != 1 || string(st.Progress.FailedPrefixes[0].Prefix) != bad[:2] {
		t.Fatalf("status --json %d:\n%s", code, out)
	}
}

func mustSI(t *testing.T, s string) sharestore.StorageIndex {
	t.Helper()
	si, err := sharestore.ParseStorageIndex(s)
	if err != nil {
		t.Fatal(err)
	}
	return si
}

// openUp makes everything under dir readable and writable by anyone, for
// a crawl run as another user.
func openUp(t *testing.T, dir string) {
	t.Helper()
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if fi.IsDir() {
			return os.Chmod(p, 0o777)
		}
		return os.Chmod(p, 0o666)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A signal ends the process within a bounded time: the first cancels the
// command, and if it has not returned within the grace period the
// process exits anyway with 128 plus the signal's number.
func TestSignalGraceBound(t *testing.T) {
	sigs := make(chan os.Signal, 2)
	exited := make(chan int, 1)
	var errb lockedBuffer
	ctx, stop := watchSignals(context.Background(), sigs, 10*time.Millisecond, &errb, func(code int) { exited <- code })
	defer stop()
	sigs <- syscall.SIGTERM
	<-ctx.Done() // the command is told to stop …
	// … and does not: the process exits after the grace period.
	if code := <-exited; code != 143 {
		t.Fatalf("exit %d, want 143", code)
	}
	if s := errb.String(); !strings.Contains(s, "stopping and saving the state") || !strings.Contains(s, "exiting anyway") {
		t.Fatalf("stderr %q", s)
	}
}

// A second signal exits at once.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	sigs := make(chan os.Signal, 2)
	exited := make(chan int, 1)
	var errb lockedBuffer
	ctx, stop := watchSignals(context.Background(), sigs, time.Hour, &errb, func(code int) { exited <- code })
	defer stop()
	sigs <- os.Interrupt
	<-ctx.Done()
	sigs <- os.Interrupt
	if code := <-exited; code != 130 {
		t.Fatalf("exit %d, want 130", code)
	}
	if s := errb.String(); !strings.Contains(s, "again: exiting at once") {
		t.Fatalf("stderr %q", s)
	}
}

// A command that stops in time is not cut short, and stop reports the
// signal so Main exits 128+n.
func TestSignalStopInTime(t *testing.T) {
	sigs := make(chan os.Signal, 2)
	var errb lockedBuffer
	ctx, stop := watchSignals(context.Background(), sigs, time.Hour, &errb, func(code int) { t.Errorf("exit(%d) called", code) })
	sigs <- syscall.SIGTERM
	<-ctx.Done()
	if sig := stop(); sig != syscall.SIGTERM || signalCode(sig) != 143 {
		t.Fatalf("stop returned %v", sig)
	}
	_, stop2 := watchSignals(context.Background(), sigs, time.Hour, &errb, func(int) {})
	if sig := stop2(); sig != nil {
		t.Fatalf("no signal, yet stop returned %v", sig)
	}
}

// SIGTERM stops a running crawl with exit 143, its state saved.
func TestCrawlSIGTERMExits143(t *testing.T) {
	dir := t.TempDir()
	exe := subprocessExe(t)
	cmd := exec.Command(exe, "-test.run=^TestCLISubprocess$")
	cmd.Dir = dir
	cmd.Env = subprocessEnv("crawl", "--demo", "--fast", "--progress", "none")
	var errb lockedBuffer
	cmd.Stderr = &errb
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	// The crawl saves its bucket-counter state after the first cycle
	// (within seconds on the sample store), then waits an hour.
	statePath := filepath.Join(dir, defaultDataDir, "state", bucketsState)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if st, ok, _ := crawler.ReadState(statePath, crawler.BucketsName); ok && st.LastCycleFinished != nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no complete cycle after 60s:\n%s", clip(errb.String()))
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-waited:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("SIGTERM did not end the crawl:\n%s", clip(errb.String()))
	}
	if code := cmd.ProcessState.ExitCode(); code != 143 {
		t.Fatalf("exit %d, want 143\n%s", code, clip(errb.String()))
	}
	if _, ok, err := crawler.ReadState(statePath, crawler.BucketsName); !ok || err != nil {
		t.Fatalf("state not saved: %v", err)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
