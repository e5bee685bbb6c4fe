// Package logging builds the one *slog.Logger the sharestore command and
// its plugins log through, from the --log-level and --log-format flags,
// and carries log records across the plugin boundary:
//
//   - New builds the CLI's logger: text (slog's key=value lines) or JSON
//     lines on stderr, at one level;
//   - a plugin writes its records as JSON lines on its stderr (NewWire),
//     and the host re-emits each one through its own logger (Relay), so a
//     plugin's lines come out in the host's format and at the host's
//     level;
//   - Redact wraps a handler so that no record it passes on shows a
//     secret.
//
// It uses only the standard library.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
)

// Formats of New.
const (
	FormatText = "text"
	FormatJSON = "json"
)

// levels are the names ParseLevel takes, lowest first.
var levels = []struct {
	name  string
	level slog.Level
}{{"debug", slog.LevelDebug}, {"info", slog.LevelInfo}, {"warn", slog.LevelWarn}, {"error", slog.LevelError}}

// ParseLevel returns the level named by s: debug, info, warn or error.
// Anything else is an error that lists the names.
func ParseLevel(s string) (slog.Level, error) {
	for _, l := range levels {
		if s == l.name {
			return l.level, nil
		}
	}
	return 0, fmt.Errorf("%q: want debug, info, warn or error", s)
}

// LevelName returns the name ParseLevel takes for l: the name of the
// highest of debug, info, warn and error that is not above l.
func LevelName(l slog.Level) string {
	name := levels[0].name
	for _, x := range levels {
		if x.level <= l {
			name = x.name
		}
	}
	return name
}

// ParseFormat checks that s is text or json.
func ParseFormat(s string) (string, error) {
	switch s {
	case FormatText, FormatJSON:
		return s, nil
	}
	return "", fmt.Errorf("%q: want text or json", s)
}

// New returns a logger that writes records at level and above to w, as
// slog's text lines (FormatText) or one JSON object a line (FormatJSON).
// An unknown format is an error.
func New(w io.Writer, level slog.Level, format string) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level}
	switch format {
	case FormatText:
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case FormatJSON:
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	_, err := ParseFormat(format)
	return nil, err
}

// Discard returns a logger that drops every record.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// LevelOf returns the lowest of debug, info, warn and error at which l
// is enabled (error when it is enabled at none of them).
func LevelOf(l *slog.Logger) slog.Level {
	for _, x := range levels {
		if l.Enabled(context.Background(), x.level) {
			return x.level
		}
	}
	return slog.LevelError
}

// Redact returns a handler that passes every record to h with fn applied
// to its message and to the text of each attribute: strings, errors and
// any other non-scalar value (numbers, booleans, times and durations
// pass as they are). Groups are redacted recursively.
func Redact(h slog.Handler, fn func(string) string) slog.Handler {
	return redacting{h: h, fn: fn}
}

type redacting struct {
	h  slog.Handler
	fn func(string) string
}

func (r redacting) Enabled(ctx context.Context, l slog.Level) bool { return r.h.Enabled(ctx, l) }

func (r redacting) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, r.fn(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(r.attr(a))
		return true
	})
	return r.h.Handle(ctx, out)
}

func (r redacting) WithAttrs(as []slog.Attr) slog.Handler {
	out := make([]slog.Attr, len(as))
	for i, a := range as {
		out[i] = r.attr(a)
	}
	return redacting{h: r.h.WithAttrs(out), fn: r.fn}
}

func (r redacting) WithGroup(name string) slog.Handler {
	return redacting{h: r.h.WithGroup(name), fn: r.fn}
}

func (r redacting) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, r.fn(v.String()))
	case slog.KindGroup:
		g := v.Group()
		out := make([]slog.Attr, len(g))
		for i, x := range g {
			out[i] = r.attr(x)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, r.fn(err.Error()))
		}
		return slog.String(a.Key, r.fn(fmt.Sprint(v.Any())))
	}
	return slog.Attr{Key: a.Key, Value: v}
}
