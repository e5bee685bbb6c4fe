package plugin

import (
	"context"
	"io"
	"log"
	"log/slog"

	"github.com/hashicorp/go-hclog"
)

// hclogger is the hclog.Logger go-plugin is given, on both sides: it
// sends go-plugin's own records into a *slog.Logger, all at debug level,
// because they describe go-plugin's life cycle (starting, handshake,
// exit), which the host reports itself, in one line, when it matters.
//
// go-plugin also re-logs the plugin's stderr through the logger it gets
// from Named(base name of the plugin binary); that one is off (skip),
// because the host reads the plugin's stderr itself (see stderrRelay).
type hclogger struct {
	l    *slog.Logger
	name string
	skip string // Named(skip) is a logger that is off
	off  bool
	args []any
}

var _ hclog.Logger = (*hclogger)(nil)

// newHCLogger returns go-plugin's logger over l; Named(skip) is off.
func newHCLogger(l *slog.Logger, skip string) *hclogger {
	return &hclogger{l: l, skip: skip}
}

func (h *hclogger) Log(_ hclog.Level, msg string, args ...any) {
	if h.off {
		return
	}
	l := h.l
	if h.name != "" {
		l = l.With("logger", h.name)
	}
	l.Log(context.Background(), slog.LevelDebug, msg, withoutPlugin(append(append([]any{}, h.args...), args...))...)
}

// withoutPlugin drops go-plugin's own "plugin" pair from args: the
// host's logger names the plugin already.
func withoutPlugin(args []any) []any {
	out := args[:0]
	for i := 0; i < len(args); i += 2 {
		if k, ok := args[i].(string); ok && k == "plugin" && i+1 < len(args) {
			continue
		}
		out = append(out, args[i:min(i+2, len(args))]...)
	}
	return out
}

func (h *hclogger) Trace(msg string, args ...any) { h.Log(hclog.Trace, msg, args...) }
func (h *hclogger) Debug(msg string, args ...any) { h.Log(hclog.Debug, msg, args...) }
func (h *hclogger) Info(msg string, args ...any)  { h.Log(hclog.Info, msg, args...) }
func (h *hclogger) Warn(msg string, args ...any)  { h.Log(hclog.Warn, msg, args...) }
func (h *hclogger) Error(msg string, args ...any) { h.Log(hclog.Error, msg, args...) }

func (h *hclogger) enabled() bool {
	return !h.off && h.l.Enabled(context.Background(), slog.LevelDebug)
}

func (h *hclogger) IsTrace() bool { return h.enabled() }
func (h *hclogger) IsDebug() bool { return h.enabled() }
func (h *hclogger) IsInfo() bool  { return h.enabled() }
func (h *hclogger) IsWarn() bool  { return h.enabled() }
func (h *hclogger) IsError() bool { return h.enabled() }

func (h *hclogger) ImpliedArgs() []any { return h.args }

func (h *hclogger) With(args ...any) hclog.Logger {
	c := *h
	c.args = append(append([]any{}, h.args...), args...)
	return &c
}

func (h *hclogger) Name() string { return h.name }

func (h *hclogger) Named(name string) hclog.Logger {
	c := *h
	if name == h.skip && h.skip != "" {
		c.off = true
	}
	if c.name != "" {
		name = c.name + "." + name
	}
	c.name = name
	return &c
}

func (h *hclogger) ResetNamed(name string) hclog.Logger {
	c := *h
	c.name = name
	c.off = name == h.skip && h.skip != ""
	return &c
}

// SetLevel is a no-op: the slog logger's level applies.
func (h *hclogger) SetLevel(hclog.Level) {}

func (h *hclogger) GetLevel() hclog.Level {
	if !h.enabled() {
		return hclog.Off
	}
	return hclog.Trace
}

func (h *hclogger) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(h.StandardWriter(opts), "", 0)
}

func (h *hclogger) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	if h.off {
		return io.Discard
	}
	return slog.NewLogLogger(h.l.Handler(), slog.LevelDebug).Writer()
}
