package report

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/sharestore/sharestore"
)

// TestParseKnownFailures checks the entries read from a valid file:
// comments (whole-line, trailing after whitespace) and blank lines are
// dropped, a '#' inside a name is kept, the reason is the rest of the
// line, and each entry records its file and line.
func TestParseKnownFailures(t *testing.T) {
	const file = `# Known failures of the acme backend.

Backend/Delete/Scenario21ExactShnum   deleting shnum 1 also deletes 10
	Backend/Listing/*	listings stop after 1,000 keys   # acme#12
Backend/Mutable/Scenario10Operators/eq_"\x00"  a  backslash  stays    
Backend/Lock/Name#01 duplicate subtest names get #NN
   # an indented comment
Crawlers/expire-[ac]* clock skew
`
	k, err := ParseKnownFailures(strings.NewReader(file), "known.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{Pattern: "Backend/Delete/Scenario21ExactShnum", Reason: "deleting shnum 1 also deletes 10", File: "known.txt", Line: 3},
		{Pattern: "Backend/Listing/*", Reason: "listings stop after 1,000 keys", File: "known.txt", Line: 4},
		{Pattern: `Backend/Mutable/Scenario10Operators/eq_"\x00"`, Reason: "a  backslash  stays", File: "known.txt", Line: 5},
		{Pattern: "Backend/Lock/Name#01", Reason: "duplicate subtest names get", File: "known.txt", Line: 6},
		{Pattern: "Crawlers/expire-[ac]*", Reason: "clock skew", File: "known.txt", Line: 8},
	}
	if got := k.Entries(); !reflect.DeepEqual(got, want) {
		t.Errorf("entries:\n got %#v\nwant %#v", got, want)
	}
	if got := k.Entries()[1].String(); got != "known.txt:4: Backend/Listing/*" {
		t.Errorf("String() = %q", got)
	}
}

// TestParseKnownFailuresErrors checks that each malformed entry is refused
// with an ErrInvalidArgument naming the file, the line and the cause.
func TestParseKnownFailuresErrors(t *testing.T) {
	for _, c := range []struct {
		name, file, want string
	}{
		{"no reason", "# header\n\nBackend/X\n", `known-failures.txt:3: entry "Backend/X" has no reason`},
		{"only a comment after the name", "A/B reason\nBackend/X   # why\n", `known-failures.txt:2: entry "Backend/X" has no reason`},
		{"trailing whitespace is no reason", "Backend/X \t \n", `known-failures.txt:1: entry "Backend/X" has no reason`},
		{"unclosed class", "ok reason\nBackend/[ab bad\n", `known-failures.txt:2: entry "Backend/[ab" is not a valid glob: bad pattern in element "[ab"`},
		{"bad range", "Backend/[a-]/X bad\n", `known-failures.txt:1: entry "Backend/[a-]/X" is not a valid glob`},
		{"trailing slash", "Backend/ reason\n", `known-failures.txt:1: entry "Backend/" has an empty element`},
		{"leading slash", "/Backend reason\n", `known-failures.txt:1: entry "/Backend" has an empty element`},
		{"double slash", "Backend//X reason\n", `known-failures.txt:1: entry "Backend//X" has an empty element`},
		{"repeated", "A/B one\nC two\nA/B three\n", `known-failures.txt:3: entry "A/B" repeats line 1`},
		{"too long", "A " + strings.Repeat("x", maxLine) + "\n", `known-failures.txt:1: line longer than 65536 bytes`},
	} {
		t.Run(c.name, func(t *testing.T) {
			k, err := ParseKnownFailures(strings.NewReader(c.file), "known-failures.txt")
			if err == nil {
				t.Fatalf("no error, entries %v", k.Entries())
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want it to contain %q", err, c.want)
			}
			if !errors.Is(err, sharestore.ErrInvalidArgument) {
				t.Errorf("error %q is not ErrInvalidArgument", err)
			}
			if k != nil {
				t.Errorf("got entries %v with the error", k.Entries())
			}
		})
	}
}

// TestParseKnownFailuresReadError checks that a failing reader is an
// error naming the file.
func TestParseKnownFailuresReadError(t *testing.T) {
	_, err := ParseKnownFailures(iotest.ErrReader(errors.New("disk on fire")), "kf.txt")
	if err == nil || err.Error() != "kf.txt: disk on fire" {
		t.Errorf("error %v, want \"kf.txt: disk on fire\"", err)
	}
}

// TestEntryMatch checks which names an entry matches: exact names,
// parents naming their subtests, globs within one element, the
// multi-level tail, backslashes as ordinary characters, and classes.
func TestEntryMatch(t *testing.T) {
	for _, c := range []struct {
		pattern string
		yes, no []string
	}{
		{"Backend/Listing/Order",
			[]string{"Backend/Listing/Order", "Backend/Listing/Order/sub", "Backend/Listing/Order/a/b"},
			[]string{"Backend/Listing/OrderX", "Backend/Listing/Orde", "Backend/Listing", "Backend/Reads/Order", "X/Backend/Listing/Order"}},
		{"Backend/Listing/*",
			[]string{"Backend/Listing/A", `Backend/Listing/A/"aa"`, "Backend/Listing/A/b/c/d"},
			[]string{"Backend/Listing", "Backend/Reads/A", "Backend/ListingX/A"}},
		{"Backend/*/Idempotent",
			[]string{"Backend/Delete/Idempotent", "Backend/Put/Idempotent/sub"},
			[]string{"Backend/Delete/X/Idempotent", "Backend/Delete/Idempotents"}},
		{`Backend/Listing/InvalidPrefix/"a\x00"`,
			[]string{`Backend/Listing/InvalidPrefix/"a\x00"`},
			[]string{`Backend/Listing/InvalidPrefix/"ax00"`, "Backend/Listing/InvalidPrefix/\"a\x00\""}},
		{`Backend/*/"a\*"`,
			[]string{`Backend/X/"a\bc"`, `Backend/X/"a\"`},
			[]string{`Backend/X/"abc"`}},
		{`Backend/Listing/InvalidPrefix/"a`, // the name "a/" splits at its slash
			[]string{`Backend/Listing/InvalidPrefix/"a/"`},
			[]string{`Backend/Listing/InvalidPrefix/"aa"`}},
		{"Crawlers/expire-[ac]*",
			[]string{"Crawlers/expire-age", "Crawlers/expire-cutoff-date"},
			[]string{"Crawlers/expire-", "Crawlers/expire-basic"}},
		{"Backend/Mutable/S10/[^a]?",
			[]string{"Backend/Mutable/S10/bc", "Backend/Mutable/S10/b="},
			[]string{"Backend/Mutable/S10/ab", "Backend/Mutable/S10/b", "Backend/Mutable/S10/bcd"}},
		{"Backend/X/[*]",
			[]string{"Backend/X/*"},
			[]string{"Backend/X/a"}},
		{"Backend/X/[", nil, []string{"Backend/X/[", "Backend/X/a"}}, // invalid: matches nothing
	} {
		e := Entry{Pattern: c.pattern}
		for _, n := range c.yes {
			if !e.Match(n) {
				t.Errorf("%q does not match %q", c.pattern, n)
			}
		}
		for _, n := range c.no {
			if e.Match(n) {
				t.Errorf("%q matches %q", c.pattern, n)
			}
		}
	}
}

// TestApply checks that Apply turns listed failures into Known and listed
// passes into Fixed with the first matching entry's reason, leaves
// skipped and unlisted results alone, does not modify its argument, and
// that Unmatched lists exactly the entries that matched nothing.
func TestApply(t *testing.T) {
	const file = `G/Fails     bug one
G/Passes    bug two
G/Skips     needs planting
G/*         everything in G
G/Gone      renamed long ago
H/Gone/*    removed
G/Fails/x   shadowed by line 1, still matched
`
	k, err := ParseKnownFailures(strings.NewReader(file), "kf")
	if err != nil {
		t.Fatal(err)
	}
	in := []Result{
		{Name: "G/Fails", Group: "G", Status: Failed, Message: "boom"},
		{Name: "G/Passes", Group: "G", Status: Passed},
		{Name: "G/Skips", Group: "G", Status: Skipped, Message: "no harness"},
		{Name: "G/Other", Group: "G", Status: Failed, Message: "also"},
		{Name: "H/Unlisted", Group: "H", Status: Failed, Message: "real"},
		{Name: "H/Fine", Group: "H", Status: Passed},
		{Name: "G/Fails/x", Group: "G", Status: Passed},
	}
	orig := append([]Result(nil), in...)
	got := k.Apply(in)
	want := []Result{
		{Name: "G/Fails", Group: "G", Status: Known, Message: "boom", Reason: "bug one"},
		{Name: "G/Passes", Group: "G", Status: Fixed, Reason: "bug two"},
		{Name: "G/Skips", Group: "G", Status: Skipped, Message: "no harness"},
		{Name: "G/Other", Group: "G", Status: Known, Message: "also", Reason: "everything in G"},
		{Name: "H/Unlisted", Group: "H", Status: Failed, Message: "real"},
		{Name: "H/Fine", Group: "H", Status: Passed},
		{Name: "G/Fails/x", Group: "G", Status: Fixed, Reason: "bug one"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Apply:\n got %+v\nwant %+v", got, want)
	}
	if !reflect.DeepEqual(in, orig) {
		t.Errorf("Apply modified its argument: %+v", in)
	}
	var un []string
	for _, e := range k.Unmatched() {
		un = append(un, e.String())
	}
	if w := []string{"kf:5: G/Gone", "kf:6: H/Gone/*"}; !reflect.DeepEqual(un, w) {
		t.Errorf("Unmatched = %q, want %q", un, w)
	}
	if Verdict(got) != 1 {
		t.Errorf("Verdict = %d with H/Unlisted failed, want 1", Verdict(got))
	}
	if v := Verdict(k.Apply(in[:4])); v != 0 {
		t.Errorf("Verdict = %d with every failure known, want 0", v)
	}
}

// TestNilKnownFailures checks that a nil *KnownFailures, the value when no
// file is given, applies nothing and has no unmatched entries.
func TestNilKnownFailures(t *testing.T) {
	var k *KnownFailures
	in := []Result{{Name: "A/b", Group: "A", Status: Failed}}
	if got := k.Apply(in); !reflect.DeepEqual(got, in) {
		t.Errorf("Apply = %+v", got)
	}
	if u := k.Unmatched(); u != nil {
		t.Errorf("Unmatched = %v", u)
	}
	if _, ok := k.Lookup("A/b"); ok {
		t.Error("Lookup found an entry")
	}
}

// TestDocExample checks that the package doc's example file parses and
// that its entries match what the doc says they match.
func TestDocExample(t *testing.T) {
	const file = `# Known failures of the acme backend.
Backend/Delete/Scenario21ExactShnum   deleting shnum 1 also deletes 10 (acme#12)
Backend/Listing/*                     listings stop after 1,000 keys
Backend/Mutable/Scenario10Operators/eq_*   compares case-insensitively
Crawlers/expire-[ac]*                 clock skew in the emulator  # since v0.3
`
	k, err := ParseKnownFailures(strings.NewReader(file), "acme.txt")
	if err != nil {
		t.Fatal(err)
	}
	es := k.Entries()
	if len(es) != 4 || es[0].Reason != "deleting shnum 1 also deletes 10 (acme#12)" || es[3].Reason != "clock skew in the emulator" {
		t.Fatalf("entries %+v", es)
	}
	for name, want := range map[string]string{
		"Backend/Delete/Scenario21ExactShnum":            "deleting shnum 1 also deletes 10 (acme#12)",
		`Backend/Listing/InvalidPrefix/"AA"`:             "listings stop after 1,000 keys",
		`Backend/Listing/InvalidPrefix/"a\x00"`:          "listings stop after 1,000 keys",
		`Backend/Mutable/Scenario10Operators/eq_"11111"`: "compares case-insensitively",
		"Crawlers/expire-cutoff-date":                    "clock skew in the emulator",
		`Backend/Mutable/Scenario10Operators/ne_"11111"`: "",
		"Crawlers/basic":                                 "",
		"Backend/Delete/Idempotent":                      "",
	} {
		e, ok := k.Lookup(name)
		if ok != (want != "") || e.Reason != want {
			t.Errorf("Lookup(%q) = %q, %v; want %q", name, e.Reason, ok, want)
		}
	}
}
