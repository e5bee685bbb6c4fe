package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestWriteJSON decodes the output line by line: one object per result,
// in order, with exactly the documented keys and values (seconds as a
// number, reason omitted when empty, an unknown status as failed).
func TestWriteJSON(t *testing.T) {
	rs := append(fixture(), Result{Name: "X/odd", Group: "X", Status: "exploded", Elapsed: 1500 * time.Microsecond})
	var buf bytes.Buffer
	if err := WriteJSON(&buf, rs); err != nil {
		t.Fatal(err)
	}
	raw := strings.Split(buf.String(), "\n")
	sc := bufio.NewScanner(&buf)
	var lines []map[string]any
	for sc.Scan() {
		var m map[string]any
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("line %d %q: %v", len(lines)+1, sc.Text(), err)
		}
		if dec.More() {
			t.Fatalf("line %d %q holds more than one value", len(lines)+1, sc.Text())
		}
		lines = append(lines, m)
	}
	if len(lines) != len(rs) {
		t.Fatalf("%d lines, want one per result (%d)", len(lines), len(rs))
	}
	for i, r := range rs {
		want := map[string]any{
			"name":    r.Name,
			"group":   r.Group,
			"status":  string(r.Status),
			"seconds": r.Elapsed.Seconds(),
			"message": r.Message,
		}
		if r.Reason != "" {
			want["reason"] = r.Reason
		}
		if i == len(rs)-1 {
			want["status"] = "failed"
		}
		if !reflect.DeepEqual(lines[i], want) {
			t.Errorf("line %d:\n got %#v\nwant %#v", i+1, lines[i], want)
		}
	}
	// The numbers as written, not derived from the code under test.
	for i, want := range map[int]string{0: `"seconds":0.12,`, 2: `"seconds":0,`, 3: `"seconds":2.5,`, 8: `"seconds":0.0015,`} {
		if !strings.Contains(raw[i], want) {
			t.Errorf("line %d %s: want %s", i+1, raw[i], want)
		}
	}
	if !strings.Contains(raw[1], `"message":"got <nil> & \"x\" with \u0000 and \u001b[31m\nsecond line"`) {
		t.Errorf("line 2 %s: markup not kept or controls not escaped", raw[1])
	}
	if lines[1]["message"] != nastyMessage {
		t.Errorf("message %q, want %q", lines[1]["message"], nastyMessage)
	}
}
