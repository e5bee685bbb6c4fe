// Package cli implements the sharestore command line. Main runs it with
// explicit streams so tests can drive it in process.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/sharestore/sharestore"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // the command ran and failed
	exitUsage   = 2 // bad flags, or a backend that cannot be opened
)

// exitError carries a specific exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErr(err error) error { return &exitError{code: exitUsage, err: err} }

type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// logger is the command's one logger, built from --log-level and
	// --log-format once the flags are parsed (see logFlags); logJSON
	// reports --log-format json.
	logger  *slog.Logger
	logJSON bool
}

// Main runs the sharestore command with args (without the program name)
// and returns the process exit code: 0 on success, 2 for bad usage or a
// backend that cannot be opened, 1 for any other failure, and 128 plus
// the signal's number (130 for SIGINT, 143 for SIGTERM) for a command
// that a signal stopped. The first SIGINT or SIGTERM cancels the
// command's context, so it stops and saves its state; if it has not
// returned signalGrace later, or at a second signal, the process exits
// at once with that code (see watchSignals).
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	if _, ok := stderr.(*os.File); !ok {
		// A file takes concurrent writes (and a terminal must stay one,
		// for the progress bars); anything else is serialized.
		errw := &lockedWriter{w: stderr}
		defer errw.stop()
		stderr = errw
	}
	ctx, stop := watchSignals(context.Background(), sigs, signalGrace, stderr, exitNow)
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	root := newRoot(e)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := findCommand(root, args)
	if err == nil {
		err = root.ExecuteContext(ctx)
	}
	sig := stop()
	if err == nil {
		return exitOK
	}
	e.report(err.Error())
	if sig != nil {
		return signalCode(sig)
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if isFlagError(err) {
		return exitUsage
	}
	return exitFailure
}

// lockedWriter is Main's stderr when that is not a file (in tests): it
// serializes writes to w, since a
// plugin's stderr arrives from go-plugin's goroutines while the command
// writes its own, and drops those that come after stop, so that nothing
// is written once Main has returned.
type lockedWriter struct {
	mu      sync.Mutex
	w       io.Writer
	stopped bool
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return len(p), nil
	}
	return l.w.Write(p)
}

func (l *lockedWriter) stop() {
	l.mu.Lock()
	l.stopped = true
	l.mu.Unlock()
}

// signalGrace is how long a command may take to stop after the first
// signal before the process exits without waiting for it. Tests shorten
// it.
var signalGrace = 30 * time.Second

// exitNow ends the process; tests replace it.
var exitNow = os.Exit

// signalCode is the exit code for a process stopped by sig: 128 plus
// its number.
func signalCode(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return exitFailure
}

// watchSignals returns a context that the first signal from sigs
// cancels, and the function that ends the watch and returns the signal
// received, if any. After the first signal, a second one, or grace
// passing before stop is called, writes a message to stderr and calls
// exit with signalCode of the first signal: a command that does not
// stop can never hold the process.
func watchSignals(parent context.Context, sigs <-chan os.Signal, grace time.Duration, stderr io.Writer, exit func(int)) (context.Context, func() os.Signal) {
	ctx, cancel := context.WithCancel(parent)
	done := make(chan struct{})
	var mu sync.Mutex
	var got os.Signal
	go func() {
		var sig os.Signal
		select {
		case <-done:
			return
		case sig = <-sigs:
		}
		mu.Lock()
		got = sig
		mu.Unlock()
		fmt.Fprintf(stderr, "sharestore: %v: stopping and saving the state (signal again to exit at once)\n", sig)
		cancel()
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-done:
			return
		case again := <-sigs:
			fmt.Fprintf(stderr, "sharestore: %v again: exiting at once; the state saved last is kept\n", again)
		case <-t.C:
			fmt.Fprintf(stderr, "sharestore: still not stopped %v after %v; exiting anyway; the state saved last is kept\n", grace, sig)
		}
		exit(signalCode(sig))
	}()
	var once sync.Once
	return ctx, func() os.Signal {
		once.Do(func() { close(done); cancel() })
		mu.Lock()
		defer mu.Unlock()
		return got
	}
}

type flagError struct{ error }

func (f flagError) Unwrap() error { return f.error }

func isFlagError(err error) bool {
	var fe flagError
	return errors.As(err, &fe)
}

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "sharestore",
		Short: "Tools for Tahoe-LAFS share stores: list, crawl, status, copy, conformance",
		Long: `sharestore works on Tahoe-LAFS share stores: a Tahoe storage directory on
local disk, or (with the cloud backends) a bucket. It lists shares, runs the
accounting and bucket-counting crawlers that keep the lease database in step
with what is stored, and reports their state.

` + backendHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	groupCommand(root)
	root.Args = nil // findCommand checks the root's arguments
	root.SuggestionsMinimumDistance = 2
	root.Version = "set" // any non-empty value makes cobra add --version
	root.SetVersionTemplate(versionText())
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return flagError{fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())}
	})
	var lf logFlags
	lf.add(root)
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		l, asJSON, err := lf.logger(e.stderr)
		if err != nil {
			return err
		}
		e.logger, e.logJSON = l, asJSON
		cmd.SetContext(withLogger(cmd.Context(), l))
		return nil
	}
	root.AddCommand(newLsCmd(e))
	root.AddCommand(newCrawlCmd(e))
	root.AddCommand(newServeCmd(e))
	root.AddCommand(newStatusCmd(e))
	root.AddCommand(newMkbucketCmd(e))
	root.AddCommand(newCopyCmd(e))
	root.AddCommand(newMaintenanceCmd(e))
	root.AddCommand(newLeasedbCmd(e))
	root.AddCommand(newConformanceCmd(e))
	root.AddCommand(newConfigCmd(e))
	root.AddCommand(newVersionCmd(e))
	return root
}

// openErr is the error of a backend that cannot be opened (or whose
// bucket cannot be created): exit code 2, whatever the cause (a missing
// store, a plugin that fails its handshake or its Configure, a bucket
// that cannot be reached, no credentials), except that a command stopped
// by a signal keeps its own code.
func openErr(err error) error {
	if sharestore.CodeOf(err) == sharestore.ErrCanceled {
		return err
	}
	return usageErr(err)
}
