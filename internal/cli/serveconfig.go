package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/sharestore/sharestore/internal/config"
	"github.com/sharestore/sharestore/internal/logging"
)

// openOptions are what a configuration file adds to opening a backend:
// the secrets a tahoe.cfg's private/ directory holds, and Tahoe's
// readonly and reserved_space for a disk store.
type openOptions struct {
	getenv, source func(name string) string // backendurl.Env's; nil: the environment
	readOnly       bool
	reservedSpace  int64
}

type openOptionsKey struct{}

// withOpenOptions returns ctx carrying o, for openBackend.
func withOpenOptions(ctx context.Context, o openOptions) context.Context {
	return context.WithValue(ctx, openOptionsKey{}, o)
}

// openOptionsFrom returns the openOptions in ctx, or the zero value.
func openOptionsFrom(ctx context.Context) openOptions {
	o, _ := ctx.Value(openOptionsKey{}).(openOptions)
	return o
}

// serveSpec is what serve runs: the crawl's settings and how to open its
// backend.
type serveSpec struct {
	crawl  crawlFlags
	open   openOptions
	listen string
}

// fromFile reports whether serve reads its settings from a file.
func (f serveFlags) fromFile() bool { return f.config != "" || f.tahoeBasedir != "" }

// checkNoCrawlFlags refuses crawl's flags beside --config or
// --tahoe-basedir: the file holds every setting, and one source is what
// SIGHUP re-reads. --listen, --fast and the log flags, which say how
// this run is watched and paced rather than what it does to the store,
// override the file.
func checkNoCrawlFlags(fl *pflag.FlagSet) error {
	var err error
	fl.Visit(func(f *pflag.Flag) {
		switch f.Name {
		case "config", "tahoe-basedir", "log-level", "log-format", "listen", "fast":
		default:
			if err == nil {
				err = fmt.Errorf("--%s: with --config or --tahoe-basedir every setting comes from the file (%s); give the setting there", f.Name, "see sharestore config check")
			}
		}
	})
	return err
}

// loadSpec reads the settings of f's file: the TOML file or the Tahoe
// node's tahoe.cfg.
func (f serveFlags) loadSpec() (serveSpec, config.Settings, error) {
	s, err := loadSettings(f.config, f.tahoeBasedir)
	if err != nil {
		return serveSpec{}, s, err
	}
	if !s.StorageEnabled {
		return serveSpec{}, s, usageErr(fmt.Errorf("%s: storage is not enabled ([storage]enabled = false): there is nothing to crawl", s.Source))
	}
	return specOf(s), s, nil
}

// specOf turns settings into what serve runs.
func specOf(s config.Settings) serveSpec {
	c := crawlFlags{
		backend: s.Backend, stateDir: s.StateDir, leasedb: s.LeaseDB, claimLease: s.ClaimLease, worker: s.Worker, which: s.Crawler,
		fast: s.Fast, dryRun: s.DryRun,
		expireMode: s.ExpireMode, expireOverride: s.ExpireOverride, expireCutoff: s.ExpireCutoffDate,
		inFlight: s.PrefixesInFlight, rateLimit: s.RateLimit,
		del: deleteFlags{
			maxDelete: s.MaxDelete, maxDeletePercent: s.MaxDeletePercent,
			allowFutureCutoff: s.AllowFutureCutoff, takeOwnership: s.TakeOwnership,
			// The file's values are set when they are not the defaults.
			set: func(name string) bool {
				switch name {
				case "max-delete":
					return s.MaxDelete != 0
				case "max-delete-percent":
					return s.MaxDeletePercent != 0
				}
				return false
			},
		},
	}
	c.plugin.path, c.plugin.sha256, c.plugin.options, c.plugin.config = s.Plugin.Path, s.Plugin.SHA256, s.Plugin.Options, s.Plugin.ConfigFile
	for i, sc := range []config.Schedule{s.Accounting, s.Buckets} {
		c.schedules[i] = schedule{minCycle: sc.MinimumCycleTime, slowStart: sc.SlowStart, cpu: sc.AllowedCPUProportion, cpuSlice: sc.CPUSlice}
	}
	return serveSpec{
		crawl:  c,
		open:   openOptions{getenv: s.Getenv, source: s.SecretSource, readOnly: s.ReadOnly, reservedSpace: s.ReservedSpace},
		listen: s.Listen,
	}
}

// fileLogger builds the logger of the file's [log] settings, unless the
// command line gave --log-level or --log-format.
func (e *env) fileLogger(fl *pflag.FlagSet, s config.Settings) error {
	if fl.Changed("log-level") || fl.Changed("log-format") {
		return nil
	}
	level, err := logging.ParseLevel(s.LogLevel)
	if err != nil {
		return usageErr(fmt.Errorf("%s: log level %v", s.Source, err))
	}
	format, err := logging.ParseFormat(s.LogFormat)
	if err != nil {
		return usageErr(fmt.Errorf("%s: log format %v", s.Source, err))
	}
	l, err := logging.New(e.stderr, level, format)
	if err != nil {
		return errors.Join(usageErr(fmt.Errorf("%s: log settings", s.Source)), err)
	}
	e.logger, e.logJSON = l, format == logging.FormatJSON
	return nil
}
