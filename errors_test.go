package sharestore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestErrorsIs(t *testing.T) {
	for _, c := range Codes() {
		err := Errorf(c, "share %s: boom", "x")
		if !errors.Is(err, c) {
			t.Errorf("%v: errors.Is own code failed", c)
		}
		if CodeOf(err) != c {
			t.Errorf("CodeOf = %v want %v", CodeOf(err), c)
		}
		for _, o := range Codes() {
			if o != c && errors.Is(err, o) {
				t.Errorf("%v matched %v", c, o)
			}
		}
		if ParseCode(c.String()) != c {
			t.Errorf("ParseCode(%q)", c.String())
		}
		wrapped := fmt.Errorf("outer: %w", err)
		if !errors.Is(wrapped, c) || CodeOf(wrapped) != c {
			t.Errorf("%v lost through fmt wrapping", c)
		}
	}
	if len(Codes()) != 12 {
		t.Fatalf("vocabulary has %d codes", len(Codes()))
	}
}

func TestErrorfKeepsCause(t *testing.T) {
	_, cause := os.Open("/nonexistent/file")
	err := Errorf(ErrNotFound, "open share %s: %w", "x/1", cause)
	if !errors.Is(err, os.ErrNotExist) || !errors.Is(err, ErrNotFound) {
		t.Fatal("cause lost")
	}
	if err.Error() != "open share x/1: open /nonexistent/file: no such file or directory" {
		t.Fatalf("message %q", err)
	}
	if got := Errorf(ErrCorrupt, "plain %d", 1).Error(); got != "plain 1" {
		t.Fatalf("plain message %q", got)
	}
	if got := Wrap(ErrInternal, errors.New("cause"), "doing x").Error(); got != "doing x: cause" {
		t.Fatalf("wrap message %q", got)
	}
	if strings.Count(err.Error(), "no such file") != 1 {
		t.Fatalf("message repeats cause: %q", err)
	}
}

func TestContextCodes(t *testing.T) {
	if !errors.Is(ErrCanceled, context.Canceled) || !errors.Is(ErrDeadlineExceeded, context.DeadlineExceeded) {
		t.Fatal("sentinels")
	}
	if errors.Is(ErrNotFound, context.Canceled) {
		t.Fatal("not found matched canceled")
	}
	ctx, cancel := context.WithCancel(context.Background())
	if CtxErr(ctx) != nil {
		t.Fatal("live ctx")
	}
	cancel()
	err := CtxErr(ctx)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrCanceled) || CodeOf(err) != ErrCanceled {
		t.Fatalf("canceled: %v", err)
	}
	err = Wrap(ErrUnavailable, context.DeadlineExceeded, "list")
	if CodeOf(err) != ErrDeadlineExceeded {
		t.Fatalf("Wrap kept %v", CodeOf(err))
	}
	if CodeOf(errors.New("x")) != ErrInternal || CodeOf(nil) != 0 {
		t.Fatal("CodeOf plain")
	}
	if CodeOf(fmt.Errorf("x: %w", context.Canceled)) != ErrCanceled {
		t.Fatal("CodeOf ctx")
	}
}
