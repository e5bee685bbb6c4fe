package cli

import (
	"context"
	"fmt"
)

// exitInterrupted is the exit code of a command stopped by SIGINT or
// SIGTERM: 128 plus the signal number of SIGINT, as shells report it.
const exitInterrupted = 130

// interrupted returns err unchanged when it is nil or ctx is still live
// (a command that finished is not interrupted). When ctx has
// ended (Main cancels it on SIGINT and SIGTERM), whatever error the
// interrupted work returned is only a consequence of the signal, so it
// returns an exit-130 error that says so, followed by next: what the user
// can do about it (for example "rerun the same copy to resume").
func interrupted(ctx context.Context, err error, what, next string) error {
	if err == nil || ctx.Err() == nil {
		return err
	}
	msg := what + ": interrupted"
	if next != "" {
		msg += "; " + next
	}
	return &exitError{code: exitInterrupted, err: fmt.Errorf("%s", msg)}
}
