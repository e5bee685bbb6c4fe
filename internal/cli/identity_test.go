package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sharestore/sharestore/backends/disk"
	"github.com/sharestore/sharestore/crawler"
)

// TestBackendIdentity checks that the identity of a store ignores what
// does not name it (settings in the URL or the options, such as
// read_only and timeouts) and changes with what does (bucket, key
// prefix, root, endpoint).
func TestBackendIdentity(t *testing.T) {
	id := func(spec string, opts map[string]string) string {
		got, _ := backendIdentity(nil, spec, opts)
		return got
	}
	same := []struct {
		a, b         string
		optsA, optsB map[string]string
	}{
		{"s3://b/p?region=eu-west-1", "s3://b/p/?path_style=true&region=us-east-1", nil, nil},
		{"gs://b/p?auth=none&project=x", "gs://b/p", nil, nil},
		{"vendor://store/x?read_only=true&timeout=5s&Request_Timeout=1s", "vendor://store/x", nil, nil},
		{"vendor://store/x?bucket=a&read_only=1", "vendor://store/x?read_only=0&bucket=a", nil, nil},
		{"disk:/srv/a", "disk:/srv/a", map[string]string{"read_only": "true", "reserved_space": "10"}, nil},
		{"vendor://s", "vendor://s", map[string]string{"read_only": "true", "timeout": "30s", "retry_timeout": "1m", "retry_attempts": "3", "timeout_ms": "9"},
			map[string]string{"read_only": "false", "timeout": "5s"}},
		{"vendor://s", "vendor://s", map[string]string{"bucket": "a", "read_only": "true"}, map[string]string{"bucket": "a"}},
	}
	for _, c := range same {
		if a, b := id(c.a, c.optsA), id(c.b, c.optsB); a != b {
			t.Errorf("%s %v and %s %v: identities %q and %q differ", c.a, c.optsA, c.b, c.optsB, a, b)
		}
	}
	differ := []struct {
		a, b         string
		optsA, optsB map[string]string
	}{
		{"s3://b/p", "s3://b/q", nil, nil},
		{"s3://b/p", "s3://c/p", nil, nil},
		{"s3://b/p", "s3://b", nil, nil},
		{"s3://b/p?endpoint=http://127.0.0.1:9000", "s3://b/p?endpoint=http://127.0.0.1:9001", nil, nil},
		{"azblob://c?account=a", "azblob://c?account=b", nil, nil},
		{"vendor://s?bucket=a", "vendor://s?bucket=b", nil, nil},
		{"vendor://s", "vendor://s", map[string]string{"bucket": "a"}, map[string]string{"bucket": "b"}},
		{"vendor://s", "vendor://s", map[string]string{"key_prefix": "srv1"}, map[string]string{"key_prefix": "srv2"}},
		{"vendor://s", "vendor://s", map[string]string{"root": "/a"}, map[string]string{"root": "/b"}},
		{"vendor://s", "vendor://s", map[string]string{"root": "/a"}, nil},
		{"disk:/srv/a", "disk:/srv/b", nil, nil},
	}
	for _, c := range differ {
		if a, b := id(c.a, c.optsA), id(c.b, c.optsB); a == b {
			t.Errorf("%s %v and %s %v: the same identity %q", c.a, c.optsA, c.b, c.optsB, a)
		}
	}
	for _, tc := range []struct {
		spec         string
		opts         map[string]string
		want, legacy string
	}{
		{"s3://b/p/?region=r", nil, "s3://b/p", "s3://b/p/?region=r"},
		{"s3://b/p", nil, "s3://b/p", ""},
		{"vendor://s?x=1&token=t0k", map[string]string{"root": "/my dir", "read_only": "true"}, `vendor://s?token=REDACTED&x=1 root="/my dir"`, ""},
		{"disk:/srv/a?read_only=true", nil, "disk:/srv/a?read_only=true", ""},
	} {
		got, legacy := backendIdentity(nil, tc.spec, tc.opts)
		if got != tc.want || legacy != tc.legacy {
			t.Errorf("backendIdentity(%q, %v) = %q, %q; want %q, %q", tc.spec, tc.opts, got, legacy, tc.want, tc.legacy)
		}
	}
}

// TestStateDirLegacyIdentity checks that a state directory recorded
// under a store's identity in the older form (the URL as given) is
// accepted for the same store and recorded in the new form, and that
// another store is still refused.
func TestStateDirLegacyIdentity(t *testing.T) {
	dir := t.TempDir()
	idFile := filepath.Join(dir, backendIDFile)
	if err := os.WriteFile(idFile, []byte("s3://b/p?region=r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := prepareStateDir(dir, "s3://b/q", ""); err == nil {
		t.Fatal("another store's state directory was accepted")
	}
	id, legacy := backendIdentity(nil, "s3://b/p?region=r", nil)
	if err := prepareStateDir(dir, id, legacy); err != nil {
		t.Fatalf("the same store in the older form: %v", err)
	}
	if b, _ := os.ReadFile(idFile); strings.TrimSpace(string(b)) != "s3://b/p" {
		t.Errorf("the backend file holds %q, want the new form s3://b/p", b)
	}
	if err := prepareStateDir(dir, "s3://b/p", ""); err != nil {
		t.Errorf("after the upgrade: %v", err)
	}
}

// TestStateDirAcrossPluginOptions crawls one store through the disk
// plugin into one state directory with read_only off, then on: the
// state directory is the same store's. Another root is refused.
func TestStateDirAcrossPluginOptions(t *testing.T) {
	bin := buildDiskPlugin(t)
	root, _ := buildTahoeStore(t)
	state := t.TempDir()
	crawl := func(root string, extra ...string) (int, string) {
		args := append([]string{"crawl", "--once", "--fast", "--progress", "none", "--backend", "disk:" + root,
			"--state-dir", state, "--plugin", bin}, extra...)
		code, _, errOut := run(t, args...)
		return code, errOut
	}
	if code, errOut := crawl(root); code != 0 {
		t.Fatalf("first crawl: exit %d\n%s", code, errOut)
	}
	if code, errOut := crawl(root, "--plugin-option", "read_only=true"); code != 0 {
		t.Fatalf("crawl with read_only=true, same state directory: exit %d\n%s", code, errOut)
	}
	cfg := writeConfig(t, "read_only = false\nreserved_space = 1024\n", 0o600)
	if code, errOut := crawl(root, "--plugin-config", cfg); code != 0 {
		t.Fatalf("crawl with other settings from a file, same state directory: exit %d\n%s", code, errOut)
	}
	other, _ := buildTahoeStore(t)
	code, errOut := crawl(other, "--plugin-option", "read_only=true")
	if code != 2 || !strings.Contains(errOut, "belongs to backend disk:"+root) {
		t.Fatalf("crawl of another root into the state directory: exit %d\n%s", code, errOut)
	}
}

// A disk store is named by its absolute storage directory, however the
// URL spelled it and whatever wraps the backend.
func TestBackendIdentityOfDisk(t *testing.T) {
	root := t.TempDir()
	b, err := disk.Open(root, disk.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	want := "disk:" + b.Root()
	for name, got := range map[string]string{
		"bare":         first(backendIdentity(b, "disk:./relative", nil)),
		"rate limited": first(backendIdentity(crawler.RateLimit(b, 5, 1, crawler.RealClock{}), "disk:./relative", nil)),
		"counted":      first(backendIdentity(countListed(crawler.RateLimit(b, 5, 1, crawler.RealClock{}), nil), "disk:./relative", nil)),
	} {
		if got != want {
			t.Errorf("%s: identity %q, want %q", name, got, want)
		}
	}
}

func first(id, _ string) string { return id }
