// Command sharestore-backend-sqlite serves sqlitestore, shares in one
// SQLite file, as a sharestore backend plugin. A host starts it
// (sharestore ls --plugin PATH --backend sqlite:/srv/shares.db) and
// configures it through the Configure RPC:
//
//	URL      sqlite:PATH, the SQLite file (sqlite:///srv/shares.db and
//	         sqlite:/srv/shares.db are the same file); any other form is
//	         refused
//	Create   create the file if it does not exist (sharestore mkbucket);
//	         without it a missing file is an error
//	Options  chunk_size=BYTES  the chunk size of new shares (default
//	                           524288, 512 KiB)
//	         read_only=true    refuse every mutation
//	Secrets  none
//
// The plugin also serves its conformance harness (sqlitestore.Harness),
// so sharestore conformance --plugin PATH tests it on fresh SQLite files
// made, and planted, inside the plugin's process; no --backend is needed.
package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/cloud"
	"github.com/sharestore/sharestore/examples/sqlitestore"
	"github.com/sharestore/sharestore/plugin"
)

func main() {
	wrap, err := planted(bug)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", os.Args[0], err)
		os.Exit(2)
	}
	plugin.Serve(factory(wrap), plugin.WithHarness(sqlitestore.Harness{Options: sqlitestore.Options{Wrap: wrap}}))
}

// factory returns the plugin's plugin.Factory: it opens the backend the
// host names in cfg, each store wrapped by wrap (nil: none).
func factory(wrap func(*sqlitestore.Store) cloud.ObjectStore) plugin.Factory {
	return func(ctx context.Context, cfg plugin.Config) (sharestore.Backend, error) {
		path, err := parseURL(cfg.URL)
		if err != nil {
			return nil, err
		}
		o, err := parseOptions(cfg.Options)
		if err != nil {
			return nil, err
		}
		if len(cfg.Secrets) > 0 {
			return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "the sqlite plugin takes no secrets (given %s)", strings.Join(names(cfg.Secrets), ", "))
		}
		o.Create, o.Wrap = cfg.Create, wrap
		b, err := sqlitestore.OpenBackend(path, o)
		if err != nil {
			return nil, err
		}
		cmp.Or(cfg.Logger, slog.Default()).Debug("sqlite store open", "path", path, "chunk_size", b.Capabilities().ChunkSize, "read_only", o.ReadOnly)
		return b, nil
	}
}

// parseURL returns the file that a sqlite:PATH URL names.
func parseURL(u string) (string, error) {
	rest, ok := strings.CutPrefix(u, "sqlite:")
	if !ok {
		return "", sharestore.Errorf(sharestore.ErrInvalidArgument, "this plugin serves sqlite:PATH backends, not %q", schemeOf(u))
	}
	if r, ok := strings.CutPrefix(rest, "//"); ok {
		rest = r
	}
	if rest == "" {
		return "", sharestore.Errorf(sharestore.ErrInvalidArgument, "backend %q: want sqlite:PATH", u)
	}
	return rest, nil
}

// schemeOf is what a refused URL is quoted as: its scheme, and never the
// rest, which may hold a credential meant for another plugin.
func schemeOf(u string) string {
	if s, _, ok := strings.Cut(u, ":"); ok {
		return s + ":…"
	}
	return "a URL without a scheme"
}

// parseOptions reads the plugin's options into sqlitestore.Options. An
// unknown option, or a value that does not parse, is
// ErrInvalidArgument.
func parseOptions(opts map[string]string) (sqlitestore.Options, error) {
	var o sqlitestore.Options
	for _, k := range names(opts) {
		v := opts[k]
		switch k {
		case "chunk_size":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1 {
				return o, sharestore.Errorf(sharestore.ErrInvalidArgument, "option chunk_size=%q: want a positive number of bytes", v)
			}
			o.ChunkSize = n
		case "read_only":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return o, sharestore.Errorf(sharestore.ErrInvalidArgument, "option read_only=%q: want true or false", v)
			}
			o.ReadOnly = b
		default:
			return o, sharestore.Errorf(sharestore.ErrInvalidArgument, "unknown option %q for the sqlite plugin (it takes chunk_size and read_only)", k)
		}
	}
	return o, nil
}

// names returns the keys of m, sorted, so that messages are the same
// from one run to the next.
func names(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }
