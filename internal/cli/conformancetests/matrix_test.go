// Package conformancetests runs the product that certifies backends,
// sharestore conformance, over every backend this repository ships, in
// process and through its plugin binary, on the cloud emulators: the
// matrix make test gates on. Each cell's JUnit file and summary go into
// the folder SHARESTORE_CONFORMANCE_DIR names (make test sets it and
// prints the summaries), or into a temporary one.
package conformancetests

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sharestore/sharestore/internal/cli"
	"github.com/sharestore/sharestore/internal/emulators"
)

func TestMain(m *testing.M) { os.Exit(emulators.Run(m)) }

// DirEnv names the folder for the JUnit files and summaries.
const DirEnv = "SHARESTORE_CONFORMANCE_DIR"

// resultsDir is where a cell writes its reports: DirEnv's folder, or
// one temporary folder for the whole test binary.
func resultsDir(t *testing.T) string {
	tmpOnce.Do(func() {
		if d := os.Getenv(DirEnv); d != "" {
			tmpDir, tmpErr = d, os.MkdirAll(d, 0o755)
			return
		}
		tmpDir, tmpErr = os.MkdirTemp("", "sharestore-conformance-results")
	})
	if tmpErr != nil {
		t.Fatal(tmpErr)
	}
	return tmpDir
}

var (
	tmpOnce sync.Once
	tmpDir  string
	tmpErr  error
)

// certify runs sharestore conformance with args as the cell name, saves
// its JUnit file and summary, and returns the exit code and the output.
func certify(t *testing.T, name string, args ...string) (int, string, string) {
	t.Helper()
	dir := resultsDir(t)
	junit := filepath.Join(dir, name+".xml")
	args = append([]string{"conformance", "--short", "--parallel", "4", "--junit", junit}, args...)
	var out, errb bytes.Buffer
	code := cli.Main(args, strings.NewReader(""), &out, &errb)
	os.WriteFile(filepath.Join(dir, name+".txt"), []byte("== "+name+"\n"+out.String()), 0o644)
	return code, out.String(), errb.String()
}

// mustPass runs a cell that must exit 0, and returns its summary.
func mustPass(t *testing.T, name string, args ...string) string {
	t.Helper()
	code, out, errOut := certify(t, name, args...)
	if code != 0 {
		t.Fatalf("sharestore conformance %s: exit %d\n%s\n%s", strings.Join(args, " "), code, out, errOut)
	}
	if !strings.Contains(out, "PASS: ") {
		t.Errorf("no verdict line in:\n%s", out)
	}
	return out
}

// cloud is one cloud backend on its emulator: the URL of a location for
// scratch stores (its bucket made), with the host's credentials set.
type cloud struct {
	name string
	url  func(t *testing.T) string
}

func clouds() []cloud {
	return []cloud{
		{"s3", func(t *testing.T) string {
			srv := emulators.Get(t, emulators.MinIO)
			t.Setenv("AWS_ACCESS_KEY_ID", emulators.MinIOUser)
			t.Setenv("AWS_SECRET_ACCESS_KEY", emulators.MinIOPassword)
			t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
			return mkbucket(t, "s3://conformance/"+t.Name()+"?region=us-east-1&path_style=true&endpoint="+srv.Endpoint)
		}},
		{"gcs", func(t *testing.T) string {
			srv := emulators.Get(t, emulators.FakeGCS)
			t.Setenv("STORAGE_EMULATOR_HOST", srv.Host)
			// fake-gcs-server scans the whole bucket to list: a bucket
			// per test keeps it fast.
			return "gs://conf-{scratch}/x"
		}},
		{"azure", func(t *testing.T) string {
			srv := emulators.Get(t, emulators.Azurite)
			t.Setenv("AZURE_STORAGE_ACCOUNT", emulators.AzuriteAccount)
			t.Setenv("AZURE_STORAGE_KEY", emulators.AzuriteAccountKey)
			return mkbucket(t, "azblob://conformance/"+t.Name()+"?endpoint="+srv.Endpoint+"/"+emulators.AzuriteAccount)
		}},
	}
}

func mkbucket(t *testing.T, url string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := cli.Main([]string{"mkbucket", "--backend", url}, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("mkbucket %s: exit %d: %s", url, code, errb.String())
	}
	return url
}

// The built-in backends pass in process: disk, and each cloud on its
// emulator; no scratch store is left behind.
func TestInProcess(t *testing.T) {
	t.Run("disk", func(t *testing.T) {
		base := t.TempDir()
		mustPass(t, "disk", "--backend", "disk:"+base)
		if left, _ := os.ReadDir(base); len(left) != 0 {
			t.Errorf("scratch stores left: %v", left)
		}
	})
	for _, c := range clouds() {
		t.Run(c.name, func(t *testing.T) {
			url := c.url(t)
			mustPass(t, c.name, "--backend", url)
			var out, errb bytes.Buffer
			cli.Main([]string{"ls", "--json", "--backend", url}, strings.NewReader(""), &out, &errb)
			if out.Len() != 0 {
				t.Errorf("shares left in the bucket after the run: %s", out.String())
			}
		})
	}
}

// binaries builds the plugin binaries once per test binary.
var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// pluginBin returns the path of the built cmd/NAME.
func pluginBin(t *testing.T, name string) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "sharestore-conformancetests")
		if buildErr != nil {
			return
		}
		args := []string{"build", "-o", binDir + "/"}
		for _, n := range []string{"disk", "s3", "gcs", "azure"} {
			args = append(args, "github.com/sharestore/sharestore/cmd/sharestore-backend-"+n)
		}
		if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, name)
}

// pluginSecrets gives each cloud plugin its credentials as plugin
// secrets, and takes them away from the host.
func pluginSecrets(t *testing.T, name string) {
	switch name {
	case "s3":
		t.Setenv("SHARESTORE_PLUGIN_SECRET_ACCESS_KEY_ID", emulators.MinIOUser)
		t.Setenv("SHARESTORE_PLUGIN_SECRET_SECRET_ACCESS_KEY", emulators.MinIOPassword)
	case "azure":
		t.Setenv("SHARESTORE_PLUGIN_SECRET_ACCOUNT_KEY", emulators.AzuriteAccountKey)
	}
}

// Every plugin binary of this repository passes through its plugin. The
// cloud plugins serve no harness: they are tested on scratch locations
// under --backend, and the planting tests skip.
func TestThroughPlugins(t *testing.T) {
	// The disk plugin serves its harness: the plugin makes each store
	// and plants into it, so nothing skips for want of planting.
	t.Run("disk", func(t *testing.T) {
		out := mustPass(t, "disk-plugin", "--plugin", pluginBin(t, "sharestore-backend-disk"))
		if strings.Contains(out, "plant") {
			t.Errorf("tests skipped for want of planting through the harness service:\n%s", out)
		}
	})
	for _, c := range clouds() {
		t.Run(c.name, func(t *testing.T) {
			url := c.url(t)
			pluginSecrets(t, c.name)
			mustPass(t, c.name+"-plugin", "--plugin", pluginBin(t, "sharestore-backend-"+c.name), "--backend", url, "--run", cloudPluginTests)
		})
	}
}

// cloudPluginTests selects what the cloud plugin cells run. Each cloud
// plugin's own tests (cmd/sharestore-backend-*) already run the whole
// suite through it, and TestInProcess runs it whole on the same scratch
// locations; these cells prove the command's plugin path for a plugin
// without a harness (scratch prefixes under --backend, secrets handed to
// the plugin, the scratch data removed), with a sample of each kind of
// test. The whole suite here took 16 minutes of the binary's 30.
const cloudPluginTests = `^(Backend/(Backend|Delete|Scan)/|Crawlers/(basic|dry-run)$)`

// exampleBin builds the example backend's plugin, in its own module,
// with the planted bug (none for ""), into t's temp dir.
func exampleBin(t *testing.T, bug string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "sharestore-backend-sqlite")
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-C", filepath.Join(root, "examples", "sqlitestore"), "-o", out, "-ldflags", "-X main.bug="+bug, "./cmd/sharestore-backend-sqlite")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the example plugin: %v\n%s", err, b)
	}
	return out
}

// failedCases returns the names of the failed testcases of a JUnit file.
func failedCases(t *testing.T, path string) map[string]bool {
	failed, _ := junitCases(t, path)
	return failed
}

// junitCases returns the names of the failed testcases of a JUnit file,
// and how many testcases it has.
func junitCases(t *testing.T, path string) (map[string]bool, int) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var j struct {
		Suites []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(raw, &j); err != nil {
		t.Fatalf("JUnit %s does not parse: %v", path, err)
	}
	out, n := map[string]bool{}, 0
	for _, s := range j.Suites {
		for _, c := range s.Cases {
			n++
			if c.Failure != nil {
				out[s.Name+"/"+c.Name] = true
			}
		}
	}
	return out, n
}

// The example third-party backend, built in its own module with its
// Harness handed to plugin.Serve, passes with no test skipped for want
// of planting. With a contract bug planted it fails, and the JUnit names
// the tests that catch the bug; with those tests in a known-failures
// file, it passes and reports them as known.
func TestExampleBackend(t *testing.T) {
	out := mustPass(t, "example-sqlite", "--plugin", exampleBin(t, ""))
	if strings.Contains(out, "plant") {
		t.Errorf("the example skipped tests for want of planting:\n%s", out)
	}
	if _, n := junitCases(t, filepath.Join(resultsDir(t), "example-sqlite.xml")); n < 150 {
		t.Errorf("the example's JUnit names %d testcases, want at least 150", n)
	}
	for _, c := range []struct{ bug, catcher string }{
		{"delete-prefix", "Backend/Delete/"},
		{"list-1000", "Backend/Listing/"},
	} {
		t.Run(c.bug, func(t *testing.T) {
			bin := exampleBin(t, c.bug)
			code, out, errOut := certify(t, "example-sqlite-"+c.bug, "--plugin", bin)
			if code != 1 {
				t.Fatalf("exit %d with the %s bug, want 1\n%s\n%s", code, c.bug, out, errOut)
			}
			failed := failedCases(t, filepath.Join(resultsDir(t), "example-sqlite-"+c.bug+".xml"))
			var names []string
			caught := false
			for n := range failed {
				names = append(names, n)
				caught = caught || strings.HasPrefix(n, c.catcher)
			}
			if !caught {
				t.Fatalf("no failing %s test names the %s bug; failed: %v", c.catcher, c.bug, names)
			}
			kf := filepath.Join(t.TempDir(), "known.txt")
			var lines string
			for _, n := range names {
				lines += n + "  the planted " + c.bug + " bug\n"
			}
			os.WriteFile(kf, []byte("# planted on purpose\n"+lines), 0o644)
			code, out, errOut = certify(t, "example-sqlite-"+c.bug+"-known", "--plugin", bin, "--known-failures", kf)
			if code != 0 || !strings.Contains(out, "known failure") {
				t.Fatalf("with the known failures: exit %d, want 0 and them reported\n%s\n%s", code, out, errOut)
			}
		})
	}
}
