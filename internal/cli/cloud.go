package cli

import (
	"context"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/cloud"
	"github.com/sharestore/sharestore/internal/backendurl"
)

// openCloud opens a cloud backend URL (package backendurl documents the
// forms and where credentials come from), with the SDK logging through
// the command's logger. It checks the bucket with one request
// (cloud.Backend.Check), so that a missing bucket, refused or missing
// credentials or an unreachable endpoint is exit code 2 with one line
// naming the bucket, the endpoint and the credential source, before any
// work starts.
//
// A retry observer in ctx (withRetryObserver) is told of every retry.
func openCloud(ctx context.Context, spec string) (sharestore.Backend, error) {
	opts := cloud.Options{Retry: cloud.RetryPolicy{OnRetry: retryObserverFrom(ctx)}}
	o := openOptionsFrom(ctx)
	b, err := backendurl.Open(ctx, spec, backendurl.Env{Logger: loggerFrom(ctx), Getenv: o.getenv, Source: o.source}, opts)
	if err != nil {
		return nil, openErr(err)
	}
	return b, nil
}

type retryObserverKey struct{}

// withRetryObserver returns ctx carrying fn, which the cloud backends
// openCloud opens call before each retry of a request (see
// cloud.RetryPolicy.OnRetry).
func withRetryObserver(ctx context.Context, fn func(what string, attempt int, err error, delay time.Duration)) context.Context {
	return context.WithValue(ctx, retryObserverKey{}, fn)
}

// retryObserverFrom returns the retry observer in ctx, or nil.
func retryObserverFrom(ctx context.Context) func(what string, attempt int, err error, delay time.Duration) {
	fn, _ := ctx.Value(retryObserverKey{}).(func(string, int, error, time.Duration))
	return fn
}
