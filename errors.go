package sharestore

import (
	"context"
	"errors"
	"fmt"
)

// Code is one class of the closed error vocabulary that every backend,
// the plugin protocol and the crawlers share. Each Code is itself an error
// value, so callers test for a class with errors.Is:
//
//	if errors.Is(err, sharestore.ErrNotFound) { … }
//
// The zero Code is not a class; CodeOf returns it only for a nil error.
type Code uint8

// The error vocabulary. It is closed: backends map every failure onto one
// of these, and nothing else crosses the plugin boundary.
const (
	// ErrNotFound: the share, shareset, object or file does not exist.
	ErrNotFound Code = iota + 1
	// ErrCorrupt: stored bytes cannot be parsed as a share container.
	ErrCorrupt
	// ErrInvalidArgument: the caller passed something malformed (a bad
	// storage index, a negative offset, a path outside the root, …).
	ErrInvalidArgument
	// ErrOutOfRange: an offset or size is beyond what is allowed (a write
	// past the allocated size, a mutable share past the maximum size).
	ErrOutOfRange
	// ErrConflict: the operation conflicts with the current state (the
	// share already exists, an upload is in progress, a guard refused).
	ErrConflict
	// ErrPermissionDenied: credentials were refused, the backend is
	// read-only, or a write enabler did not match.
	ErrPermissionDenied
	// ErrThrottled: the service asked us to slow down (S3 SlowDown, GCS
	// 429, Azure ServerBusy). Retrying later may succeed.
	ErrThrottled
	// ErrUnavailable: a transient failure (5xx, network error, a plugin
	// that is restarting). Retrying later may succeed.
	ErrUnavailable
	// ErrUnimplemented: the backend does not support the operation.
	ErrUnimplemented
	// ErrCanceled: the context was canceled. errors.Is also matches
	// context.Canceled.
	ErrCanceled
	// ErrDeadlineExceeded: the context's deadline passed. errors.Is also
	// matches context.DeadlineExceeded.
	ErrDeadlineExceeded
	// ErrInternal: a bug or an unexpected failure.
	ErrInternal
)

var codeNames = [...]string{
	0:                   "ok",
	ErrNotFound:         "not found",
	ErrCorrupt:          "corrupt",
	ErrInvalidArgument:  "invalid argument",
	ErrOutOfRange:       "out of range",
	ErrConflict:         "conflict",
	ErrPermissionDenied: "permission denied",
	ErrThrottled:        "throttled",
	ErrUnavailable:      "unavailable",
	ErrUnimplemented:    "unimplemented",
	ErrCanceled:         "canceled",
	ErrDeadlineExceeded: "deadline exceeded",
	ErrInternal:         "internal error",
}

var codeIDs = [...]string{
	0:                   "OK",
	ErrNotFound:         "NOT_FOUND",
	ErrCorrupt:          "CORRUPT",
	ErrInvalidArgument:  "INVALID_ARGUMENT",
	ErrOutOfRange:       "OUT_OF_RANGE",
	ErrConflict:         "CONFLICT",
	ErrPermissionDenied: "PERMISSION_DENIED",
	ErrThrottled:        "THROTTLED",
	ErrUnavailable:      "UNAVAILABLE",
	ErrUnimplemented:    "UNIMPLEMENTED",
	ErrCanceled:         "CANCELED",
	ErrDeadlineExceeded: "DEADLINE_EXCEEDED",
	ErrInternal:         "INTERNAL",
}

// Codes returns every class of the vocabulary, in declaration order.
func Codes() []Code {
	out := make([]Code, 0, len(codeNames)-1)
	for c := ErrNotFound; c <= ErrInternal; c++ {
		out = append(out, c)
	}
	return out
}

// Error returns the human name of the class, such as "not found".
func (c Code) Error() string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return fmt.Sprintf("error code %d", uint8(c))
}

// String returns the stable identifier of the class, such as "NOT_FOUND".
// It is the form used on the wire and in JSON.
func (c Code) String() string {
	if int(c) < len(codeIDs) {
		return codeIDs[c]
	}
	return fmt.Sprintf("CODE_%d", uint8(c))
}

// ParseCode returns the Code whose String is s, or ErrInternal if s names
// no class.
func ParseCode(s string) Code {
	for c := range codeIDs {
		if codeIDs[c] == s && c != 0 {
			return Code(c)
		}
	}
	return ErrInternal
}

// Is makes ErrCanceled match context.Canceled and ErrDeadlineExceeded match
// context.DeadlineExceeded.
func (c Code) Is(target error) bool {
	switch target {
	case context.Canceled:
		return c == ErrCanceled
	case context.DeadlineExceeded:
		return c == ErrDeadlineExceeded
	}
	return false
}

// Error is an error with a class from the vocabulary and a message that
// names the thing that failed. It wraps an optional cause.
type Error struct {
	// Code is the class of the failure.
	Code Code
	// Msg says what failed, naming the share, key or file.
	Msg string
	// Err is the underlying cause, or nil.
	Err error
}

// Error returns Msg, followed by the cause when there is one.
func (e *Error) Error() string {
	_, inMsg := e.Err.(hidden)
	switch {
	case e.Err == nil && e.Msg == "":
		return e.Code.Error()
	case e.Err == nil || inMsg:
		return e.Msg
	case e.Msg == "":
		return e.Err.Error()
	}
	return e.Msg + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is e's Code (or the context error that Code
// stands for).
func (e *Error) Is(target error) bool {
	if c, ok := target.(Code); ok {
		return c == e.Code
	}
	return e.Code.Is(target)
}

// Errorf returns an *Error of class code whose message is formatted as
// fmt.Errorf formats it. A %w verb records the cause, so errors.Is and
// errors.As see through it.
func Errorf(code Code, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &Error{Code: code, Msg: err.Error(), Err: causeOf(err)}
}

// causeOf returns the error wrapped by a fmt.Errorf result, if any. The
// cause's text is already part of the message, so Error.Error must not
// repeat it; we keep it only for errors.Is/As.
func causeOf(err error) error {
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		if c := u.Unwrap(); c != nil {
			return hidden{c}
		}
	case interface{ Unwrap() []error }:
		if cs := u.Unwrap(); len(cs) > 0 {
			return hidden{errors.Join(cs...)}
		}
	}
	return nil
}

// hidden wraps a cause whose text is already in the message: it prints as
// nothing but still unwraps.
type hidden struct{ err error }

func (h hidden) Error() string { return "" }
func (h hidden) Unwrap() error { return h.err }

// Wrap returns err classified as code, with msg in front of it. It keeps
// err as the cause. If err is nil, Wrap returns nil. A context error keeps
// its own class (ErrCanceled or ErrDeadlineExceeded) whatever code says, so
// cancellation is never reported as something else.
func Wrap(code Code, err error, msg string) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, context.Canceled):
		code = ErrCanceled
	case errors.Is(err, context.DeadlineExceeded):
		code = ErrDeadlineExceeded
	}
	return &Error{Code: code, Msg: msg, Err: err}
}

// CodeOf returns the class of err: the Code of the outermost *Error or
// Code in its chain, ErrCanceled or ErrDeadlineExceeded for context
// errors, ErrInternal for any other non-nil error, and 0 for nil.
func CodeOf(err error) Code {
	if err == nil {
		return 0
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	var c Code
	switch {
	case errors.As(err, &c):
		return c
	case errors.Is(err, context.Canceled):
		return ErrCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return ErrDeadlineExceeded
	}
	return ErrInternal
}

// CtxErr returns nil if ctx is live, and otherwise ctx's error classified
// as ErrCanceled or ErrDeadlineExceeded (errors.Is still matches the
// context error itself).
func CtxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return Wrap(ErrCanceled, err, "operation stopped")
	}
	return nil
}
