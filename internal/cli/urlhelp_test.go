package cli

import (
	"regexp"
	"strings"
	"testing"

	"github.com/sharestore/sharestore/internal/backendurl"
)

// Every command that takes a backend lists every URL form in its help,
// and every example there is a URL the CLI accepts.
func TestHelpListsEveryBackendForm(t *testing.T) {
	forms := []string{"disk:PATH", "s3://BUCKET", "gs://BUCKET", "azblob://CONTAINER"}
	for _, args := range [][]string{{"--help"}, {"ls", "--help"}, {"crawl", "--help"}, {"mkbucket", "--help"}, {"copy", "--help"}} {
		code, out, errOut := run(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d %s", args, code, errOut)
		}
		for _, f := range forms {
			if !strings.Contains(out, f) {
				t.Errorf("%v: help lacks %s", args, f)
			}
		}
	}
	examples := regexp.MustCompile(`(?m)^ {19}(\S+)$`).FindAllStringSubmatch(backendHelp, -1)
	seen := map[string]bool{}
	for _, m := range examples {
		u := m[1]
		scheme, _, _ := strings.Cut(u, ":")
		seen[scheme] = true
		if scheme == "disk" {
			continue
		}
		if _, err := backendurl.Parse(u); err != nil {
			t.Errorf("example %s: %v", u, err)
		}
	}
	for _, s := range []string{"disk", "s3", "gs", "azblob"} {
		if !seen[s] {
			t.Errorf("no example of %s (examples %v)", s, examples)
		}
	}
}
