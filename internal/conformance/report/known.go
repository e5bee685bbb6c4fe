package report

import (
	"bufio"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/sharestore/sharestore"
)

// maxLine bounds one line of a known-failures file.
const maxLine = 64 << 10

// Entry is one line of a known-failures file.
type Entry struct {
	Pattern string // the test name or glob (see the package doc)
	Reason  string // why the test is expected to fail; never empty in a parsed file
	File    string // the file it was read from, as given to ParseKnownFailures
	Line    int    // its line number in File, from 1
}

// String returns "file:line: pattern".
func (e Entry) String() string {
	return e.File + ":" + strconv.Itoa(e.Line) + ": " + e.Pattern
}

// Match reports whether e names the test called name: whether each
// slash-separated element of e.Pattern matches, as a path.Match pattern
// in which a backslash is an ordinary character, the element of name in
// the same place, name having at least as many elements as the pattern.
// So an entry names a test and all its subtests, and a trailing "/*"
// matches any tail of one or more elements. An invalid pattern matches
// nothing.
func (e Entry) Match(name string) bool {
	pe := strings.Split(e.Pattern, "/")
	ne := strings.Split(name, "/")
	if len(pe) > len(ne) {
		return false
	}
	for i, p := range pe {
		if ok, err := path.Match(literalBackslash(p), ne[i]); !ok || err != nil {
			return false
		}
	}
	return true
}

// literalBackslash escapes every backslash in a path.Match pattern, so
// that it matches itself instead of escaping the next character.
func literalBackslash(p string) string { return strings.ReplaceAll(p, `\`, `\\`) }

// checkPattern returns why p is not a valid entry, or "".
func checkPattern(p string) string {
	for _, el := range strings.Split(p, "/") {
		if el == "" {
			return "has an empty element (a leading, trailing or double '/')"
		}
		if _, err := path.Match(literalBackslash(el), ""); err != nil {
			return "is not a valid glob: bad pattern in element " + strconv.Quote(el)
		}
	}
	return ""
}

// KnownFailures is a parsed known-failures file. It remembers which of
// its entries Apply has matched, for Unmatched; it is safe for
// concurrent use. A nil *KnownFailures has no entries.
type KnownFailures struct {
	entries []Entry

	mu      sync.Mutex
	matched []bool // matched[i]: entries[i] matched a result in Apply
}

// ParseKnownFailures reads a known-failures file (the format is in the
// package doc) from r. file names it in the entries and in errors. An
// entry without a reason, a pattern that is not a valid glob or has an
// empty element, a pattern that repeats an earlier entry's, and a line
// longer than 64 KiB are errors of class sharestore.ErrInvalidArgument
// that name the file and line, for example
//
//	known-failures.txt:3: entry "Backend/Listing/*" has no reason
//
// An error reading r is returned with the file's name in front.
func ParseKnownFailures(r io.Reader, file string) (*KnownFailures, error) {
	k := &KnownFailures{}
	seen := map[string]int{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	line := 0
	for sc.Scan() {
		line++
		pattern, reason, ok := splitEntry(sc.Text())
		if !ok {
			continue
		}
		at := file + ":" + strconv.Itoa(line)
		if reason == "" {
			return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "%s: entry %q has no reason", at, pattern)
		}
		if why := checkPattern(pattern); why != "" {
			return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "%s: entry %q %s", at, pattern, why)
		}
		if first, dup := seen[pattern]; dup {
			return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "%s: entry %q repeats line %d", at, pattern, first)
		}
		seen[pattern] = line
		k.entries = append(k.entries, Entry{Pattern: pattern, Reason: reason, File: file, Line: line})
	}
	if err := sc.Err(); err != nil {
		if err == bufio.ErrTooLong {
			return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "%s:%d: line longer than %d bytes", file, line+1, maxLine)
		}
		return nil, sharestore.Wrap(sharestore.CodeOf(err), err, file)
	}
	k.matched = make([]bool, len(k.entries))
	return k, nil
}

// asciiSpace is the whitespace that separates a pattern from its reason
// and that may precede a comment.
const asciiSpace = " \t\v\f\r"

// splitEntry strips the comment from one line and splits the rest into
// the pattern and the reason. ok is false for a line with no entry.
func splitEntry(line string) (pattern, reason string, ok bool) {
	line = strings.Trim(stripComment(line), asciiSpace)
	if line == "" {
		return "", "", false
	}
	i := strings.IndexAny(line, asciiSpace)
	if i < 0 {
		return line, "", true
	}
	return line[:i], strings.Trim(line[i:], asciiSpace), true
}

// stripComment cuts line at the first '#' that begins it or follows
// whitespace.
func stripComment(line string) string {
	for i := 0; i < len(line); i++ {
		if line[i] == '#' && (i == 0 || strings.IndexByte(asciiSpace, line[i-1]) >= 0) {
			return line[:i]
		}
	}
	return line
}

// Entries returns the entries in file order.
func (k *KnownFailures) Entries() []Entry {
	if k == nil {
		return nil
	}
	return slices.Clone(k.entries)
}

// Lookup returns the first entry that matches the test called name.
func (k *KnownFailures) Lookup(name string) (Entry, bool) {
	if k == nil {
		return Entry{}, false
	}
	for _, e := range k.entries {
		if e.Match(name) {
			return e, true
		}
	}
	return Entry{}, false
}

// Apply returns a copy of rs with the known failures applied: a Failed
// result that an entry matches becomes Known and a Passed one Fixed, its
// Reason set to the first matching entry's reason. Results of any other
// status are copied as they are. Every entry that matches a result, of
// whatever status and whether or not it was the first to match, counts
// as matched for Unmatched. rs is not modified.
func (k *KnownFailures) Apply(rs []Result) []Result {
	out := slices.Clone(rs)
	if k == nil {
		return out
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for i := range out {
		first := -1
		for j, e := range k.entries {
			if e.Match(out[i].Name) {
				k.matched[j] = true
				if first < 0 {
					first = j
				}
			}
		}
		if first < 0 {
			continue
		}
		switch out[i].Status {
		case Failed:
			out[i].Status, out[i].Reason = Known, k.entries[first].Reason
		case Passed:
			out[i].Status, out[i].Reason = Fixed, k.entries[first].Reason
		}
	}
	return out
}

// Unmatched returns, in file order, the entries that matched no result in
// any call of Apply so far: entries for tests that no longer exist, or
// that the run did not select. The summary warns about them.
func (k *KnownFailures) Unmatched() []Entry {
	if k == nil {
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []Entry
	for i, e := range k.entries {
		if !k.matched[i] {
			out = append(out, e)
		}
	}
	return out
}
