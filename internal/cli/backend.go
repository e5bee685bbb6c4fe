package cli

import (
	"cmp"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/disk"
	"github.com/sharestore/sharestore/internal/backendurl"
	"github.com/sharestore/sharestore/internal/backendurl/redact"
	"github.com/sharestore/sharestore/internal/logging"
	"github.com/sharestore/sharestore/plugin"
)

// pluginFlags are the flags of a backend served by a plugin: --plugin,
// --plugin-sha256, --plugin-option and --plugin-config, which every
// command that takes --backend also takes, or their --NAME-plugin forms
// for the backend that --NAME names (copy's --from and --to).
type pluginFlags struct {
	path    string
	sha256  string
	options []string // --plugin-option KEY=VALUE, in the order given
	config  string   // --plugin-config FILE
	flag    string   // the path's flag, for messages ["--plugin"]
	// stderr receives the plugin's log records, every secret value
	// removed, when the command's context carries no logger.
	stderr io.Writer

	resolved *pluginSettings // once settings has run
}

// name returns the path's flag as the user typed it.
func (p *pluginFlags) name() string {
	if p.flag == "" {
		return "--plugin"
	}
	return p.flag
}

// add registers the flags on fs; the plugin's stderr goes to stderr.
func (p *pluginFlags) add(fs *pflag.FlagSet, stderr io.Writer) {
	fs.StringVar(&p.path, "plugin", "", "serve the backend from this plugin binary (e.g. sharestore-backend-disk); --backend is passed to it through Configure")
	p.addCommon(fs, "", stderr)
}

// addFor registers --NAME-plugin and the flags that go with it on fs, for
// the backend that --NAME names (copy's --from and --to).
func (p *pluginFlags) addFor(fs *pflag.FlagSet, name string, stderr io.Writer) {
	fs.StringVar(&p.path, name+"-plugin", "", "serve the --"+name+" backend from this plugin binary; --"+name+" is passed to it through Configure")
	p.flag = "--" + name + "-plugin"
	p.addCommon(fs, name+"-", stderr)
}

// addCommon registers the flags that go with the path's flag, each named
// prefix+"plugin-…".
func (p *pluginFlags) addCommon(fs *pflag.FlagSet, prefix string, stderr io.Writer) {
	p.stderr = stderr
	pl := p.name()
	env := p.envPrefix()
	fs.StringVar(&p.sha256, prefix+"plugin-sha256", "", "with "+pl+": refuse to start the plugin unless its SHA-256 is this hex digest")
	fs.StringArrayVar(&p.options, prefix+"plugin-option", nil, "with "+pl+": pass the plugin option `KEY=VALUE` (repeatable; not for secrets; overrides "+env+"OPTION_KEY and "+pl+"-config)")
	fs.StringVar(&p.config, prefix+"plugin-config", "", "with "+pl+": read plugin options, and secrets from its [secrets] table, from this TOML `FILE` (one with secrets must be accessible by its owner only)")
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
// the Configure RPC, with the options and secrets of pf (see
// pluginFlags.settings). Without it, a flag that needs it is a usage
// error.
//
// No error quotes spec unredacted (redact.String): it may hold a
// credential.
func openBackend(ctx context.Context, spec string, create bool, pf *pluginFlags) (sharestore.Backend, error) {
	if pf.path != "" {
		return openPlugin(ctx, spec, create, pf)
	}
	if err := pf.checkUnused(); err != nil {
		return nil, err
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
		o := openOptionsFrom(ctx)
		b, err := disk.Open(rest, disk.Options{Create: create && !o.readOnly, Logger: loggerFrom(ctx), ReadOnly: o.readOnly, ReservedSpace: o.reservedSpace})
		if err != nil {
			return nil, openErr(err)
		}
		return b, nil
	}
	// The scheme is not quoted on its own: in KEY:SECRET@bucket, it is
	// the key.
	return nil, usageErr(fmt.Errorf("backend %q: unknown scheme (supported: disk:PATH, s3://BUCKET, gs://BUCKET, azblob://CONTAINER)", redact.String(spec)))
}

// openPlugin starts the plugin pf names and configures it with spec and
// the options and secrets of pf's flags, file and environment (see
// settings). Its log records go to the command's logger (loggerFrom).
// Neither they nor an error it returns show a secret's value. Any
// failure to start or configure it is exit code 2 (openErr).
func openPlugin(ctx context.Context, spec string, create bool, pf *pluginFlags) (sharestore.Backend, error) {
	h, err := pf.host(ctx)
	if err != nil {
		return nil, err
	}
	b, err := plugin.Open(ctx, h.path, h.config(spec, create), h.opts)
	if err != nil {
		return nil, openErr(h.scrub(err))
	}
	return b, nil
}

// pluginHost is what starting the plugin of pf takes: its resolved
// path, settings and host options, and the redactor of its secrets.
type pluginHost struct {
	path string
	set  pluginSettings
	opts plugin.HostOptions
	hide redact.Values
}

// host resolves pf's plugin and settings, and builds the host options:
// the plugin's records go to the command's logger (loggerFrom), its
// stderr to pf.stderr, secrets removed from both, and the --plugin-sha256
// pin. A bad setting is a usage error.
func (p *pluginFlags) host(ctx context.Context) (*pluginHost, error) {
	path, err := resolvePlugin(p.name(), p.path)
	if err != nil {
		return nil, err
	}
	set, err := p.settings()
	if err != nil {
		return nil, err
	}
	hide := redact.NewValues(set.secrets)
	opts := plugin.HostOptions{Stderr: hide.Writer(cmp.Or[io.Writer](p.stderr, os.Stderr))}
	if l := loggerFrom(ctx); l != nil {
		opts.Logger = slog.New(logging.Redact(l.Handler(), hide.String))
	}
	if p.sha256 != "" {
		sum, err := hex.DecodeString(p.sha256)
		if err != nil || len(sum) != 32 {
			return nil, usageErr(fmt.Errorf("%s-sha256 %q: want 64 hex digits", p.name(), p.sha256))
		}
		opts.SHA256 = sum
	}
	return &pluginHost{path: path, set: set, opts: opts, hide: hide}, nil
}

// config is the plugin Config for the store spec names.
func (h *pluginHost) config(spec string, create bool) plugin.Config {
	return plugin.Config{URL: spec, Create: create, Options: h.set.options, Secrets: h.set.secrets}
}

// scrub returns err with every secret value removed, its code kept.
func (h *pluginHost) scrub(err error) error {
	return &sharestore.Error{Code: sharestore.CodeOf(err), Msg: h.hide.String(err.Error())}
}
