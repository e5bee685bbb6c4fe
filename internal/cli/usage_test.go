package cli

import (
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// Bad usage exits 2 with a message that names what was wrong, for every
// command: an unknown command (with what it may have meant), arguments
// where none are taken, and a --state-dir that is a file.
func TestUsageExits2(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "F")
	os.WriteFile(file, nil, 0o644)
	root, _ := buildTahoeStore(t)
	cases := []struct {
		args []string
		msg  string
	}{
		{[]string{"lss"}, `unknown command "lss" for "sharestore" (did you mean ls?)`},
		{[]string{"crawll", "--once"}, `unknown command "crawll" for "sharestore" (did you mean crawl?)`},
		{[]string{"maintenance", "clean"}, `unknown command "clean" for "sharestore maintenance"`},
		{[]string{"ls", "extra", "--backend", "disk:" + root}, `sharestore ls takes no arguments, got "extra"`},
		{[]string{"status", "a", "b"}, `sharestore status takes no arguments, got "a b"`},
		{[]string{"version", "x"}, `sharestore version takes no arguments`},
		{[]string{"mkbucket", "x"}, `sharestore mkbucket takes no arguments`},
		{[]string{"status", "--state-dir", file}, "--state-dir " + file + " is not a directory (it is a file)"},
		{[]string{"status", "--state-dir", filepath.Join(dir, "none")}, "--state-dir " + filepath.Join(dir, "none") + " does not exist"},
		{[]string{"crawl", "--once", "--backend", "disk:" + root, "--state-dir", file}, "--state-dir " + file + " is not a directory"},
		{[]string{"ls", "--plugin", "sharestore-no-such-plugin", "--backend", "disk:" + root}, "--plugin sharestore-no-such-plugin: no such plugin on $PATH"},
	}
	for _, c := range cases {
		code, _, errOut := run(t, c.args...)
		if code != exitUsage || !strings.Contains(errOut, c.msg) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", c.args, code, errOut, c.msg)
		}
	}
	// A group command alone prints its help and succeeds.
	if code, out, errOut := run(t, "maintenance"); code != 0 || !strings.Contains(out, "clean-incoming") {
		t.Errorf("maintenance: exit %d, %q %q", code, out, errOut)
	}
}

// "version" and "--version" print the module version, the VCS revision
// and the Go version that the build recorded.
func TestVersion(t *testing.T) {
	old := buildInfo
	defer func() { buildInfo = old }()
	buildInfo = func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{
			GoVersion: "go1.99.1",
			Main:      debug.Module{Path: "github.com/sharestore/sharestore", Version: "v1.2.3"},
			Settings: []debug.BuildSetting{
				{Key: "vcs.revision", Value: "0123456789abcdef"},
				{Key: "vcs.time", Value: "2026-12-01T10:00:00Z"},
				{Key: "vcs.modified", Value: "true"},
			},
		}, true
	}
	want := "sharestore v1.2.3\nrevision: 0123456789abcdef+dirty (2026-12-01T10:00:00Z)\ngo: go1.99.1 " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, errOut := run(t, args...)
		if code != 0 || out != want {
			t.Errorf("%v: exit %d, %q (stderr %q); want %q", args, code, out, errOut, want)
		}
	}
	buildInfo = func() (*debug.BuildInfo, bool) { return nil, false }
	if _, out, _ := run(t, "version"); !strings.Contains(out, "sharestore unknown\nrevision: unknown\ngo: "+runtime.Version()) {
		t.Errorf("without build info: %q", out)
	}
}

// The overlap check of URLs: the same scheme, bucket, naming query and
// plugin options, and a key prefix at or under the source's.
func TestURLInside(t *testing.T) {
	cases := []struct {
		src, dst     string
		inside, same bool
	}{
		{"s3://b/p", "s3://b/p", true, true},
		{"s3://b/p", "s3://b/p/", true, true},
		{"s3://b/p", "s3://b/p/q", true, false},
		{"s3://b", "s3://b/p", true, false},
		{"s3://b/p", "s3://b/pq", false, false},
		{"s3://b/p/q", "s3://b/p", false, false},
		{"s3://b/p", "s3://c/p", false, false},
		{"s3://b/p?endpoint=http://x", "s3://b/p?endpoint=http://y", false, false},
		{"s3://b/p?endpoint=http://x", "s3://b/p/q?endpoint=http://x", true, false},
		{"vendor://db a=1", "vendor://db a=2", false, false},
		{"vendor://db a=1", "vendor://db a=1", true, true},
		{"gs://b/p", "s3://b/p", false, false},
	}
	for _, c := range cases {
		inside, same := urlInside(c.src, c.dst)
		if inside != c.inside || same != c.same {
			t.Errorf("urlInside(%q, %q) = %v, %v; want %v, %v", c.src, c.dst, inside, same, c.inside, c.same)
		}
	}
}

// --plugin NAME without a slash is looked up on $PATH; a name found only
// in the working directory is refused.
func TestPluginLookedUpOnPath(t *testing.T) {
	bin := buildDiskPlugin(t)
	root, _ := buildTahoeStore(t)
	_, want, _ := run(t, "ls", "--backend", "disk:"+root)
	t.Setenv("PATH", filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"))
	code, out, errOut := run(t, "ls", "--plugin", filepath.Base(bin), "--backend", "disk:"+root)
	if code != 0 || out != want {
		t.Fatalf("ls --plugin %s: exit %d, %q, stderr %q", filepath.Base(bin), code, out, errOut)
	}
	t.Chdir(filepath.Dir(bin))
	t.Setenv("PATH", ".")
	code, _, errOut = run(t, "ls", "--plugin", filepath.Base(bin), "--backend", "disk:"+root)
	if code != exitUsage || !strings.Contains(errOut, "found only in the working directory") {
		t.Fatalf("PATH=.: exit %d, %q", code, errOut)
	}
}
