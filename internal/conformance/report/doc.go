// Package report turns the results of a conformance run into what
// `sharestore conformance` hands back: the known failures applied, an exit
// code, JUnit XML for CI (GitHub Actions, GitLab, Jenkins), one JSON object
// a line, and a plain-text summary for a person. It knows nothing about
// backends or how the tests ran: the runner produces a []Result, one per
// leaf subtest, and the command passes it through this package.
//
// # Test names
//
// A Result's Name is the test's full slash-separated name, for example
// Backend/Mutable/Scenario10Operators/eq_"11111" or Crawlers/basic. The conformance
// suite builds some subtest names with fmt's %q verb, so names may contain
// quotes, backslashes, '=', '_', '%' and even '/' (the subtest for the
// prefix "a/" is named "a/" with its quotes). Go's testing package replaces
// spaces in subtest names with underscores and non-printable runes with
// escapes; a runner built on it gets that for free, and any other runner
// must do the same, so a name never contains whitespace. A '/' always separates elements, including one inside
// quotes, both in names and in known-failures entries, as it does for
// go test -run.
//
// # The known-failures file
//
// A known-failures file lists tests that are expected to fail on a given
// backend, each with the reason. One entry a line: a test name or a glob,
// whitespace, then the reason, which is the rest of the line. A '#' at
// the start of a line or after whitespace starts a comment that runs to
// the end of the line; a '#' inside a word, as in acme#12 or the #01 that
// Go appends to a repeated subtest name, is not one. Blank lines are
// ignored. An entry without a reason, an entry that is not a valid glob
// or has an empty element (a leading, trailing or double slash), and an
// entry that repeats an earlier one are refused, naming the file and the
// line:
//
//	# Known failures of the acme backend.
//	Backend/Delete/Scenario21ExactShnum   deleting shnum 1 also deletes 10 (acme#12)
//	Backend/Listing/*                     listings stop after 1,000 keys
//	Backend/Mutable/Scenario10Operators/eq_*   compares case-insensitively
//	Crawlers/expire-[ac]*                 clock skew in the emulator  # since v0.3
//
// An entry is matched element by element, the elements being what lies
// between the slashes. Each element of the entry is a path.Match pattern
// for the element of the name in the same place: '*' matches any run of
// characters, '?' any one character, and '[abc]', '[a-z]' and '[^a-z]'
// one character of a class. Unlike path.Match, a backslash is an
// ordinary character, because names made with %q contain backslashes
// (the subtest for the prefix "a\x00" is named "a\x00", quotes and
// backslash included); to match a literal '*', '?' or '[', put it in a
// class: '[*]'. An entry matches a test when it matches the test's whole
// name or its leading elements, that is, the name of one of the test's
// parents. So Backend/Listing/InvalidPrefix names that test and each of
// its subtests, and Backend/Listing/* names every test under
// Backend/Listing at any depth, Backend/Listing/InvalidPrefix/"AA"
// included. When several entries match a test, the first one in the file
// gives the reason.
//
// A listed test that fails is reported as a known failure, and a listed
// test that passes as fixed, so that its entry is removed and the list
// does not rot; an entry that matches no test at all is reported as
// unmatched. Neither a known failure nor a fixed test fails the run (see
// Verdict).
package report
