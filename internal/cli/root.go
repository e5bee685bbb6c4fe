// Package cli implements the sharestore command line. Main runs it with
// explicit streams so tests can drive it in process.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

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
}

// Main runs the sharestore command with args (without the program name)
// and returns the process exit code: 0 on success, 2 for bad usage or a
// backend that cannot be opened, 1 for any other failure.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	root := newRoot(e)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "sharestore: %v\n", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if isFlagError(err) {
		return exitUsage
	}
	return exitFailure
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
with what is stored, and reports their state.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return flagError{fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())}
	})
	root.AddCommand(newLsCmd(e))
	root.AddCommand(newCrawlCmd(e))
	root.AddCommand(newStatusCmd(e))
	root.AddCommand(newMkbucketCmd(e))
	root.AddCommand(newCopyCmd(e))
	root.AddCommand(newMaintenanceCmd(e))
	return root
}

// codeExit maps a backend error to an exit code: a backend that is
// missing or malformed is a usage problem (2), anything else a failure.
func openErr(err error) error {
	switch sharestore.CodeOf(err) {
	case sharestore.ErrNotFound, sharestore.ErrInvalidArgument, sharestore.ErrPermissionDenied:
		return usageErr(err)
	}
	return err
}
