package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/leasedb"
)

// Duration is a time.Duration in a configuration file: Go's form ("12h",
// "90s", "1h30m") or Tahoe's ("1day", "2 months"; see
// leasedb.ParseDuration). It is written in Go's form.
type Duration time.Duration

// UnmarshalText parses Go's or Tahoe's form.
func (d *Duration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if v, err := time.ParseDuration(s); err == nil {
		*d = Duration(v)
		return nil
	}
	v, err := leasedb.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: want Go's form (12h, 90s, 1h30m) or Tahoe's (7days, 2mo)", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes Go's form.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// The file's schema; docs/configuration.md documents it.
type (
	fileSchema struct {
		Backend  fileBackend  `toml:"backend"`
		Plugin   filePlugin   `toml:"plugin"`
		Crawl    fileCrawl    `toml:"crawl"`
		Expire   fileExpire   `toml:"expire"`
		Delete   fileDelete   `toml:"delete"`
		Schedule fileSchedule `toml:"schedule"`
		HTTP     fileHTTP     `toml:"http"`
		Log      fileLog      `toml:"log"`
	}
	fileBackend struct {
		URL           string `toml:"url"`
		Enabled       bool   `toml:"enabled"`
		ReadOnly      bool   `toml:"read_only"`
		ReservedSpace int64  `toml:"reserved_space"`
	}
	filePlugin struct {
		Path    string   `toml:"path,omitempty"`
		SHA256  string   `toml:"sha256,omitempty"`
		Options []string `toml:"options,omitempty"`
		Config  string   `toml:"config,omitempty"`
	}
	fileCrawl struct {
		StateDir         string   `toml:"state_dir"`
		LeaseDB          string   `toml:"leasedb,omitempty"`
		ClaimLease       Duration `toml:"claim_lease,omitzero"`
		Worker           string   `toml:"worker,omitempty"`
		Crawler          string   `toml:"crawler"`
		Fast             bool     `toml:"fast"`
		DryRun           bool     `toml:"dry_run"`
		PrefixesInFlight int      `toml:"prefixes_in_flight"`
		RateLimit        float64  `toml:"rate_limit"`
	}
	fileExpire struct {
		Mode       string `toml:"mode"`
		Override   string `toml:"override"`
		CutoffDate string `toml:"cutoff_date"`
	}
	fileDelete struct {
		MaxDelete         int64   `toml:"max_delete,omitzero"`
		MaxDeletePercent  float64 `toml:"max_delete_percent,omitzero"`
		AllowFutureCutoff bool    `toml:"allow_future_cutoff"`
		TakeOwnership     bool    `toml:"take_ownership"`
	}
	fileSchedule struct {
		Accounting fileCrawler `toml:"accounting"`
		Buckets    fileCrawler `toml:"buckets"`
	}
	fileCrawler struct {
		MinimumCycleTime     Duration `toml:"minimum_cycle_time"`
		AllowedCPUProportion float64  `toml:"allowed_cpu_proportion"`
		CPUSlice             Duration `toml:"cpu_slice"`
		SlowStart            Duration `toml:"slow_start"`
	}
	fileHTTP struct {
		Listen string `toml:"listen"`
	}
	fileLog struct {
		Format string `toml:"format"`
		Level  string `toml:"level"`
	}
)

func (c fileCrawler) schedule() Schedule {
	return Schedule{time.Duration(c.MinimumCycleTime), c.AllowedCPUProportion, time.Duration(c.CPUSlice), time.Duration(c.SlowStart)}
}

func crawlerFile(s Schedule) fileCrawler {
	return fileCrawler{Duration(s.MinimumCycleTime), s.AllowedCPUProportion, Duration(s.CPUSlice), Duration(s.SlowStart)}
}

func toFile(s Settings) fileSchema {
	return fileSchema{
		Backend: fileBackend{URL: s.Backend, Enabled: s.StorageEnabled, ReadOnly: s.ReadOnly, ReservedSpace: s.ReservedSpace},
		Plugin:  filePlugin{Path: s.Plugin.Path, SHA256: s.Plugin.SHA256, Options: s.Plugin.Options, Config: s.Plugin.ConfigFile},
		Crawl: fileCrawl{StateDir: s.StateDir, LeaseDB: s.LeaseDB, ClaimLease: Duration(s.ClaimLease), Worker: s.Worker, Crawler: s.Crawler, Fast: s.Fast, DryRun: s.DryRun,
			PrefixesInFlight: s.PrefixesInFlight, RateLimit: s.RateLimit},
		Expire: fileExpire{Mode: s.ExpireMode, Override: s.ExpireOverride, CutoffDate: s.ExpireCutoffDate},
		Delete: fileDelete{MaxDelete: s.MaxDelete, MaxDeletePercent: s.MaxDeletePercent,
			AllowFutureCutoff: s.AllowFutureCutoff, TakeOwnership: s.TakeOwnership},
		Schedule: fileSchedule{Accounting: crawlerFile(s.Accounting), Buckets: crawlerFile(s.Buckets)},
		HTTP:     fileHTTP{Listen: s.Listen},
		Log:      fileLog{Format: s.LogFormat, Level: s.LogLevel},
	}
}

func (f fileSchema) settings() Settings {
	return Settings{
		Backend: f.Backend.URL, StorageEnabled: f.Backend.Enabled, ReadOnly: f.Backend.ReadOnly, ReservedSpace: f.Backend.ReservedSpace,
		Plugin:   Plugin{Path: f.Plugin.Path, SHA256: f.Plugin.SHA256, Options: f.Plugin.Options, ConfigFile: f.Plugin.Config},
		StateDir: f.Crawl.StateDir, LeaseDB: f.Crawl.LeaseDB, ClaimLease: time.Duration(f.Crawl.ClaimLease), Worker: f.Crawl.Worker, Crawler: f.Crawl.Crawler, Fast: f.Crawl.Fast, DryRun: f.Crawl.DryRun,
		PrefixesInFlight: f.Crawl.PrefixesInFlight, RateLimit: f.Crawl.RateLimit,
		ExpireMode: f.Expire.Mode, ExpireOverride: f.Expire.Override, ExpireCutoffDate: f.Expire.CutoffDate,
		MaxDelete: f.Delete.MaxDelete, MaxDeletePercent: f.Delete.MaxDeletePercent,
		AllowFutureCutoff: f.Delete.AllowFutureCutoff, TakeOwnership: f.Delete.TakeOwnership,
		Accounting: f.Schedule.Accounting.schedule(), Buckets: f.Schedule.Buckets.schedule(),
		Listen: f.HTTP.Listen, LogFormat: f.Log.Format, LogLevel: f.Log.Level,
	}
}

// Load reads the TOML configuration file at path over Defaults and
// validates it (Settings.Validate with TOMLKeys, against the current
// time). Relative paths in it (crawl.state_dir, a sqlite: crawl.leasedb, a disk: backend.url,
// plugin.path and plugin.config) are relative to the file's directory,
// and so is the default state directory, DefaultStateDir.
// The file holds no secrets: cloud credentials come from the
// environment, as for crawl. Errors wrap sharestore.ErrInvalidArgument
// and name the file and the key, and the line where the TOML library
// reports one: a malformed file, an unknown key, a value of the wrong
// type, a bad value.
func Load(path string) (Settings, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Settings{}, sharestore.Errorf(sharestore.ErrInvalidArgument, "configuration file: %v", err)
	}
	f := toFile(Defaults())
	md, err := toml.Decode(string(data), &f)
	if err != nil {
		return Settings{}, fileErr(path, tomlProblem(err))
	}
	if keys := undecoded(md); len(keys) > 0 {
		return Settings{}, fileErr(path, fmt.Sprintf("unknown key %s (see docs/configuration.md)", strings.Join(keys, ", ")))
	}
	// A bound given as 0 is refused, as crawl refuses --max-delete 0.
	if _, err := DeleteLimits(TOMLKeys, f.Delete.MaxDelete, md.IsDefined("delete", "max_delete"),
		f.Delete.MaxDeletePercent, md.IsDefined("delete", "max_delete_percent")); err != nil {
		return Settings{}, fileErr(path, err.Error())
	}
	s := f.settings()
	s.Source = path
	if !s.StorageEnabled {
		return Settings{}, fileErr(path, "backend.enabled = false: storage is not enabled in this file")
	}
	if LeaseDBPassword(s.LeaseDB) {
		return Settings{}, fileErr(path, "crawl.leasedb holds a password, and a configuration file holds no secrets: "+
			"give it in the environment (PGPASSWORD) or in a password file (~/.pgpass, or the file PGPASSFILE names)")
	}
	s.resolve(filepath.Dir(path))
	if err := s.Validate(TOMLKeys, time.Now()); err != nil {
		return Settings{}, fileErr(path, err.Error())
	}
	return s, nil
}

// resolve makes the relative paths absolute against dir.
func (s *Settings) resolve(dir string) {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	s.StateDir = abs(s.StateDir)
	if p, ok := strings.CutPrefix(s.LeaseDB, "sqlite:"); ok && p != "" {
		s.LeaseDB = "sqlite:" + abs(p)
	}
	s.Plugin.Path = abs(s.Plugin.Path)
	s.Plugin.ConfigFile = abs(s.Plugin.ConfigFile)
	if p, ok := strings.CutPrefix(s.Backend, "disk:"); ok && p != "" {
		s.Backend = "disk:" + abs(p)
	}
}

func fileErr(path, msg string) error {
	return sharestore.Errorf(sharestore.ErrInvalidArgument, "%s: %s", path, msg)
}

// tomlProblem is the library's error as "line N: key K: message".
func tomlProblem(err error) string {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		if pe.LastKey != "" {
			return fmt.Sprintf("line %d: key %s: %s", pe.Position.Line, pe.LastKey, pe.Message)
		}
		return fmt.Sprintf("line %d: %s", pe.Position.Line, pe.Message)
	}
	return strings.TrimPrefix(err.Error(), "toml: ")
}

// undecoded lists the keys of the file the schema does not have, leaves
// only (a table's unknown key, not the table too).
func undecoded(md toml.MetaData) []string {
	var all []string
	for _, k := range md.Undecoded() {
		all = append(all, k.String())
	}
	var leaves []string
	for _, k := range all {
		if !slices.ContainsFunc(all, func(o string) bool { return strings.HasPrefix(o, k+".") }) {
			leaves = append(leaves, k)
		}
	}
	return leaves
}

// Redacted returns the settings as a TOML file of Load's schema that
// Load reads back to the same settings (a deletion bound of 0, no bound,
// is left out), with a comment naming the source
// and, for each secret, its variable and where it was read, never its
// value.
func (s Settings) Redacted() string {
	var b bytes.Buffer
	if s.Source != "" {
		fmt.Fprintf(&b, "# effective configuration of %s\n", s.Source)
	}
	if len(s.Secrets) > 0 {
		b.WriteString("# secrets (not shown; read from their files, not from this one):\n")
		names := make([]string, 0, len(s.Secrets))
		for n := range s.Secrets {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			if v := s.Secrets[n]; v.Value == "" {
				fmt.Fprintf(&b, "#   %s: %s\n", n, v.Source)
			} else {
				fmt.Fprintf(&b, "#   %s = %s from %s\n", n, redacted, v.Source)
			}
		}
	}
	if b.Len() > 0 {
		b.WriteString("\n")
	}
	enc := toml.NewEncoder(&b)
	enc.Indent = ""
	if err := enc.Encode(toFile(s)); err != nil {
		// The schema holds only strings, numbers, booleans and lists.
		panic(err)
	}
	return b.String()
}

// String returns Redacted.
func (s Settings) String() string { return s.Redacted() }
