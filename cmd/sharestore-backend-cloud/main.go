// Command sharestore-backend-cloud serves the cloud backends (S3, GCS,
// Azure) as a sharestore plugin. A host starts it (sharestore ls --plugin
// PATH --backend s3://bucket/prefix?region=…) and configures it through
// the Configure RPC:
//
//	URL      s3://…, gs://… or azblob://… (see internal/backendurl)
//	Create   create the bucket or container first if it is missing
//	Secrets  credentials by their standard variable names
//	         (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
//	         AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_ACCOUNT,
//	         AZURE_STORAGE_KEY); a name missing there is read from the
//	         environment the host passed on.
//
// It takes no Options.
package main

import (
	"context"
	"os"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/cloud"
	"github.com/sharestore/sharestore/internal/backendurl"
	"github.com/sharestore/sharestore/plugin"
)

func main() { plugin.Serve(open) }

func open(ctx context.Context, cfg plugin.Config) (sharestore.Backend, error) {
	for k := range cfg.Options {
		return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "unknown option %q for the cloud backends", k)
	}
	getenv := func(k string) string {
		if v, ok := cfg.Secrets[k]; ok {
			return v
		}
		return os.Getenv(k)
	}
	if cfg.Create {
		if err := backendurl.CreateBucket(ctx, cfg.URL, getenv); err != nil {
			return nil, err
		}
	}
	return backendurl.Open(ctx, cfg.URL, getenv, cloud.Options{})
}
