// Package cloudplugin is the body of the cloud backends' plugin binaries
// (sharestore-backend-cloud, -s3, -gcs and -azure): the factory that
// plugin.Serve calls with the configuration a host sends through the
// Configure RPC.
package cloudplugin

import (
	"context"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/cloud"
	"github.com/sharestore/sharestore/internal/backendurl"
	"github.com/sharestore/sharestore/plugin"
)

// secretAliases are the short secret names the factory takes, and the
// standard variable each stands for.
var secretAliases = map[string]string{
	"access_key_id":     "AWS_ACCESS_KEY_ID",
	"secret_access_key": "AWS_SECRET_ACCESS_KEY",
	"session_token":     "AWS_SESSION_TOKEN",
	"account_key":       "AZURE_STORAGE_KEY",
	"connection_string": "AZURE_STORAGE_CONNECTION_STRING",
}

// Factory returns the plugin factory for backend URLs of the given scheme
// ("s3", "gs" or "azblob"), or of any cloud scheme when scheme is "".
// The factory opens the backend named by cfg.URL (creating its bucket
// first when cfg.Create is set).
//
// Credentials come from cfg.Secrets, by their standard variable names in
// any case (AWS_ACCESS_KEY_ID or aws_access_key_id, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN, AZURE_STORAGE_KEY, AZURE_STORAGE_CONNECTION_STRING)
// or by the short names access_key_id, secret_access_key, session_token,
// account_key and connection_string; a name found in neither is read
// from the environment.
//
// cfg.Options may hold read_only=BOOL (every mutation refused with
// ErrPermissionDenied, and the bucket never created), retry_attempts=N
// (attempts per request, at least 1) and retry_timeout=DURATION (how long
// a request is retried, such as 30s; Go's duration syntax). Any other option, or a malformed value, is
// ErrInvalidArgument, as is a URL of another scheme.
func Factory(scheme string) func(ctx context.Context, cfg plugin.Config) (sharestore.Backend, error) {
	return func(ctx context.Context, cfg plugin.Config) (sharestore.Backend, error) {
		opts, err := options(cfg.Options)
		if err != nil {
			return nil, err
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
		env := secretsEnv(cfg.Secrets)
		env.Logger = cfg.Logger
		if cfg.Create && opts.ReadOnly {
			return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "option read_only=true: a read-only backend cannot create its bucket")
		}
		if cfg.Create {
			if err := backendurl.CreateBucket(ctx, cfg.URL, env); err != nil {
				return nil, err
			}
		}
		// Open checks the bucket (one request): a plugin that cannot
		// reach its store fails its Configure, in one line.
		return backendurl.Open(ctx, cfg.URL, env, opts)
	}
}

// options parses the options Factory takes into the cloud layer's.
func options(given map[string]string) (cloud.Options, error) {
	var opts cloud.Options
	for k, v := range given {
		switch k {
		case "retry_attempts":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return opts, sharestore.Errorf(sharestore.ErrInvalidArgument, "option retry_attempts=%q: want a whole number, at least 1", v)
			}
			opts.Retry.Attempts = n
		case "read_only":
			ro, err := strconv.ParseBool(v)
			if err != nil {
				return opts, sharestore.Errorf(sharestore.ErrInvalidArgument, "option read_only=%q: want true or false", v)
			}
			opts.ReadOnly = ro
		case "retry_timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return opts, sharestore.Errorf(sharestore.ErrInvalidArgument, "option retry_timeout=%q: want a positive duration such as 30s or 2m", v)
			}
			opts.Retry.MaxElapsed = d
		default:
			return opts, sharestore.Errorf(sharestore.ErrInvalidArgument, "unknown option %q for the cloud backends (known: read_only, retry_attempts, retry_timeout)", k)
		}
	}
	return opts, nil
}

// secretsEnv returns the backendurl.Env that reads a standard
// variable's value from secrets (under its name in any case, or its
// short alias), else from the environment, and names which of the two
// it was.
func secretsEnv(secrets map[string]string) backendurl.Env {
	byName := map[string]string{}
	given := map[string]string{} // standard name -> the secret's name as given
	for k, v := range secrets {
		name := strings.ToUpper(k)
		if std, ok := secretAliases[strings.ToLower(k)]; ok {
			name = std
		}
		byName[name], given[name] = v, k
	}
	return backendurl.Env{
		Getenv: func(k string) string {
			if v, ok := byName[k]; ok {
				return v
			}
			return os.Getenv(k)
		},
		Source: func(k string) string {
			if g, ok := given[k]; ok {
				return "plugin secret " + g
			}
			return "environment " + k
		},
	}
}
