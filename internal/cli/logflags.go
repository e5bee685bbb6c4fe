package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/sharestore/sharestore/internal/logging"
)

// logFlags are the root's persistent --log-level and --log-format, which
// every command takes.
type logFlags struct {
	level, format string
}

func (f *logFlags) add(root *cobra.Command) {
	pf := root.PersistentFlags()
	pf.StringVar(&f.level, "log-level", "info", "log records at this level and above: debug, info, warn or error (SDK and plugin records included)")
	pf.StringVar(&f.format, "log-format", logging.FormatText, "format of the log records on stderr: text (key=value) or json (one object a line)")
}

// logger builds the one logger of the command, on stderr. A bad value is
// a usage error naming the flag.
func (f *logFlags) logger(stderr io.Writer) (*slog.Logger, bool, error) {
	level, err := logging.ParseLevel(f.level)
	if err != nil {
		return nil, false, usageErr(fmt.Errorf("--log-level %v", err))
	}
	format, err := logging.ParseFormat(f.format)
	if err != nil {
		return nil, false, usageErr(fmt.Errorf("--log-format %v", err))
	}
	l, err := logging.New(stderr, level, format)
	return l, format == logging.FormatJSON, err
}

type loggerKey struct{}

// withLogger returns ctx carrying l, for the code that opens backends.
func withLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

// loggerFrom returns the logger withLogger put in ctx, or nil.
func loggerFrom(ctx context.Context) *slog.Logger {
	l, _ := ctx.Value(loggerKey{}).(*slog.Logger)
	return l
}

// log returns the command's logger: the one the flags built, or before
// they were parsed (in tests that run a command directly) a text logger
// at info level on stderr.
func (e *env) log() *slog.Logger {
	if e.logger != nil {
		return e.logger
	}
	return slog.New(slog.NewTextHandler(e.stderr, nil))
}

// report writes the command's last word (its error) to stderr: a
// "sharestore: MSG" line, or with --log-format json a record at error
// level, so that every line on stderr is JSON.
func (e *env) report(msg string) {
	if e.logJSON && e.logger != nil {
		e.logger.Error(msg)
		return
	}
	fmt.Fprintf(e.stderr, "sharestore: %s\n", msg)
}
