package cloudtest

import (
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
)

// Fault is one injected failure.
type Fault int

// The faults a FaultTransport can inject in place of a request.
const (
	// Pass lets the request through.
	Pass Fault = iota
	// Unavailable503 answers 503 Service Unavailable (S3 SlowDown,
	// Azure ServerBusy: the throttling 503s).
	Unavailable503
	// TooMany429 answers 429 Too Many Requests (GCS throttling).
	TooMany429
	// InternalError500 answers 500.
	InternalError500
	// Reset fails the request with a connection reset, without sending
	// it.
	Reset
	// Forbidden403 answers 403 Forbidden.
	Forbidden403
)

// FaultTransport is an http.RoundTripper in front of a real emulator that
// replaces requests with scripted faults. Requests are matched in order:
// each request takes the next fault of the script (Pass once the script
// is used up), or Always when it is set.
type FaultTransport struct {
	// Base carries the requests that pass; nil means
	// http.DefaultTransport.
	Base http.RoundTripper

	mu       sync.Mutex
	script   []Fault
	always   Fault
	requests int
	injected int
}

// Script replaces the remaining script.
func (f *FaultTransport) Script(faults ...Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script = append([]Fault(nil), faults...)
	f.always = Pass
}

// Always injects fault into every request until the next Script call.
func (f *FaultTransport) Always(fault Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script = nil
	f.always = fault
}

// Counts returns the number of requests seen and faults injected since
// the last Reset.
func (f *FaultTransport) Counts() (requests, injected int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests, f.injected
}

// Reset clears the script and the counters.
func (f *FaultTransport) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script, f.always, f.requests, f.injected = nil, Pass, 0, 0
}

// RoundTrip implements http.RoundTripper.
func (f *FaultTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	f.mu.Lock()
	f.requests++
	fault := f.always
	if fault == Pass && len(f.script) > 0 {
		fault, f.script = f.script[0], f.script[1:]
	}
	if fault != Pass {
		f.injected++
	}
	f.mu.Unlock()
	base := f.Base
	if base == nil {
		base = http.DefaultTransport
	}
	if fault == Pass {
		return base.RoundTrip(req)
	}
	if req.Body != nil {
		io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	switch fault {
	case Reset:
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	case Unavailable503:
		return response(req, 503, "ServerBusy", "SlowDown"), nil
	case TooMany429:
		return response(req, 429, "", "rateLimitExceeded"), nil
	case InternalError500:
		return response(req, 500, "InternalError", "InternalError"), nil
	default:
		return response(req, 403, "AuthorizationFailure", "AccessDenied"), nil
	}
}

// response builds an error response that each SDK can parse: an S3-style
// XML body with a Code, and Azure's x-ms-error-code header.
func response(req *http.Request, status int, azureCode, code string) *http.Response {
	body := "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>" + code + "</Code><Message>injected</Message></Error>"
	h := http.Header{}
	h.Set("Content-Type", "application/xml")
	if azureCode != "" {
		h.Set("x-ms-error-code", azureCode)
	}
	if req.Method == http.MethodHead {
		body = ""
	}
	return &http.Response{
		Status:        http.StatusText(status),
		StatusCode:    status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}
}
