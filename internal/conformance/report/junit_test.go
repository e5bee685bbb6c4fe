package report

import (
	"bytes"
	"encoding/xml"
	"reflect"
	"strings"
	"testing"
)

// The schema as a reader sees it, written independently of junit.go's
// types so that a wrong tag there cannot hide here.
type (
	readSuites struct {
		XMLName  xml.Name    `xml:"testsuites"`
		Name     string      `xml:"name,attr"`
		Tests    int         `xml:"tests,attr"`
		Failures int         `xml:"failures,attr"`
		Errors   int         `xml:"errors,attr"`
		Skipped  int         `xml:"skipped,attr"`
		Time     string      `xml:"time,attr"`
		Suites   []readSuite `xml:"testsuite"`
	}
	readSuite struct {
		Name     string     `xml:"name,attr"`
		Tests    int        `xml:"tests,attr"`
		Failures int        `xml:"failures,attr"`
		Errors   int        `xml:"errors,attr"`
		Skipped  int        `xml:"skipped,attr"`
		Time     string     `xml:"time,attr"`
		Props    []readProp `xml:"properties>property"`
		Cases    []readCase `xml:"testcase"`
	}
	readProp struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	readCase struct {
		Name      string `xml:"name,attr"`
		Classname string `xml:"classname,attr"`
		Time      string `xml:"time,attr"`
		Failure   *struct {
			Message string `xml:"message,attr"`
			Type    string `xml:"type,attr"`
			Text    string `xml:",chardata"`
		} `xml:"failure"`
		Skipped *struct {
			Message string `xml:"message,attr"`
		} `xml:"skipped"`
		SystemOut string `xml:"system-out"`
	}
)

func parseJUnit(t *testing.T, rs []Result, props map[string]string) (readSuites, string) {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, "conformance", rs, props); err != nil {
		t.Fatal(err)
	}
	var doc readSuites
	dec := xml.NewDecoder(bytes.NewReader(buf.Bytes()))
	dec.Strict = true
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("the JUnit does not parse: %v\n%s", err, buf.String())
	}
	return doc, buf.String()
}

// TestJUnitCounts checks the JUnit parsed back with encoding/xml: the
// totals, one testsuite per group in first-appearance order with its
// counts, times and sorted properties.
func TestJUnitCounts(t *testing.T) {
	props := map[string]string{"sharestore-version": "v0.9.0", "backend": "s3://bucket", "plugin": "/bin/acme"}
	doc, raw := parseJUnit(t, fixture(), props)
	if !strings.HasPrefix(raw, `<?xml version="1.0" encoding="UTF-8"?>`) {
		t.Errorf("no XML header: %.60q", raw)
	}
	if doc.Name != "conformance" || doc.Tests != 8 || doc.Failures != 2 || doc.Errors != 0 || doc.Skipped != 3 || doc.Time != "3.665" {
		t.Errorf("testsuites: name %q tests %d failures %d errors %d skipped %d time %s; want conformance 8 2 0 3 3.665",
			doc.Name, doc.Tests, doc.Failures, doc.Errors, doc.Skipped, doc.Time)
	}
	type counts struct {
		name                             string
		tests, failures, errors, skipped int
		time                             string
	}
	var got []counts
	for _, s := range doc.Suites {
		got = append(got, counts{s.Name, s.Tests, s.Failures, s.Errors, s.Skipped, s.Time})
		if len(s.Cases) != s.Tests {
			t.Errorf("suite %s: %d testcases, tests=%d", s.Name, len(s.Cases), s.Tests)
		}
		wantProps := []readProp{{"backend", "s3://bucket"}, {"plugin", "/bin/acme"}, {"sharestore-version", "v0.9.0"}}
		if !reflect.DeepEqual(s.Props, wantProps) {
			t.Errorf("suite %s: properties %v, want %v", s.Name, s.Props, wantProps)
		}
	}
	want := []counts{
		{"Backend/Mutable", 4, 2, 0, 1, "0.155"},
		{"Backend/Listing", 2, 0, 0, 1, "2.510"},
		{"Crawlers", 2, 0, 0, 1, "1.000"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("testsuites:\n got %+v\nwant %+v", got, want)
	}
}

// TestJUnitTestcases checks each testcase: its name and classname, time,
// and the element its status becomes, with the messages intact (markup
// characters round-trip; NUL and ESC become visible escapes).
func TestJUnitTestcases(t *testing.T) {
	doc, _ := parseJUnit(t, fixture(), nil)
	cases := map[string]readCase{}
	for _, s := range doc.Suites {
		if s.Props != nil {
			t.Errorf("suite %s: properties %v without props", s.Name, s.Props)
		}
		for _, c := range s.Cases {
			cases[c.Classname+" "+c.Name] = c
		}
	}
	if len(cases) != 8 {
		t.Fatalf("%d distinct testcases, want 8: %v", len(cases), cases)
	}
	get := func(key string) readCase {
		c, ok := cases[key]
		if !ok {
			t.Fatalf("no testcase %q among %v", key, cases)
		}
		return c
	}

	pass := get("conformance.Backend.Mutable Create")
	if pass.Failure != nil || pass.Skipped != nil || pass.SystemOut != "" || pass.Time != "0.120" {
		t.Errorf("passed testcase %+v", pass)
	}

	fail := get(`conformance.Backend.Mutable S10/eq_"1"`)
	wantText := "got <nil> & \"x\" with \\x00 and \\x1b[31m\nsecond line"
	if fail.Failure == nil || fail.Failure.Type != "failure" || fail.Failure.Text != wantText ||
		fail.Failure.Message != `got <nil> & "x" with \x00 and \x1b[31m` || fail.Skipped != nil {
		t.Errorf("failed testcase %+v, failure %+v; want message %q and text %q", fail, fail.Failure, firstLine(wantText), wantText)
	}
	if del := get("conformance.Backend.Mutable Delete"); del.Failure == nil || del.Failure.Message != "deleted shnum 10 too" {
		t.Errorf("failure message of a message starting with a newline: %+v", del.Failure)
	}

	skip := get("conformance.Crawlers lost-leasedb")
	if skip.Skipped == nil || skip.Skipped.Message != "needs planting: the plugin has no harness" || skip.Failure != nil {
		t.Errorf("skipped testcase %+v", skip)
	}

	known := get("conformance.Backend.Listing Over1000")
	if known.Skipped == nil || known.Skipped.Message != "known failure: acme#12" || known.Failure != nil ||
		known.SystemOut != "listing stopped after 1000 keys" || known.Time != "2.500" {
		t.Errorf("known failure testcase %+v", known)
	}

	fixed := get("conformance.Backend.Listing Order")
	if fixed.Skipped != nil || fixed.Failure != nil || !strings.Contains(fixed.SystemOut, "listed as a known failure (was flaky) but passed") {
		t.Errorf("fixed testcase %+v", fixed)
	}
}

// TestJUnitInvalidCharactersEverywhere checks that control bytes and
// invalid UTF-8 in names, groups, reasons and properties still give a
// file that a strict parser reads.
func TestJUnitInvalidCharactersEverywhere(t *testing.T) {
	rs := []Result{
		{Name: "G\x01/a\x00b", Group: "G\x01", Status: Known, Reason: "r\x1b\xff", Message: "m\x0c"},
		{Name: "G\x01/skip", Group: "G\x01", Status: Skipped, Message: "s\x00"},
	}
	doc, _ := parseJUnit(t, rs, map[string]string{"k\x00": "v\x07"})
	if len(doc.Suites) != 1 || len(doc.Suites[0].Cases) != 2 {
		t.Fatalf("%+v", doc)
	}
	s := doc.Suites[0]
	if s.Name != `G\x01` || s.Cases[0].Name != `a\x00b` || s.Cases[0].Classname != `conformance.G\x01` ||
		s.Cases[0].Skipped.Message != `known failure: r\x1b\xff` || s.Cases[0].SystemOut != `m\x0c` ||
		s.Cases[1].Skipped.Message != `s\x00` || s.Props[0] != (readProp{`k\x00`, `v\x07`}) {
		t.Errorf("escapes: %+v", s)
	}
}

// TestJUnitEmpty checks an empty run: a testsuites element with zero
// counts and no suites.
func TestJUnitEmpty(t *testing.T) {
	doc, _ := parseJUnit(t, nil, nil)
	if doc.Tests != 0 || doc.Failures != 0 || doc.Skipped != 0 || doc.Time != "0.000" || len(doc.Suites) != 0 {
		t.Errorf("%+v", doc)
	}
}
