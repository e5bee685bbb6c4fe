package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/disk"
	"github.com/sharestore/sharestore/internal/backendurl"
)

// openBackend opens a backend from its URL form:
//
//	disk:PATH   a Tahoe storage directory (the one that contains shares/)
//	s3://…, gs://…, azblob://…   a bucket (see openCloud)
//
// create allows a disk store to be created when it does not exist yet.
func openBackend(ctx context.Context, spec string, create bool) (sharestore.Backend, error) {
	if backendurl.IsCloud(spec) {
		return openCloud(ctx, spec)
	}
	scheme, rest, ok := strings.Cut(spec, ":")
	if !ok || spec == "" {
		return nil, usageErr(fmt.Errorf("backend %q: want disk:PATH", spec))
	}
	switch scheme {
	case "disk", "file":
		rest = strings.TrimPrefix(rest, "//")
		if rest == "" {
			return nil, usageErr(fmt.Errorf("backend %q: missing path after disk:", spec))
		}
		b, err := disk.Open(rest, disk.Options{Create: create})
		if err != nil {
			return nil, openErr(err)
		}
		return b, nil
	}
	return nil, usageErr(fmt.Errorf("backend %q: unknown scheme %q (supported: disk:PATH, s3://BUCKET, gs://BUCKET, azblob://CONTAINER)", spec, scheme))
}
