package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestParseLevelAndFormat(t *testing.T) {
	for name, want := range map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError} {
		got, err := ParseLevel(name)
		if err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %v, %v", name, got, err)
		}
		if LevelName(got) != name {
			t.Errorf("LevelName(%v) = %q, want %q", got, LevelName(got), name)
		}
	}
	for _, bad := range []string{"", "INFO", "verbose", "warning"} {
		if _, err := ParseLevel(bad); err == nil || !strings.Contains(err.Error(), "want debug, info, warn or error") {
			t.Errorf("ParseLevel(%q): %v", bad, err)
		}
	}
	if _, err := ParseFormat("xml"); err == nil || !strings.Contains(err.Error(), "want text or json") {
		t.Errorf("ParseFormat(xml): %v", err)
	}
	if _, err := New(&bytes.Buffer{}, slog.LevelInfo, "xml"); err == nil {
		t.Error("New with format xml succeeded")
	}
}

// LevelOf finds the level a logger was built with, which the plugin
// host passes on to the plugin process.
func TestLevelOf(t *testing.T) {
	for _, l := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError} {
		lg, _ := New(&bytes.Buffer{}, l, FormatText)
		if got := LevelOf(lg); got != l {
			t.Errorf("LevelOf(logger at %v) = %v", l, got)
		}
	}
}

// A record written by NewWire and read back by Relay comes out of the
// host's logger in the host's format, with its level, message and
// attributes in their order; lines that are not records go to Raw; the
// host's level filters.
func TestRelayRoundTrip(t *testing.T) {
	var wire bytes.Buffer
	pl := NewWire(&wire, slog.LevelDebug)
	pl.Info("deleted share", "si", "aaaa", "shnum", 3, "size", 1.5, "ok", true, slog.Group("g", "k", "v"))
	pl.Debug("noise")
	pl.Warn("multi\nline")
	wire.WriteString("panic: boom\n")

	var text bytes.Buffer
	host, _ := New(&text, slog.LevelInfo, FormatText)
	var raw []string
	r := &Relay{Logger: host.With("plugin", "p"), Raw: func(l string) { raw = append(raw, l) }}
	// In pieces, as a pipe delivers it.
	b := wire.Bytes()
	for len(b) > 0 {
		n := min(7, len(b))
		r.Write(b[:n])
		b = b[n:]
	}
	r.Flush()
	lines := strings.Split(strings.TrimSpace(text.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("host logged %d lines, want 2 (the debug record dropped):\n%s", len(lines), text.String())
	}
	if !strings.Contains(lines[0], `level=INFO msg="deleted share" plugin=p si=aaaa shnum=3 size=1.5 ok=true g.k=v`) {
		t.Errorf("relayed record: %s", lines[0])
	}
	if !strings.Contains(lines[1], `level=WARN msg="multi\nline" plugin=p`) {
		t.Errorf("relayed warning: %s", lines[1])
	}
	if len(raw) != 1 || raw[0] != "panic: boom" {
		t.Errorf("raw lines: %q", raw)
	}

	// In JSON, every line is JSON.
	var js bytes.Buffer
	host, _ = New(&js, slog.LevelDebug, FormatJSON)
	r = &Relay{Logger: host}
	r.Write(wire.Bytes())
	for _, l := range strings.Split(strings.TrimSpace(js.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Errorf("not JSON: %s", l)
		}
	}
}

func TestParseRecordRefuses(t *testing.T) {
	for _, l := range []string{`plain text`, `{"msg":"no level"}`, `{"level":"INFO"}`, `{"level":"LOUD","msg":"x"}`, `{"level":"INFO","msg":"x"} trailing`, `[1]`} {
		if _, ok := ParseRecord([]byte(l)); ok {
			t.Errorf("ParseRecord(%s) took it for a record", l)
		}
	}
}

// Redact scrubs the message and every textual attribute, in groups and
// in With attributes too, and keeps numbers.
func TestRedact(t *testing.T) {
	var buf bytes.Buffer
	h := Redact(slog.NewTextHandler(&buf, nil), func(s string) string { return strings.ReplaceAll(s, "hunter2", "REDACTED") })
	l := slog.New(h).With("url", "s3://hunter2@b")
	l.Info("pw hunter2", "err", errors.New("login hunter2 refused"), slog.Group("g", "v", "hunter2"), "n", 7, "any", []string{"hunter2"})
	out := buf.String()
	if strings.Contains(out, "hunter2") || strings.Count(out, "REDACTED") != 5 || !strings.Contains(out, "n=7") {
		t.Errorf("redacted: %s", out)
	}
}
