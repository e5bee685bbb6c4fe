// Package config holds the effective configuration of a crawl or of
// `sharestore serve` (Settings) and reads it from a sharestore TOML file
// (Load) or from a Tahoe-LAFS node's tahoe.cfg and private/ directory
// (LoadTahoe). It also holds the validation that crawl's flags share with
// those files (Policy, DeleteLimits, CheckCutoff, CheckCrawl), so that a
// setting means the same wherever it is given.
//
// Every error wraps sharestore.ErrInvalidArgument and names the file and
// the key. docs/configuration.md documents the schema and the tahoe.cfg
// keys.
package config

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/sharestore/sharestore/crawler"
	"github.com/sharestore/sharestore/internal/backendurl"
	"github.com/sharestore/sharestore/internal/backendurl/redact"
	"github.com/sharestore/sharestore/leasedb"
)

// Defaults of the settings that are not crawl's.
const (
	// DefaultListen is the HTTP listen address: loopback only.
	DefaultListen = "127.0.0.1:7480"
	// DefaultStateDir is the state directory when none is given.
	DefaultStateDir = "sharestore-state"
)

// Schedule is how one crawler paces itself.
type Schedule struct {
	// MinimumCycleTime is the least time from the start of a cycle to the
	// start of the next (Tahoe's minimum_cycle_time): 12h for accounting,
	// 1h for the bucket counter.
	MinimumCycleTime time.Duration
	// AllowedCPUProportion is the duty cycle, more than 0 and at most 1:
	// the share of wall time the crawler works [0.1]. Fast makes it 1.
	AllowedCPUProportion float64
	// CPUSlice is how long a slice works before the crawler yields [1s].
	CPUSlice time.Duration
	// SlowStart is the delay before the first slice after the daemon
	// starts (Tahoe's slow_start): 10m for accounting, 5m for the bucket
	// counter. Fast makes it 0.
	SlowStart time.Duration
}

// Secret is a credential. Its String, GoString, Format and MarshalText
// never show Value, so a Secret printed or encoded by mistake shows
// "[redacted]".
type Secret struct {
	// Value is the credential itself.
	Value string
	// Source says where it was read, for messages, such as
	// "/srv/node/private/s3secret".
	Source string
}

const redacted = "[redacted]"

// String returns "[redacted]".
func (Secret) String() string { return redacted }

// GoString returns "[redacted]".
func (Secret) GoString() string { return redacted }

// Format prints "[redacted]" for every verb.
func (Secret) Format(f fmt.State, _ rune) { fmt.Fprint(f, redacted) }

// MarshalText returns "[redacted]".
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Plugin names the plugin binary that serves the backend, as crawl's
// --plugin flags do; Path "" means none.
type Plugin struct {
	// Path is the plugin binary (--plugin).
	Path string
	// SHA256 is the hex digest the binary must have (--plugin-sha256).
	SHA256 string
	// Options are KEY=VALUE plugin options, in order (--plugin-option).
	Options []string
	// ConfigFile is a TOML file of options and [secrets] (--plugin-config).
	ConfigFile string
}

// Settings is the effective configuration of a crawl or a serve: every
// setting crawl takes as a flag, the daemon's own (listen address, logs,
// schedules) and what a Tahoe node's [storage] section says.
type Settings struct {
	// Source is the file the settings were read from ("" for none).
	Source string

	// Backend is the backend URL (disk:PATH, s3://…, gs://…, azblob://…;
	// see internal/backendurl). It never holds a credential.
	Backend string
	// Secrets are credentials for the backend by the name of the
	// standard variable that carries them (AWS_SECRET_ACCESS_KEY,
	// AZURE_STORAGE_KEY, …); Getenv reads them before the environment.
	Secrets map[string]Secret
	// Plugin, when its Path is set, serves the backend from a plugin.
	Plugin Plugin
	// StateDir holds the crawler state files and the lease database
	// [DefaultStateDir].
	StateDir string
	// LeaseDB is the lease database: sqlite:PATH or a postgres:// URL
	// (see leasedb.OpenURL). Empty is the SQLite file leasedb.sqlite in
	// StateDir.
	LeaseDB string
	// ClaimLease, with a PostgreSQL LeaseDB, is how long a worker's
	// claim of a prefix lasts unless renewed: how long a dead worker's
	// prefixes wait (0: DefaultClaimLease; see CheckSharing).
	ClaimLease time.Duration
	// Worker, with a PostgreSQL LeaseDB, names this worker among those
	// that share the cycles ("": HOST:PID:START).
	Worker string
	// Crawler is which crawlers run: "accounting", "buckets" or "all".
	Crawler string
	// Fast turns the duty cycle and the slow start off.
	Fast bool
	// DryRun reports what would be deleted and deletes nothing.
	DryRun bool
	// PrefixesInFlight is how many prefixes are processed at once (1 to
	// 256) [1].
	PrefixesInFlight int
	// RateLimit is the most backend requests per second (0: unlimited).
	RateLimit float64

	// ExpireMode turns expiration on: "age" or "cutoff-date"; "" is off.
	ExpireMode string
	// ExpireOverride, with mode age, is a Tahoe duration (60days):
	// leases renewed longer ago expire.
	ExpireOverride string
	// ExpireCutoffDate, with mode cutoff-date, is a UTC date
	// (YYYY-MM-DD): leases renewed before it expire.
	ExpireCutoffDate string
	// AllowFutureCutoff accepts an ExpireCutoffDate in the future.
	AllowFutureCutoff bool

	// MaxDelete, if positive, bounds the shares deleted per cycle.
	MaxDelete int64
	// MaxDeletePercent, if positive, bounds the percentage of the store
	// deleted per cycle (at most 100).
	MaxDeletePercent float64
	// TakeOwnership makes this state directory the store's owner even if
	// another one owns it.
	TakeOwnership bool

	// Listen is the HTTP listen address [DefaultListen].
	Listen string
	// LogFormat is "text" or "json" [text].
	LogFormat string
	// LogLevel is "debug", "info", "warn" or "error" [info].
	LogLevel string

	// Accounting and Buckets are the crawlers' schedules.
	Accounting, Buckets Schedule

	// StorageEnabled is Tahoe's [storage]enabled; LoadTahoe refuses a
	// node whose storage is off, so it is true in every loaded Settings.
	StorageEnabled bool
	// ReadOnly is Tahoe's [storage]readonly: accept no new shares.
	ReadOnly bool
	// ReservedSpace is Tahoe's [storage]reserved_space in bytes: the disk
	// backend's disk.Options.ReservedSpace.
	ReservedSpace int64
}

// Defaults returns the settings with nothing configured: crawl's
// defaults, loopback HTTP, text logs at info, and Tahoe's schedules.
func Defaults() Settings {
	return Settings{
		StateDir: DefaultStateDir, Crawler: "all", PrefixesInFlight: 1, ClaimLease: DefaultClaimLease,
		Listen: DefaultListen, LogFormat: "text", LogLevel: "info",
		Accounting:     Schedule{MinimumCycleTime: 12 * time.Hour, AllowedCPUProportion: 0.1, CPUSlice: time.Second, SlowStart: 10 * time.Minute},
		Buckets:        Schedule{MinimumCycleTime: time.Hour, AllowedCPUProportion: 0.1, CPUSlice: time.Second, SlowStart: 5 * time.Minute},
		StorageEnabled: true,
	}
}

// Validate checks every setting, naming each by k: crawl's checks
// (CheckCrawl, Policy, DeleteLimits, CheckCutoff against now) and the
// daemon's. Errors do not wrap ErrInvalidArgument; Load and LoadTahoe
// wrap them with the file.
func (s Settings) Validate(k Keys, now time.Time) error {
	if err := CheckCrawl(k, s.Crawler, s.RateLimit, s.PrefixesInFlight); err != nil {
		return err
	}
	if err := s.checkBackend(k); err != nil {
		return err
	}
	if err := CheckLeaseDB(k, s.LeaseDB); err != nil {
		return err
	}
	if err := CheckSharing(k, s.ClaimLease, s.Worker); err != nil {
		return err
	}
	p, err := s.Policy(k)
	if err != nil {
		return err
	}
	if err := CheckCutoff(k, p, now, s.AllowFutureCutoff); err != nil {
		return err
	}
	if _, err := s.Limits(k); err != nil {
		return err
	}
	if !slices.Contains([]string{"text", "json"}, s.LogFormat) {
		return fmt.Errorf("%s %q: want text or json", k.LogFormat, s.LogFormat)
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, s.LogLevel) {
		return fmt.Errorf("%s %q: want debug, info, warn or error", k.LogLevel, s.LogLevel)
	}
	if s.Listen == "" {
		return fmt.Errorf("%s: want an address such as %s", k.Listen, DefaultListen)
	}
	for _, c := range []struct {
		name string
		s    Schedule
	}{{"accounting", s.Accounting}, {"buckets", s.Buckets}} {
		if err := c.s.check(k.Schedule + "." + c.name); err != nil {
			return err
		}
	}
	return nil
}

// checkBackend checks the URL's form, unless a plugin serves it (a
// plugin takes the forms it knows); "" is allowed, for a command line
// that gives --backend.
func (s Settings) checkBackend(k Keys) error {
	switch {
	case s.Backend == "" || s.Plugin.Path != "":
		return nil
	case backendurl.IsCloud(s.Backend):
		if _, err := backendurl.Parse(s.Backend); err != nil {
			return fmt.Errorf("%s: %v", k.Backend, err)
		}
		return nil
	case strings.HasPrefix(s.Backend, "disk:") && len(s.Backend) > len("disk:"):
		return nil
	}
	return fmt.Errorf("%s %q: want disk:PATH, s3://BUCKET, gs://BUCKET or azblob://CONTAINER", k.Backend, redact.String(s.Backend))
}

func (c Schedule) check(table string) error {
	switch {
	case c.MinimumCycleTime < 0:
		return fmt.Errorf("%s.minimum_cycle_time %v: want 0 or more", table, c.MinimumCycleTime)
	case c.SlowStart < 0:
		return fmt.Errorf("%s.slow_start %v: want 0 or more", table, c.SlowStart)
	case c.CPUSlice <= 0:
		return fmt.Errorf("%s.cpu_slice %v: want more than 0", table, c.CPUSlice)
	case !(c.AllowedCPUProportion > 0 && c.AllowedCPUProportion <= 1):
		return fmt.Errorf("%s.allowed_cpu_proportion %g: want more than 0 and at most 1", table, c.AllowedCPUProportion)
	}
	return nil
}

// Policy returns the expiration policy (see the package function Policy).
func (s Settings) Policy(k Keys) (leasedb.ExpirationPolicy, error) {
	return Policy(k, s.ExpireMode, s.ExpireOverride, s.ExpireCutoffDate)
}

// Limits returns the deletion limits (see DeleteLimits); a bound of 0 is
// no bound.
func (s Settings) Limits(k Keys) (crawler.DeleteLimits, error) {
	return DeleteLimits(k, s.MaxDelete, s.MaxDelete != 0, s.MaxDeletePercent, s.MaxDeletePercent != 0)
}

// CrawlerConfig returns the engine configuration of the crawler name
// ("accounting" or "buckets"): its schedule, with Fast meaning a duty
// cycle of 1 and no slow start, and PrefixesInFlight.
func (s Settings) CrawlerConfig(name string) crawler.Config {
	c := s.Accounting
	if name == "buckets" {
		c = s.Buckets
	}
	cfg := crawler.Config{
		SlowStart: c.SlowStart, CPUSlice: c.CPUSlice, AllowedCPUProportion: c.AllowedCPUProportion,
		MinimumCycleTime: c.MinimumCycleTime, PrefixesInFlight: s.PrefixesInFlight,
	}
	if s.Fast {
		cfg.AllowedCPUProportion, cfg.SlowStart = 1, 0
	}
	return cfg
}

// Getenv returns the secret named name if the settings hold one, else the
// environment variable: the backendurl.Env Getenv of the backend.
func (s Settings) Getenv(name string) string {
	if v, ok := s.Secrets[name]; ok {
		return v.Value
	}
	return os.Getenv(name)
}

// SecretSource names where Getenv finds name, for messages: the secret's
// file, or "environment NAME": the backendurl.Env Source of the backend.
func (s Settings) SecretSource(name string) string {
	if v, ok := s.Secrets[name]; ok {
		return v.Source
	}
	return "environment " + name
}
