package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// junitFile is the part of a JUnit file the tests read back.
type junitFile struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Suites   []struct {
		Name  string `xml:"name,attr"`
		Tests int    `xml:"tests,attr"`
		Cases []struct {
			Name    string    `xml:"name,attr"`
			Failure *struct{} `xml:"failure"`
			Skipped *struct {
				Message string `xml:"message,attr"`
			} `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func readJUnit(t *testing.T, path string) junitFile {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var j junitFile
	if err := xml.Unmarshal(raw, &j); err != nil {
		t.Fatalf("JUnit does not parse: %v", err)
	}
	return j
}

func readJSONLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var out []map[string]any
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("JSON line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// A passing run on a built-in disk backend exits 0; its JUnit parses
// into one testsuite per group whose testcases add up to the totals and
// to the JSON, which has one object per test; every scratch store is
// gone afterwards.
func TestConformanceDiskInProcess(t *testing.T) {
	base, out := t.TempDir(), t.TempDir()
	junit, js := filepath.Join(out, "junit.xml"), filepath.Join(out, "results.json")
	code, stdout, stderr := run(t, "conformance", "--backend", "disk:"+base, "--short", "--parallel", "2", "--junit", junit, "--json", js)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	j := readJUnit(t, junit)
	cases, groups := 0, map[string]bool{}
	for _, s := range j.Suites {
		groups[s.Name] = true
		if s.Tests != len(s.Cases) {
			t.Errorf("suite %s says %d tests and has %d", s.Name, s.Tests, len(s.Cases))
		}
		cases += len(s.Cases)
	}
	if cases < 150 || cases != j.Tests || j.Failures != 0 {
		t.Errorf("JUnit: %d testcases, tests=%d failures=%d; want ≥150, equal, 0", cases, j.Tests, j.Failures)
	}
	for _, g := range []string{"Backend/Listing", "Backend/Mutable", "Backend/Scan", "Crawlers"} {
		if !groups[g] {
			t.Errorf("no testsuite %s in %v", g, groups)
		}
	}
	lines := readJSONLines(t, js)
	if len(lines) != cases {
		t.Errorf("%d JSON objects for %d testcases", len(lines), cases)
	}
	for _, l := range lines {
		for _, k := range []string{"name", "group", "status", "seconds", "message"} {
			if _, ok := l[k]; !ok {
				t.Errorf("JSON object %v lacks %q", l, k)
			}
		}
	}
	if !strings.Contains(stdout, "Backend/Listing") || !strings.Contains(stdout, "PASS: ") {
		t.Errorf("summary:\n%s", stdout)
	}
	if left, _ := os.ReadDir(base); len(left) != 0 {
		t.Errorf("scratch stores left under --backend: %v", left)
	}
}

// Bad usage, a bad known-failures file and a backend or plugin that
// cannot start exit 2 with a message that names the thing.
func TestConformanceUsageExits2(t *testing.T) {
	dir := t.TempDir()
	kf := filepath.Join(dir, "known.txt")
	os.WriteFile(kf, []byte("# comment\nBackend/Listing/PrefixIsolation\n"), 0o644)
	notDir := filepath.Join(dir, "file")
	os.WriteFile(notDir, []byte("x"), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"conformance"}, "give --backend URL"},
		{[]string{"conformance", "--backend", "disk:" + dir, "--run", "("}, `--run "("`},
		{[]string{"conformance", "--backend", "disk:" + dir, "--parallel", "0"}, "--parallel 0"},
		{[]string{"conformance", "--backend", "disk:" + dir, "--known-failures", kf}, kf + `:2: entry "Backend/Listing/PrefixIsolation" has no reason`},
		{[]string{"conformance", "--backend", "disk:" + dir, "--known-failures", filepath.Join(dir, "none")}, "--known-failures"},
		{[]string{"conformance", "--plugin", "/bin/ls", "--backend", "disk:" + dir}, "/bin/ls"},
		{[]string{"conformance", "--backend", "disk:" + notDir}, notDir},
		{[]string{"conformance", "--backend", "s3://bucket/p?region=us-east-1&endpoint=http://127.0.0.1:1"}, "127.0.0.1:1"},
	} {
		code, stdout, stderr := run(t, c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%q: exit %d, stderr %q (stdout %q); want %d naming %q", c.args, code, stderr, stdout, exitUsage, c.want)
		}
	}
}

// cancelOnWrite cancels a context at the first write that contains
// marker.
type cancelOnWrite struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	marker string
	cancel context.CancelFunc
}

func (c *cancelOnWrite) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.Write(p)
	if strings.Contains(c.buf.String(), c.marker) {
		c.cancel()
	}
	return len(p), nil
}

// An interrupted run exits 130, reports the tests it did not run, and
// leaves no scratch data behind.
func TestConformanceInterrupted(t *testing.T) {
	base, out := t.TempDir(), t.TempDir()
	junit := filepath.Join(out, "junit.xml")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errw := &cancelOnWrite{marker: "--- PASS: Backend/Listing/", cancel: cancel}
	var stdout bytes.Buffer
	root := newRoot(&env{stdin: strings.NewReader(""), stdout: &stdout, stderr: errw})
	root.SetArgs([]string{"conformance", "--backend", "disk:" + base, "-v", "--junit", junit})
	root.SetOut(&stdout)
	root.SetErr(errw)
	err := root.ExecuteContext(ctx)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitInterrupted || !strings.Contains(err.Error(), "conformance: interrupted") {
		t.Fatalf("error %v, want exit %d and conformance: interrupted", err, exitInterrupted)
	}
	if !strings.Contains(stdout.String(), "not run: the run was interrupted") {
		t.Errorf("summary does not report the tests not run:\n%s", stdout.String())
	}
	if j := readJUnit(t, junit); j.Skipped == 0 {
		t.Errorf("JUnit reports no test not run: %+v", j)
	}
	if left, _ := os.ReadDir(base); len(left) != 0 {
		t.Errorf("scratch stores left after the interrupt: %v", left)
	}
}
