package cloud

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"syscall"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/internal/backendurl/redact"
)

// RetryPolicy bounds the retries of one object store request. It is the
// only retry loop in the cloud backends: adapters turn their SDK's own
// retries down so the two never multiply.
//
// A failed attempt is retried only when its error is ErrThrottled or
// ErrUnavailable; everything else (NotFound, PermissionDenied,
// InvalidArgument, Corrupt, cancellation, …) is returned at once. Between
// attempts the policy sleeps for a random duration in [0, d), where d
// starts at Base and doubles up to Max ("full jitter"). It stops after
// Attempts attempts, or when the next sleep would end after MaxElapsed
// has passed since the first attempt, or when ctx ends, whichever comes
// first.
type RetryPolicy struct {
	// Attempts is the maximum number of attempts, at least 1. Zero means
	// DefaultRetryPolicy's.
	Attempts int
	// MaxElapsed bounds the time from the first attempt to the start of
	// the last. Zero means DefaultRetryPolicy's.
	MaxElapsed time.Duration
	// Base is the first backoff bound. Zero means DefaultRetryPolicy's.
	Base time.Duration
	// Max caps the backoff bound. Zero means DefaultRetryPolicy's.
	Max time.Duration
	// OnRetry, if set, is called before each sleep with the attempt
	// number that failed (1-based), its error and the chosen delay. It
	// must not block.
	OnRetry func(what string, attempt int, err error, delay time.Duration)
}

// DefaultRetryPolicy is used for zero fields of a RetryPolicy: 6
// attempts within 2 minutes, backoff from 200ms up to 15s.
var DefaultRetryPolicy = RetryPolicy{Attempts: 6, MaxElapsed: 2 * time.Minute, Base: 200 * time.Millisecond, Max: 15 * time.Second}

func (p RetryPolicy) withDefaults() RetryPolicy {
	d := DefaultRetryPolicy
	if p.Attempts <= 0 {
		p.Attempts = d.Attempts
	}
	if p.MaxElapsed <= 0 {
		p.MaxElapsed = d.MaxElapsed
	}
	if p.Base <= 0 {
		p.Base = d.Base
	}
	if p.Max <= 0 {
		p.Max = d.Max
	}
	if p.Max < p.Base {
		p.Max = p.Base
	}
	return p
}

// Retryable reports whether err is worth another attempt: ErrThrottled or
// ErrUnavailable, and the context is not the cause.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	switch sharestore.CodeOf(err) {
	case sharestore.ErrThrottled, sharestore.ErrUnavailable:
		return true
	}
	return false
}

// Do runs fn until it succeeds, fails with an error that is not
// Retryable, or the policy's bounds are reached, and returns fn's last
// error (prefixed with the attempt count when more than one attempt was
// made). what names the request in that message; it must hold no secret.
// Do never starts an attempt after ctx has ended.
func (p RetryPolicy) Do(ctx context.Context, what string, fn func(ctx context.Context) error) error {
	p = p.withDefaults()
	start := time.Now()
	bound := p.Base
	for attempt := 1; ; attempt++ {
		if err := sharestore.CtxErr(ctx); err != nil {
			return err
		}
		err := fn(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return stopped(ctx, err, what)
		}
		if !Retryable(err) || attempt >= p.Attempts {
			return giveUp(err, what, attempt)
		}
		delay := time.Duration(rand.Int64N(int64(bound)) + 1)
		if time.Since(start)+delay > p.MaxElapsed {
			return giveUp(err, what, attempt)
		}
		if p.OnRetry != nil {
			p.OnRetry(what, attempt, err, delay)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return stopped(ctx, err, what)
		case <-t.C:
		}
		bound = min(bound*2, p.Max)
	}
}

// stopped reports that ctx ended while a request was failing: the class
// is the context's, and the last failure is kept in the message.
func stopped(ctx context.Context, err error, what string) error {
	ce := sharestore.CtxErr(ctx)
	return &sharestore.Error{Code: sharestore.CodeOf(ce), Msg: what + ": " + err.Error(), Err: ctx.Err()}
}

func giveUp(err error, what string, attempts int) error {
	if attempts == 1 {
		return err
	}
	return sharestore.Wrap(sharestore.CodeOf(err), err, fmt.Sprintf("%s: gave up after %d attempts", what, attempts))
}

// ClassifyStatus maps an HTTP status code to the vocabulary: 404 is
// ErrNotFound, 401 and 403 ErrPermissionDenied, 429 ErrThrottled (503 too
// when throttled is set, i.e. the provider said SlowDown or ServerBusy),
// 408 and the other 5xx ErrUnavailable, 409 and 412 ErrConflict, 416
// ErrOutOfRange, other 4xx ErrInvalidArgument, and anything else
// ErrInternal.
func ClassifyStatus(status int, throttled bool) sharestore.Code {
	switch {
	case throttled || status == 429:
		return sharestore.ErrThrottled
	case status == 404:
		return sharestore.ErrNotFound
	case status == 401 || status == 403:
		return sharestore.ErrPermissionDenied
	case status == 408 || status >= 500 && status < 600:
		return sharestore.ErrUnavailable
	case status == 409 || status == 412:
		return sharestore.ErrConflict
	case status == 416:
		return sharestore.ErrOutOfRange
	case status >= 400 && status < 500:
		return sharestore.ErrInvalidArgument
	}
	return sharestore.ErrInternal
}

// ClassifyTransport classifies an error that carries no HTTP status:
// context errors keep their class, network failures (connection refused
// or reset, timeouts, a body cut short) are ErrUnavailable, and anything
// else is ErrInternal.
func ClassifyTransport(err error) sharestore.Code {
	var ne net.Error
	var oe *net.OpError
	switch {
	case errors.Is(err, context.Canceled):
		return sharestore.ErrCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return sharestore.ErrDeadlineExceeded
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.EPIPE), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF),
		errors.As(err, &oe), errors.As(err, &ne):
		return sharestore.ErrUnavailable
	}
	return sharestore.ErrInternal
}

// AdapterError returns an error of class code for an adapter: its
// message is msg followed by err's text with anything that looks like a
// credential removed (Redact), and it wraps err so that errors.As still
// finds the SDK's error.
func AdapterError(code sharestore.Code, msg string, err error) error {
	if err == nil {
		return sharestore.Errorf(code, "%s", msg)
	}
	switch {
	case errors.Is(err, context.Canceled):
		code = sharestore.ErrCanceled
	case errors.Is(err, context.DeadlineExceeded):
		code = sharestore.ErrDeadlineExceeded
	}
	return sharestore.Errorf(code, "%s: %s%w", msg, Redact(err.Error()), quiet{err})
}

// Response is what an adapter found in the error of a failed request.
type Response struct {
	// Status is the HTTP status, or 0 when no response came back.
	Status int
	// Code is the store's own error code ("SlowDown", "BlobNotFound"),
	// or "".
	Code string
	// Throttled reports that the store asked the caller to slow down
	// (S3 SlowDown or 503, Azure ServerBusy, ...).
	Throttled bool
	// NotFound reports that the object or bucket does not exist, by the
	// store's code or the SDK's sentinel error.
	NotFound bool
}

// ClassifyError is an adapter's whole error mapping, given what it read
// from err: ErrThrottled when r says throttled, ErrNotFound when it says
// not found, ClassifyStatus for any other status, and ClassifyTransport
// without one. The message is "name: what", then the status and code
// when there are any, then err's redacted text (AdapterError).
func ClassifyError(name, what string, r Response, err error) error {
	if err == nil {
		return nil
	}
	var c sharestore.Code
	switch {
	case r.Throttled:
		c = sharestore.ErrThrottled
	case r.NotFound:
		c = sharestore.ErrNotFound
	case r.Status != 0:
		c = ClassifyStatus(r.Status, false)
	default:
		c = ClassifyTransport(err)
	}
	msg := name + ": " + what
	switch {
	case r.Status != 0 && r.Code != "":
		msg += fmt.Sprintf(" (HTTP %d %s)", r.Status, r.Code)
	case r.Status != 0:
		msg += fmt.Sprintf(" (HTTP %d)", r.Status)
	case r.Code != "":
		msg += " (" + r.Code + ")"
	}
	return AdapterError(c, msg, responseErr{r: r, err: err})
}

// responseErr keeps what an adapter read from a failed response
// alongside the SDK's error, for CheckError.
type responseErr struct {
	r   Response
	err error
}

func (e responseErr) Error() string { return e.err.Error() }
func (e responseErr) Unwrap() error { return e.err }

// responseOf returns the Response ClassifyError recorded in err.
func responseOf(err error) (Response, bool) {
	var re responseErr
	if errors.As(err, &re) {
		return re.r, true
	}
	return Response{}, false
}

// quiet prints as nothing but unwraps to the error it holds.
type quiet struct{ err error }

func (q quiet) Error() string { return "" }
func (q quiet) Unwrap() error { return q.err }

// Redact removes credentials from s: it is redact.String, the one
// redaction function of the module (signatures, SAS parameters, account
// keys, userinfo, ...).
func Redact(s string) string { return redact.String(s) }
