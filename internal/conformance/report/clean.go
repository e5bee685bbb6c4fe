package report

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// printable returns s with everything that is not allowed in XML 1.0 or
// not safe to print on a terminal replaced by a Go-style escape: invalid
// UTF-8 bytes, the C0 control characters other than tab and newline, and
// DEL as \xNN; the C1 control characters, U+FFFE and U+FFFF as \uNNNN.
// So a message holding a NUL or an ANSI escape sequence still parses in
// JUnit and cannot drive the terminal, and the bytes it held stay
// visible.
func printable(s string) string {
	if strings.IndexFunc(s, unsafeRune) < 0 && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1, r < 0x80 && unsafeRune(r):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// unsafeRune reports whether printable escapes r.
func unsafeRune(r rune) bool {
	switch {
	case r == '\t' || r == '\n':
		return false
	case r < 0x20 || r == 0x7f:
		return true
	case r >= 0x80 && r <= 0x9f:
		return true
	case r == 0xfffe || r == 0xffff:
		return true
	}
	return false
}
