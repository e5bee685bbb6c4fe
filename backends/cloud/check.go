package cloud

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/sharestore/sharestore"
)

// Endpoint describes, for messages, where an adapter sends its requests
// and with which credentials. It never holds a secret.
type Endpoint struct {
	// Bucket is the bucket or container.
	Bucket string
	// Kind is what the store calls a bucket, for messages: "bucket"
	// when empty, "container" for Azure.
	Kind string
	// URL is the endpoint the requests go to, such as
	// http://127.0.0.1:9000 or https://storage.googleapis.com.
	URL string
	// Credentials names the credential source used, such as
	// "environment AWS_ACCESS_KEY_ID" or "none (auth=none)"; with
	// NoCredentials, the sources tried.
	Credentials string
	// NoCredentials reports that no credential source gave credentials,
	// so no request was made.
	NoCredentials bool
}

// BucketChecker is implemented by adapters that can check, with one
// request, that their bucket is there and their credentials work.
type BucketChecker interface {
	// CheckBucket resolves the adapter's credentials and makes one
	// request for the bucket's or container's own metadata (S3
	// HeadBucket, GCS bucket attributes, Azure container properties).
	// It returns the endpoint it used, and nil or the request's
	// classified error: ErrNotFound when the bucket does not exist,
	// ErrPermissionDenied when the credentials are refused (or, with
	// Endpoint.NoCredentials, when there are none), ErrUnavailable when
	// the endpoint cannot be reached.
	CheckBucket(ctx context.Context) (Endpoint, error)
}

// checkRetry bounds the retries of Check: an unreachable endpoint should
// be reported in about a second, not after the minutes a request in a
// crawl may keep trying.
var checkRetry = RetryPolicy{Attempts: 3, MaxElapsed: 10 * time.Second, Base: 200 * time.Millisecond, Max: time.Second}

// Check checks that the backend's bucket is there and reachable and that
// its credentials work, with one request (tried up to 3 times, within
// about a second, when it is throttled or the endpoint is unavailable),
// when the store is a BucketChecker; for any other store it does
// nothing. New does no I/O, and nothing calls Check for a library user
// who wants no request at open; the sharestore command and the cloud
// plugins call it once, right after opening a backend.
//
// The error keeps the class of the request's error and says in one line
// what went wrong, naming the bucket, the endpoint and the credential
// source: a bucket that does not exist (pointing at sharestore
// mkbucket), credentials refused, no credentials found (and where they
// were looked for), or an endpoint that cannot be reached.
func (b *Backend) Check(ctx context.Context) error {
	bc, ok := b.c.store.(BucketChecker)
	if !ok {
		return nil
	}
	p := checkRetry
	p.OnRetry = b.c.opts.Retry.OnRetry
	var ep Endpoint
	err := p.Do(ctx, b.c.opts.Name+": check bucket", func(ctx context.Context) error {
		var err error
		ep, err = bc.CheckBucket(ctx)
		return err
	})
	return CheckError(b.c.opts.Name, ep, err)
}

// CheckError is the error Check returns for err, the error of a
// BucketChecker's request to ep, with name the backend's kind ("s3"):
// nil for nil, err itself when the context ended, and otherwise an
// error of err's class whose message is one line naming ep's bucket,
// URL and credentials and saying what went wrong, without the SDK's
// text.
func CheckError(name string, ep Endpoint, err error) error {
	if err == nil {
		return nil
	}
	code := sharestore.CodeOf(err)
	if code == sharestore.ErrCanceled {
		return err
	}
	r, _ := responseOf(err)
	status := statusText(r)
	kind := ep.Kind
	if kind == "" {
		kind = "bucket"
	}
	creds := "(credentials: " + ep.Credentials + ")"
	if status != "" {
		creds = "(" + status + "; credentials: " + ep.Credentials + ")"
	}
	// The endpoint is always followed by a space or the end: redaction
	// takes "http://host:port:" for a forgotten user:password.
	var msg string
	switch {
	case ep.NoCredentials:
		msg = fmt.Sprintf("no credentials found for %s %q at %s (tried %s)", kind, ep.Bucket, ep.URL, ep.Credentials)
	case code == sharestore.ErrNotFound:
		msg = fmt.Sprintf("%s %q does not exist at %s %s; create it with sharestore mkbucket", kind, ep.Bucket, ep.URL, creds)
	case code == sharestore.ErrPermissionDenied:
		msg = fmt.Sprintf("access denied to %s %q at %s with the credentials from %s", kind, ep.Bucket, ep.URL, ep.Credentials)
		if status != "" {
			msg = fmt.Sprintf("access denied to %s %q at %s (%s) with the credentials from %s", kind, ep.Bucket, ep.URL, status, ep.Credentials)
		}
	case code == sharestore.ErrThrottled:
		msg = fmt.Sprintf("requests to %s %q at %s are throttled %s", kind, ep.Bucket, ep.URL, creds)
	case r.Status == 0 && (code == sharestore.ErrUnavailable || code == sharestore.ErrDeadlineExceeded):
		msg = fmt.Sprintf("cannot reach %s for %s %q%s (credentials: %s)", ep.URL, kind, ep.Bucket, reason(err), ep.Credentials)
	case r.Status != 0:
		msg = fmt.Sprintf("the check of %s %q at %s failed %s", kind, ep.Bucket, ep.URL, creds)
	default:
		first, _, _ := strings.Cut(err.Error(), "\n")
		msg = fmt.Sprintf("the check of %s %q at %s failed: %s (credentials: %s)", kind, ep.Bucket, ep.URL, Redact(first), ep.Credentials)
	}
	return sharestore.Errorf(code, "%s: %s%w", name, msg, quiet{err})
}

// statusText is "HTTP 404 NoSuchBucket", or "" without a status.
func statusText(r Response) string {
	switch {
	case r.Status != 0 && r.Code != "" && r.Code != fmt.Sprint(r.Status):
		return fmt.Sprintf("HTTP %d %s", r.Status, r.Code)
	case r.Status != 0:
		return fmt.Sprintf("HTTP %d", r.Status)
	}
	return ""
}

// reason is why a request got no response, in a few words (": connection
// refused", ": no such host", ": timed out"), or "".
func reason(err error) string {
	var dns *net.DNSError
	var errno syscall.Errno
	var ne net.Error
	switch {
	case errors.As(err, &dns):
		return ": cannot resolve " + dns.Name
	case errors.As(err, &errno):
		return ": " + errno.Error()
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return ": timed out"
	}
	return ""
}
