package redact

import (
	"cmp"
	"io"
	"slices"
	"strings"
)

// MinValueLen is the shortest secret value that Values removes. A
// shorter one would turn every occurrence of a common word or digit in
// a log into Mark; such a value protects nothing anyway.
const MinValueLen = 4

// Values removes known secret values from text: the secrets a host sent
// a plugin, wherever the plugin or a library quotes them, under any name
// or none. The zero Values removes nothing. It is safe for concurrent
// use.
type Values struct {
	r *strings.Replacer
}

// NewValues returns the Values that replaces each value of secrets of at
// least MinValueLen bytes by Mark. The names of secrets play no part.
func NewValues(secrets map[string]string) Values {
	var vals []string
	for _, v := range secrets {
		if len(v) >= MinValueLen {
			vals = append(vals, v)
		}
	}
	if len(vals) == 0 {
		return Values{}
	}
	// At any position the replacer takes the first value that matches:
	// the longer one, when one secret contains another.
	slices.SortFunc(vals, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	args := make([]string, 0, 2*len(vals))
	for _, v := range vals {
		args = append(args, v, Mark)
	}
	return Values{strings.NewReplacer(args...)}
}

// String returns s with every known value replaced by Mark.
func (v Values) String(s string) string {
	if v.r == nil {
		return s
	}
	return v.r.Replace(s)
}

// Writer returns a writer that passes every Write to w through v.String.
// As with Writer, it is meant for line-oriented logs: a value split
// across two Writes is not recognised.
func (v Values) Writer(w io.Writer) io.Writer {
	if v.r == nil {
		return w
	}
	return valuesWriter{w, v}
}

type valuesWriter struct {
	w io.Writer
	v Values
}

func (r valuesWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(r.w, r.v.String(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
