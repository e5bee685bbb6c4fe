package cli

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// runCanceled runs the command line args with a context that is already
// canceled, as Main's context is once SIGINT or SIGTERM arrives, and
// returns the exit code Main would give and the error's message.
func runCanceled(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb bytes.Buffer
	root := newRoot(&env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb})
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errb)
	err := root.ExecuteContext(ctx)
	var ee *exitError
	switch {
	case err == nil:
		return exitOK, ""
	case errors.As(err, &ee):
		return ee.code, err.Error()
	}
	return exitFailure, err.Error()
}

// An interrupted ls, copy or mkbucket exits 130 and says it was
// interrupted, not that something failed.
func TestInterruptedCommandsExit130(t *testing.T) {
	root, _ := buildTahoeStore(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"ls", "--backend", "disk:" + root}, "ls: interrupted"},
		{[]string{"copy", "--from", "disk:" + root, "--to", "disk:" + filepath.Join(t.TempDir(), "dst")}, "copy: interrupted; rerun the same copy to resume"},
		{[]string{"mkbucket", "--backend", "s3://bucket?endpoint=http://127.0.0.1:1&region=x"}, "mkbucket: interrupted; rerun it"},
	} {
		code, msg := runCanceled(t, tc.args...)
		if code != exitInterrupted || !strings.Contains(msg, tc.want) {
			t.Errorf("%s: exit %d, %q; want %d and %q", tc.args[0], code, msg, exitInterrupted, tc.want)
		}
	}
}
