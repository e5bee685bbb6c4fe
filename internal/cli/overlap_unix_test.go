//go:build unix

package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copy refuses, before writing anything, a destination that is its
// source (however spelled) or lies inside it, and a destination that is
// a file.
func TestCopyRefusesOverlapAndFiles(t *testing.T) {
	root, _ := buildTahoeStore(t)
	before := treeOf(t, root)
	dir := t.TempDir()
	file := filepath.Join(dir, "F")
	os.WriteFile(file, []byte("x"), 0o644)
	link := filepath.Join(dir, "link")
	if err := os.Symlink(root, link); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		to, msg string
	}{
		{"disk:" + root, "is the --from store itself"},
		{"disk:" + root + "/./", "is the --from store itself"},
		{"disk:" + link, "is the --from store itself"},
		{"disk:" + filepath.Join(root, "shares", "aa"), "is inside the --from store"},
		{"disk:" + filepath.Join(link, "copy"), "is inside the --from store"},
		{"disk:" + file, "storage directory " + file + " is a file, not a directory"},
		{"disk:" + filepath.Join(file, "sub"), "a parent of it is a file, not a directory"},
	}
	for _, c := range cases {
		code, _, errOut := run(t, "copy", "--from", "disk:"+root, "--to", c.to)
		if code != exitUsage || !strings.Contains(errOut, c.msg) {
			t.Errorf("--to %s: exit %d, %q; want 2 and %q", c.to, code, errOut, c.msg)
		}
	}
	sameTree(t, before, treeOf(t, root))
	// A store beside the source is fine.
	if code, _, errOut := run(t, "copy", "--from", "disk:"+root, "--to", "disk:"+filepath.Join(dir, "beside")); code != 0 {
		t.Fatalf("copy beside: %d %s", code, errOut)
	}
}
