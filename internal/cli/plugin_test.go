package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

var (
	diskPluginOnce sync.Once
	diskPluginPath string
	diskPluginErr  error
)

// buildDiskPlugin builds sharestore-backend-disk once per test binary.
func buildDiskPlugin(t *testing.T) string {
	t.Helper()
	diskPluginOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sharestore-cli-plugin")
		if err != nil {
			diskPluginErr = err
			return
		}
		diskPluginPath = filepath.Join(dir, "sharestore-backend-disk")
		out, err := exec.Command("go", "build", "-o", diskPluginPath, "github.com/sharestore/sharestore/cmd/sharestore-backend-disk").CombinedOutput()
		if err != nil {
			diskPluginErr = err
			t.Logf("%s", out)
		}
	})
	if diskPluginErr != nil {
		t.Fatalf("building the disk plugin: %v", diskPluginErr)
	}
	return diskPluginPath
}

// TestLsThroughPlugin checks that ls --plugin prints exactly what ls
// prints in process, and that --plugin-sha256 refuses a mismatch.
func TestLsThroughPlugin(t *testing.T) {
	bin := buildDiskPlugin(t)
	root, _ := buildTahoeStore(t)
	code, want, errOut := run(t, "ls", "--backend", "disk:"+root, "--json")
	if code != 0 {
		t.Fatalf("ls in process: exit %d: %s", code, errOut)
	}
	code, got, errOut := run(t, "ls", "--backend", "disk:"+root, "--json", "--plugin", bin)
	if code != 0 {
		t.Fatalf("ls --plugin: exit %d: %s", code, errOut)
	}
	if got != want {
		t.Fatalf("ls --plugin printed\n%s\nin process:\n%s", got, want)
	}
	code, _, errOut = run(t, "ls", "--backend", "disk:"+root, "--plugin", bin, "--plugin-sha256", strings.Repeat("00", 32))
	if code != 2 || !strings.Contains(errOut, bin) || !strings.Contains(errOut, "SHA-256") {
		t.Fatalf("ls with a wrong pin: exit %d: %s", code, errOut)
	}
	code, _, errOut = run(t, "ls", "--backend", "disk:"+root, "--plugin-sha256", strings.Repeat("00", 32))
	if code != 2 {
		t.Fatalf("--plugin-sha256 without --plugin: exit %d: %s", code, errOut)
	}
}

// TestCrawlThroughPlugin runs one crawl cycle through the disk plugin,
// with the host one processor short (plugin.HostGOMAXPROCS).
func TestCrawlThroughPlugin(t *testing.T) {
	bin := buildDiskPlugin(t)
	root, _ := buildTahoeStore(t)
	t.Setenv("GOMAXPROCS", "")
	t.Cleanup(func() { runtime.GOMAXPROCS(startProcs) })
	code, out, errOut := run(t, "crawl", "--once", "--fast", "--progress", "none", "--json",
		"--backend", "disk:"+root, "--state-dir", t.TempDir(), "--plugin", bin)
	if code != 0 {
		t.Fatalf("crawl --plugin: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "\"examined") && !strings.Contains(out, "examined") {
		t.Fatalf("crawl --plugin report lacks the examined counts:\n%s", out)
	}
	if got, want := runtime.GOMAXPROCS(0), max(1, startProcs-1); got != want {
		t.Errorf("GOMAXPROCS after crawl --plugin = %d, want %d (started with %d)", got, want, startProcs)
	}
	// A GOMAXPROCS set by the operator stays as it is.
	runtime.GOMAXPROCS(startProcs)
	t.Setenv("GOMAXPROCS", strconv.Itoa(startProcs))
	code, out, errOut = run(t, "crawl", "--once", "--fast", "--progress", "none",
		"--backend", "disk:"+root, "--state-dir", t.TempDir(), "--plugin", bin)
	if code != 0 {
		t.Fatalf("crawl --plugin with GOMAXPROCS set: exit %d\n%s\n%s", code, out, errOut)
	}
	if got := runtime.GOMAXPROCS(0); got != startProcs {
		t.Errorf("GOMAXPROCS=%d in the environment, but crawl --plugin set %d", startProcs, got)
	}
}

// TestMkbucketThroughPlugin checks that mkbucket --plugin has the plugin
// create its store (here the disk plugin, a storage directory), and
// fails clearly on a wrong pin, a pin without a plugin and a binary that
// is not there.
func TestMkbucketThroughPlugin(t *testing.T) {
	bin := buildDiskPlugin(t)
	root := filepath.Join(t.TempDir(), "new", "storage")
	code, out, errOut := run(t, "mkbucket", "--plugin", bin, "--backend", "disk:"+root)
	if code != 0 || out != "disk:"+root+" is ready\n" {
		t.Fatalf("mkbucket --plugin: exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	if fi, err := os.Stat(filepath.Join(root, "shares")); err != nil || !fi.IsDir() {
		t.Fatalf("the plugin did not create %s/shares: %v", root, err)
	}
	if code, out, errOut := run(t, "ls", "--backend", "disk:"+root, "--json"); code != 0 || out != "" {
		t.Fatalf("ls of the new store: exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"wrong pin", []string{"--plugin", bin, "--plugin-sha256", strings.Repeat("00", 32)}, "SHA-256"},
		{"pin without plugin", []string{"--plugin-sha256", strings.Repeat("00", 32)}, "--plugin-sha256 needs --plugin"},
		{"missing binary", []string{"--plugin", bin + ".missing"}, bin + ".missing"},
	} {
		other := filepath.Join(t.TempDir(), "other")
		args := append([]string{"mkbucket", "--backend", "disk:" + other}, tc.args...)
		code, _, errOut := run(t, args...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 naming %q", tc.name, code, errOut, tc.want)
		}
		if _, err := os.Stat(other); err == nil {
			t.Errorf("%s: %s was created", tc.name, other)
		}
	}
}

// TestCopyThroughPlugins copies a Tahoe store into a fresh store served
// by the disk plugin (--to-plugin) and back out through it
// (--from-plugin): both copies list exactly as the source does, a second
// copy skips every share, and a wrong pin on either side copies nothing.
func TestCopyThroughPlugins(t *testing.T) {
	bin := buildDiskPlugin(t)
	root, _ := buildTahoeStore(t)
	code, want, errOut := run(t, "ls", "--backend", "disk:"+root, "--json")
	if code != 0 || want == "" {
		t.Fatalf("ls of the source: exit %d, stdout %q, stderr %s", code, want, errOut)
	}
	n := strings.Count(want, "\n")
	mid := filepath.Join(t.TempDir(), "mid")
	code, out, errOut := run(t, "copy", "--from", "disk:"+root, "--to", "disk:"+mid, "--to-plugin", bin)
	if code != 0 || !strings.Contains(out, "copied "+itoa(n)+" shares") {
		t.Fatalf("copy --to-plugin: exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	if code, got, errOut := run(t, "ls", "--backend", "disk:"+mid, "--json"); code != 0 || got != want {
		t.Fatalf("after copy --to-plugin, ls: exit %d, stderr %s\n%s\nwant\n%s", code, errOut, got, want)
	}
	code, out, errOut = run(t, "copy", "--from", "disk:"+root, "--to", "disk:"+mid, "--to-plugin", bin)
	if code != 0 || !strings.Contains(out, "copied 0 shares") || !strings.Contains(out, "skipped "+itoa(n)) {
		t.Fatalf("second copy --to-plugin: exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	back := filepath.Join(t.TempDir(), "back")
	code, out, errOut = run(t, "copy", "--from", "disk:"+mid, "--from-plugin", bin, "--to", "disk:"+back)
	if code != 0 || !strings.Contains(out, "copied "+itoa(n)+" shares") {
		t.Fatalf("copy --from-plugin: exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	if code, got, errOut := run(t, "ls", "--backend", "disk:"+back, "--json"); code != 0 || got != want {
		t.Fatalf("after copy --from-plugin, ls: exit %d, stderr %s\n%s\nwant\n%s", code, errOut, got, want)
	}
	pin := strings.Repeat("00", 32)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"wrong source pin", []string{"--from-plugin", bin, "--from-plugin-sha256", pin}, "SHA-256"},
		{"wrong destination pin", []string{"--to-plugin", bin, "--to-plugin-sha256", pin}, "SHA-256"},
		{"destination pin without plugin", []string{"--to-plugin-sha256", pin}, "--to-plugin-sha256 needs --to-plugin"},
		{"bad source pin", []string{"--from-plugin", bin, "--from-plugin-sha256", "xyz"}, "--from-plugin-sha256 \"xyz\": want 64 hex digits"},
	} {
		dst := filepath.Join(t.TempDir(), "dst")
		args := append([]string{"copy", "--from", "disk:" + root, "--to", "disk:" + dst}, tc.args...)
		code, _, errOut := run(t, args...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 naming %q", tc.name, code, errOut, tc.want)
		}
		if _, err := os.Stat(dst); err == nil {
			t.Errorf("%s: %s was created", tc.name, dst)
		}
	}
}
