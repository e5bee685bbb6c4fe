package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// WriteSummary writes the human summary of a run to w, in plain text
// without colours, meant for stdout:
//
//  1. a table with one line per group, in the order groups first appear
//     in rs, with its passed, failed, skipped, known and fixed counts
//     and the seconds its tests took, then a TOTAL line;
//  2. "Failures (N):", each failed test's full name and, indented below
//     it, its message;
//  3. "Known failures (N):", each known failure's name and reason;
//  4. "Fixed (N): …", each test that is listed as a known failure but
//     passed, with the reason, asking for the entry to be removed;
//  5. "Skipped (N):", the skip reasons, each with how many tests it
//     skipped, in order of first appearance;
//  6. a warning listing the known-failures entries in unmatched (from
//     KnownFailures.Unmatched) with their file and line;
//  7. the verdict line, "PASS: 212 passed, 3 skipped, 1 known failure" or
//     "FAIL: 2 failed, 210 passed", which omits the counts that are zero
//     (except passed) and starts with FAIL exactly when Verdict is 1.
//
// Sections 2 to 6 are left out when empty. A result whose Status is not
// one of the five counts as failed, and its status is shown. Control
// characters in names and messages are shown as escapes (\x1b), so a
// message cannot drive the terminal. Errors writing to w are ignored: the
// summary is the report of last resort.
func WriteSummary(w io.Writer, rs []Result, unmatched []Entry) {
	var b strings.Builder
	total := summaryTable(&b, rs)
	summaryFailures(&b, rs)
	summaryListed(&b, rs, Known, func(n int) string { return fmt.Sprintf("Known failures (%d):", n) })
	summaryListed(&b, rs, Fixed, func(n int) string {
		return fmt.Sprintf("Fixed (%d): listed as known failures but passed; remove %s from the known-failures file:", n, pick(n, "its entry", "their entries"))
	})
	summarySkips(&b, rs)
	summaryUnmatched(&b, unmatched)
	b.WriteString("\n" + verdictLine(total) + "\n")
	io.WriteString(w, b.String())
}

// summaryColumns are the table's count columns.
var summaryColumns = []string{"PASSED", "FAILED", "SKIPPED", "KNOWN", "FIXED", "SECONDS"}

// summaryTable writes the table of groups and returns the totals.
func summaryTable(b *strings.Builder, rs []Result) Counts {
	gs := groupResults(rs)
	width := len("GROUP")
	for _, g := range gs {
		width = max(width, len(groupLabel(g.name)))
	}
	row := func(label string, c Counts) {
		fmt.Fprintf(b, "%-*s", width, label)
		for i, n := range []int{c.Passed, c.Failed, c.Skipped, c.Known, c.Fixed} {
			fmt.Fprintf(b, "  %*d", len(summaryColumns[i]), n)
		}
		fmt.Fprintf(b, "  %*.2f\n", len(summaryColumns[5]), c.Elapsed.Seconds())
	}
	fmt.Fprintf(b, "%-*s  %s\n", width, "GROUP", strings.Join(summaryColumns, "  "))
	var total Counts
	for _, g := range gs {
		row(groupLabel(g.name), g.counts)
		total.add(g.counts)
	}
	row("TOTAL", total)
	return total
}

// groupLabel returns how the table shows group name g.
func groupLabel(g string) string {
	if g == "" {
		return "(no group)"
	}
	return printable(g)
}

// summaryFailures writes each failed test with its message.
func summaryFailures(b *strings.Builder, rs []Result) {
	var failed []Result
	for _, r := range rs {
		if r.Status.effective() == Failed {
			failed = append(failed, r)
		}
	}
	if len(failed) == 0 {
		return
	}
	fmt.Fprintf(b, "\nFailures (%d):\n", len(failed))
	for _, r := range failed {
		b.WriteString("  " + printable(r.Name))
		if r.Status != Failed {
			fmt.Fprintf(b, " (invalid status %s)", strconv.Quote(string(r.Status)))
		}
		b.WriteString("\n")
		for _, l := range messageLines(printable(r.Message)) {
			b.WriteString(strings.TrimRight("      "+l, " \t") + "\n")
		}
	}
}

// summaryListed writes the results of status s with their reasons,
// under heading(their number).
func summaryListed(b *strings.Builder, rs []Result, s Status, heading func(n int) string) {
	var lines []string
	for _, r := range rs {
		if r.Status == s {
			lines = append(lines, "  "+printable(r.Name)+": "+printable(r.Reason)+"\n")
		}
	}
	if len(lines) == 0 {
		return
	}
	b.WriteString("\n" + heading(len(lines)) + "\n")
	b.WriteString(strings.Join(lines, ""))
}

// summarySkips writes the skip reasons with their counts.
func summarySkips(b *strings.Builder, rs []Result) {
	var reasons []string
	count := map[string]int{}
	n := 0
	for _, r := range rs {
		if r.Status != Skipped {
			continue
		}
		n++
		reason := firstLine(printable(r.Message))
		if reason == "" {
			reason = "(no reason given)"
		}
		if count[reason] == 0 {
			reasons = append(reasons, reason)
		}
		count[reason]++
	}
	if n == 0 {
		return
	}
	fmt.Fprintf(b, "\nSkipped (%d):\n", n)
	width := 0
	for _, r := range reasons {
		width = max(width, len(strconv.Itoa(count[r])))
	}
	for _, r := range reasons {
		fmt.Fprintf(b, "  %*d  %s\n", width, count[r], r)
	}
}

// summaryUnmatched warns about known-failures entries that matched no
// test.
func summaryUnmatched(b *strings.Builder, unmatched []Entry) {
	if len(unmatched) == 0 {
		return
	}
	fmt.Fprintf(b, "\nWarning: %s matched no test in this run; remove %s or correct %s:\n",
		plural(len(unmatched), "known-failures entry", "known-failures entries"),
		pick(len(unmatched), "it", "them"), pick(len(unmatched), "its name", "their names"))
	for _, e := range unmatched {
		fmt.Fprintf(b, "  %s (%s)\n", printable(e.String()), printable(e.Reason))
	}
}

// verdictLine returns "PASS: …" or "FAIL: …" with the non-zero counts.
func verdictLine(c Counts) string {
	var parts []string
	word := "PASS"
	if c.Failed > 0 {
		word = "FAIL"
		parts = append(parts, strconv.Itoa(c.Failed)+" failed")
	}
	parts = append(parts, strconv.Itoa(c.Passed)+" passed")
	if c.Skipped > 0 {
		parts = append(parts, strconv.Itoa(c.Skipped)+" skipped")
	}
	if c.Known > 0 {
		parts = append(parts, plural(c.Known, "known failure", "known failures"))
	}
	if c.Fixed > 0 {
		parts = append(parts, strconv.Itoa(c.Fixed)+" fixed")
	}
	return word + ": " + strings.Join(parts, ", ")
}

// messageLines splits a message into lines for indenting: blank lines at
// either end are dropped and the indentation common to all lines is
// removed.
func messageLines(msg string) []string {
	lines := strings.Split(msg, "\n")
	for len(lines) > 0 && strings.TrimSpace(lines[0]) == "" {
		lines = lines[1:]
	}
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	common := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		n := len(l) - len(strings.TrimLeft(l, " \t"))
		if common < 0 || n < common {
			common = n
		}
	}
	for i, l := range lines {
		if len(l) >= common && common > 0 {
			lines[i] = l[common:]
		}
	}
	return lines
}

// plural returns n and the singular or plural noun.
func plural(n int, one, many string) string {
	return strconv.Itoa(n) + " " + pick(n, one, many)
}

// pick returns one when n is 1, else many.
func pick(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
