package cli

import (
	"context"
	"os"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/cloud"
	"github.com/sharestore/sharestore/internal/backendurl"
)

// openCloud opens a cloud backend URL (package backendurl documents the
// forms and where credentials come from). It does no I/O, so a missing
// bucket shows up on first use.
func openCloud(ctx context.Context, spec string) (sharestore.Backend, error) {
	b, err := backendurl.Open(ctx, spec, os.Getenv, cloud.Options{})
	if err != nil {
		return nil, openErr(err)
	}
	return b, nil
}
