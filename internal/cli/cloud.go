package cli

import (
	"context"

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
func openCloud(ctx context.Context, spec string) (sharestore.Backend, error) {
	b, err := backendurl.Open(ctx, spec, backendurl.Env{Logger: loggerFrom(ctx)}, cloud.Options{})
	if err != nil {
		return nil, openErr(err)
	}
	return b, nil
}
