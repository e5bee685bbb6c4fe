package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// The JUnit XML schema as CI systems read it (the Jenkins/Ant dialect
// that GitHub Actions reporters, GitLab and Jenkins share).
type (
	junitSuites struct {
		XMLName  xml.Name     `xml:"testsuites"`
		Name     string       `xml:"name,attr"`
		Tests    int          `xml:"tests,attr"`
		Failures int          `xml:"failures,attr"`
		Errors   int          `xml:"errors,attr"`
		Skipped  int          `xml:"skipped,attr"`
		Time     string       `xml:"time,attr"`
		Suites   []junitSuite `xml:"testsuite"`
	}
	junitSuite struct {
		Name       string           `xml:"name,attr"`
		Tests      int              `xml:"tests,attr"`
		Failures   int              `xml:"failures,attr"`
		Errors     int              `xml:"errors,attr"`
		Skipped    int              `xml:"skipped,attr"`
		Time       string           `xml:"time,attr"`
		Properties *junitProperties `xml:"properties"`
		Cases      []junitCase      `xml:"testcase"`
	}
	junitProperties struct {
		Props []junitProperty `xml:"property"`
	}
	junitProperty struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	junitCase struct {
		Name      string        `xml:"name,attr"`
		Classname string        `xml:"classname,attr"`
		Time      string        `xml:"time,attr"`
		Skipped   *junitSkipped `xml:"skipped"`
		Failure   *junitFailure `xml:"failure"`
		SystemOut string        `xml:"system-out,omitempty"`
	}
	junitSkipped struct {
		Message string `xml:"message,attr"`
	}
	junitFailure struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	}
)

// WriteJUnit writes rs to w as JUnit XML for CI (GitHub Actions
// reporters such as mikepenz/action-junit-report and dorny/test-reporter,
// GitLab, Jenkins):
//
//   - one <testsuites name=suite> with the totals (tests, failures,
//     errors, skipped, time);
//   - in it one <testsuite> per Group, in the order the groups first
//     appear in rs, with the same counts for the group and a
//     <properties> element holding props sorted by name (the backend,
//     the plugin, the sharestore version, as the caller chooses);
//   - in each, one <testcase> per result, in order: its classname is
//     suite, a dot, and the group with its slashes turned into dots
//     ("conformance.Backend.Mutable"); its name is the rest of Name after
//     "Group/" (the whole Name if it does not start with that); its time
//     is the result's Elapsed.
//
// A Failed result (or one whose Status is not one of the five) gets
// <failure message="first line" type="failure"> holding the whole
// message; a Skipped one <skipped message="reason"/>. A Known failure is
// reported as skipped, <skipped message="known failure: REASON"/>, with
// the failure's message in <system-out>, so that CI does not fail on it;
// a Fixed test passes, with a <system-out> saying that it is listed as a
// known failure but passed. Counts follow: skipped counts Skipped and
// Known, failures counts Failed, errors is always 0. Times are in
// seconds with three decimals; the totals' time is the sum of the tests'
// times, which exceeds the run's wall time when tests ran in parallel.
//
// Every text goes through encoding/xml, with the characters XML cannot
// hold (NUL, ESC and the other control characters, invalid UTF-8)
// replaced by escapes such as \x00, so the file always parses.
func WriteJUnit(w io.Writer, suite string, rs []Result, props map[string]string) error {
	doc := junitSuites{Name: printable(suite)}
	var total Counts
	for _, g := range groupResults(rs) {
		s := junitSuite{
			Name:       printable(g.name),
			Tests:      g.counts.Total(),
			Failures:   g.counts.Failed,
			Skipped:    g.counts.Skipped + g.counts.Known,
			Time:       seconds(g.counts.Elapsed),
			Properties: junitProps(props),
		}
		classname := printable(junitClassname(suite, g.name))
		for _, r := range g.results {
			s.Cases = append(s.Cases, junitTestcase(r, classname))
		}
		doc.Suites = append(doc.Suites, s)
		total.add(g.counts)
	}
	doc.Tests, doc.Failures = total.Total(), total.Failed
	doc.Skipped, doc.Time = total.Skipped+total.Known, seconds(total.Elapsed)

	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// junitTestcase returns the <testcase> of r.
func junitTestcase(r Result, classname string) junitCase {
	c := junitCase{Name: printable(r.shortName()), Classname: classname, Time: seconds(r.Elapsed)}
	msg := printable(r.Message)
	switch r.Status.effective() {
	case Failed:
		c.Failure = &junitFailure{Message: firstLine(msg), Type: "failure", Text: msg}
	case Skipped:
		c.Skipped = &junitSkipped{Message: msg}
	case Known:
		c.Skipped = &junitSkipped{Message: "known failure: " + printable(r.Reason)}
		c.SystemOut = msg
	case Fixed:
		c.SystemOut = "listed as a known failure (" + printable(r.Reason) + ") but passed: remove it from the known-failures file"
	}
	return c
}

// junitProps returns props as a <properties> element, sorted by name,
// or nil for none.
func junitProps(props map[string]string) *junitProperties {
	if len(props) == 0 {
		return nil
	}
	p := &junitProperties{}
	for k, v := range props {
		p.Props = append(p.Props, junitProperty{Name: printable(k), Value: printable(v)})
	}
	sort.Slice(p.Props, func(i, j int) bool { return p.Props[i].Name < p.Props[j].Name })
	return p
}

// junitClassname returns suite + "." + group, slashes turned into dots,
// leaving out whichever of the two is empty.
func junitClassname(suite, group string) string {
	group = strings.ReplaceAll(group, "/", ".")
	switch {
	case suite == "":
		return group
	case group == "":
		return suite
	}
	return suite + "." + group
}

// firstLine returns the first line of s that is not blank, trimmed.
func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}

// seconds formats d as seconds with three decimals.
func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
