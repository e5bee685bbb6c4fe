package redact

import (
	"bytes"
	"testing"
)

func TestValues(t *testing.T) {
	v := NewValues(map[string]string{"a": "hunter22", "b": "hunter2233", "short": "abc", "empty": ""})
	for _, tc := range []struct{ in, want string }{
		{"login hunter2233 failed", "login REDACTED failed"},
		{"key=hunter22;", "key=REDACTED;"},
		{"abc is too short to hide", "abc is too short to hide"},
		{"nothing here", "nothing here"},
	} {
		if got := v.String(tc.in); got != tc.want {
			t.Errorf("String(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	var none Values
	if got := none.String("hunter22"); got != "hunter22" {
		t.Errorf("zero Values changed its input: %q", got)
	}
	var buf bytes.Buffer
	w := v.Writer(&buf)
	if n, err := w.Write([]byte("plugin: using hunter22\n")); err != nil || n != 23 || buf.String() != "plugin: using REDACTED\n" {
		t.Errorf("Write = %d, %v; wrote %q", n, err, buf.String())
	}
}
