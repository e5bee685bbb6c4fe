package report

import "testing"

// TestPrintable checks which characters are escaped and how.
func TestPrintable(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain text, tabs\tand\nnewlines é ✓", "plain text, tabs\tand\nnewlines é ✓"},
		{"a\x00b", `a\x00b`},
		{"\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{"cr\r\n", "cr\\x0d\n"},
		{"del\x7f", `del\x7f`},
		{"c1\u0085", `c1\u0085`},
		{"bad\xffutf8\xc3", `bad\xffutf8\xc3`},
		{"nonchar\uffff\ufffe", `nonchar\uffff\ufffe`},
		{`<&"> stay`, `<&"> stay`},
	} {
		if got := printable(c.in); got != c.want {
			t.Errorf("printable(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
