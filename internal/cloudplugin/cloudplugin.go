// Package cloudplugin is the body of the cloud backends' plugin binaries
// (sharestore-backend-cloud, -s3, -gcs and -azure): the factory that
// plugin.Serve calls with the configuration a host sends through the
// Configure RPC.
package cloudplugin

import (
	"context"
	"os"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/cloud"
	"github.com/sharestore/sharestore/internal/backendurl"
	"github.com/sharestore/sharestore/plugin"
)

// Factory returns the plugin factory for backend URLs of the given scheme
// ("s3", "gs" or "azblob"), or of any cloud scheme when scheme is "".
// The factory opens the backend named by cfg.URL (creating its bucket
// first when cfg.Create is set), reading credentials by their standard
// variable names from cfg.Secrets and then from the environment. A URL of
// another scheme, or any cfg.Options, is ErrInvalidArgument.
func Factory(scheme string) func(ctx context.Context, cfg plugin.Config) (sharestore.Backend, error) {
	return func(ctx context.Context, cfg plugin.Config) (sharestore.Backend, error) {
		for k := range cfg.Options {
			return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "unknown option %q for the cloud backends", k)
		}
		if scheme != "" {
			spec, err := backendurl.Parse(cfg.URL)
			if err != nil {
				return nil, err
			}
			if spec.Scheme != scheme {
				return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "this plugin serves %s:// backends, not %s://", scheme, spec.Scheme)
			}
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
}
