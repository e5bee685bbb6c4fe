// Command sharestore-backend-disk is the disk backend as a sharestore
// plugin. A host starts it (sharestore ls --plugin PATH --backend
// disk:/srv/storage) and configures it through the Configure RPC:
//
//	URL      disk:PATH (or file:PATH, or a bare PATH): the storage directory;
//	         a URL of any other scheme (s3://…) is refused
//	Create   create the store if it does not exist
//	Options  read_only=true, reserved_space=BYTES
package main

import (
	"context"
	"strconv"
	"strings"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/disk"
	"github.com/sharestore/sharestore/conformance"
	"github.com/sharestore/sharestore/plugin"
)

// main serves the disk backend, and conformance.DiskHarness for
// sharestore conformance --plugin: each test's store is a new temporary
// directory in the plugin's process.
func main() { plugin.Serve(open, plugin.WithHarness(conformance.DiskHarness{})) }

func open(_ context.Context, cfg plugin.Config) (sharestore.Backend, error) {
	path := cfg.URL
	if scheme, rest, ok := strings.Cut(path, ":"); ok && (scheme == "disk" || scheme == "file") {
		path = strings.TrimPrefix(rest, "//")
	} else if ok && isScheme(scheme) {
		// The scheme is named only in the scheme://… form: in
		// KEY:SECRET@bucket, the text before the colon is a credential.
		if strings.HasPrefix(rest, "//") {
			return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "this plugin serves disk:PATH backends, not %s:// (give another plugin, or disk:PATH)", scheme)
		}
		return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "this plugin serves disk:PATH backends, not URLs of another scheme (give another plugin, or disk:PATH)")
	}
	if path == "" {
		return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "backend %q: want disk:PATH", cfg.URL)
	}
	opts := disk.Options{Create: cfg.Create}
	for k, v := range cfg.Options {
		switch k {
		case "read_only":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "option read_only=%q: %v", v, err)
			}
			opts.ReadOnly = b
		case "reserved_space":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "option reserved_space=%q: %v", v, err)
			}
			opts.ReservedSpace = n
		default:
			return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "unknown option %q for the disk backend", k)
		}
	}
	return disk.Open(path, opts)
}

// isScheme reports whether s, the text before a URL's first colon, is a
// URL scheme of two characters or more (RFC 3986: a letter, then letters,
// digits, "+", "-" or "."). One letter is a Windows drive, as in C:\srv.
func isScheme(s string) bool {
	if len(s) < 2 {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.'):
		default:
			return false
		}
	}
	return true
}
