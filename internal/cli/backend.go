package cli

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/disk"
	"github.com/sharestore/sharestore/internal/backendurl"
	"github.com/sharestore/sharestore/internal/backendurl/redact"
	"github.com/sharestore/sharestore/plugin"
)

// pluginFlags are --plugin and --plugin-sha256, which every command that
// takes --backend also takes.
type pluginFlags struct {
	path   string
	sha256 string
	flag   string // the path's flag, for messages ["--plugin"]
}

// name returns the path's flag as the user typed it.
func (p pluginFlags) name() string {
	if p.flag == "" {
		return "--plugin"
	}
	return p.flag
}

// add registers the flags on fs.
func (p *pluginFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&p.path, "plugin", "", "serve the backend from this plugin binary (e.g. sharestore-backend-disk); --backend is passed to it through Configure")
	fs.StringVar(&p.sha256, "plugin-sha256", "", "with --plugin: refuse to start the plugin unless its SHA-256 is this hex digest")
}

// addFor registers --NAME-plugin and --NAME-plugin-sha256 on fs, for the
// backend that --NAME names (copy's --from and --to).
func (p *pluginFlags) addFor(fs *pflag.FlagSet, name string) {
	fs.StringVar(&p.path, name+"-plugin", "", "serve the --"+name+" backend from this plugin binary; --"+name+" is passed to it through Configure")
	fs.StringVar(&p.sha256, name+"-plugin-sha256", "", "with --"+name+"-plugin: refuse to start the plugin unless its SHA-256 is this hex digest")
	p.flag = "--" + name + "-plugin"
}

// openBackend opens a backend from its URL form:
//
//	disk:PATH   a Tahoe storage directory (the one that contains shares/)
//	s3://…, gs://…, azblob://…   a bucket (see openCloud)
//
// create allows a disk store to be created when it does not exist yet.
//
// With pf.path set, the backend is served by that plugin binary instead,
// and spec (in whatever form the plugin understands) reaches it through
// the Configure RPC.
//
// No error quotes spec unredacted (redact.String): it may hold a
// credential.
func openBackend(ctx context.Context, spec string, create bool, pf pluginFlags) (sharestore.Backend, error) {
	if pf.path != "" {
		return openPlugin(ctx, spec, create, pf)
	}
	if pf.sha256 != "" {
		return nil, usageErr(fmt.Errorf("%s-sha256 needs %s", pf.name(), pf.name()))
	}
	if backendurl.IsCloud(spec) {
		return openCloud(ctx, spec)
	}
	scheme, rest, ok := strings.Cut(spec, ":")
	if !ok || spec == "" {
		return nil, usageErr(fmt.Errorf("backend %q: want disk:PATH", redact.String(spec)))
	}
	switch scheme {
	case "disk", "file":
		rest = strings.TrimPrefix(rest, "//")
		if rest == "" {
			return nil, usageErr(fmt.Errorf("backend %q: missing path after disk:", redact.String(spec)))
		}
		b, err := disk.Open(rest, disk.Options{Create: create})
		if err != nil {
			return nil, openErr(err)
		}
		return b, nil
	}
	// The scheme is not quoted on its own: in KEY:SECRET@bucket, it is
	// the key.
	return nil, usageErr(fmt.Errorf("backend %q: unknown scheme (supported: disk:PATH, s3://BUCKET, gs://BUCKET, azblob://CONTAINER)", redact.String(spec)))
}

func openPlugin(ctx context.Context, spec string, create bool, pf pluginFlags) (sharestore.Backend, error) {
	var opts plugin.HostOptions
	if pf.sha256 != "" {
		sum, err := hex.DecodeString(pf.sha256)
		if err != nil || len(sum) != 32 {
			return nil, usageErr(fmt.Errorf("%s-sha256 %q: want 64 hex digits", pf.name(), pf.sha256))
		}
		opts.SHA256 = sum
	}
	b, err := plugin.Open(ctx, pf.path, plugin.Config{URL: spec, Create: create}, opts)
	if err != nil {
		return nil, openErr(err)
	}
	return b, nil
}
