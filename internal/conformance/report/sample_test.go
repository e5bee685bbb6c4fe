package report

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/sharestore/sharestore/conformance"
)

// The known-failures file that the example backend ships
// (examples/sqlitestore, the kit for third-party authors) parses with no
// entry; and so that it cannot teach a stale format, its commented
// examples parse too once uncommented, and each names a test of the
// suite.
func TestExampleKnownFailures(t *testing.T) {
	const file = "../../../examples/sqlitestore/known-failures.txt"
	text, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ParseKnownFailures(strings.NewReader(string(text)), file)
	if err != nil || len(k.Entries()) != 0 {
		t.Fatalf("ParseKnownFailures(%s) = %v entries, %v; want none", file, k.Entries(), err)
	}
	examples := regexp.MustCompile(`(?m)^# ((?:Backend|Crawlers)/\S+\s+\S.*)$`).FindAllStringSubmatch(string(text), -1)
	var lines []string
	for _, m := range examples {
		lines = append(lines, m[1])
	}
	k, err = ParseKnownFailures(strings.NewReader(strings.Join(lines, "\n")), file)
	if err != nil || len(k.Entries()) != 2 {
		t.Fatalf("the examples of %s (%q) parse to %v, %v; want 2 entries", file, lines, k.Entries(), err)
	}
	names := map[string]bool{}
	for _, tc := range append(conformance.BackendTests(nil, conformance.Options{}), conformance.CrawlerTests(nil, conformance.Options{})...) {
		names[tc.FullName()] = true
	}
	for _, e := range k.Entries() {
		if !names[e.Pattern] {
			t.Errorf("the example entry %q names no test of the suite", e.Pattern)
		}
	}
}
