package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
)

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// fullSettings differs from Defaults in every field Load reads.
func fullSettings() Settings {
	return Settings{
		Backend:           "s3://bkt/srv1?endpoint=http://127.0.0.1:9000&region=us-east-1&path_style=true",
		Plugin:            Plugin{Path: "/usr/lib/sharestore-backend-s3", SHA256: strings.Repeat("ab", 32), Options: []string{"a=1", "b=2"}, ConfigFile: "/etc/sharestore/plugin.toml"},
		StateDir:          "/var/lib/sharestore",
		LeaseDB:           "postgres://sharestore@db.example:5432/leases?sslmode=verify-full",
		Crawler:           "accounting",
		Fast:              true,
		DryRun:            true,
		PrefixesInFlight:  8,
		ClaimLease:        45 * time.Second,
		Worker:            "worker-7",
		RateLimit:         25.5,
		ExpireMode:        "cutoff-date",
		ExpireCutoffDate:  "2099-01-31",
		AllowFutureCutoff: true,
		MaxDelete:         500,
		MaxDeletePercent:  2.5,
		TakeOwnership:     true,
		Listen:            "0.0.0.0:9999",
		LogFormat:         "json",
		LogLevel:          "debug",
		Accounting:        Schedule{MinimumCycleTime: 6 * time.Hour, AllowedCPUProportion: 0.25, CPUSlice: 2 * time.Second, SlowStart: time.Minute},
		Buckets:           Schedule{MinimumCycleTime: 30 * time.Minute, AllowedCPUProportion: 0.5, CPUSlice: 500 * time.Millisecond, SlowStart: 0},
		StorageEnabled:    true,
		ReadOnly:          true,
		ReservedSpace:     1 << 30,
	}
}

// Every field survives Redacted then Load, and the round trip does not
// depend on the defaults: each value differs from its default.
func TestTOMLRoundTrip(t *testing.T) {
	want := fullSettings()
	d := reflect.ValueOf(Defaults())
	w := reflect.ValueOf(want)
	for i := range w.NumField() {
		name := w.Type().Field(i).Name
		// ExpireOverride goes with mode age; the second trip tests it.
		if name == "Source" || name == "Secrets" || name == "StorageEnabled" || name == "ExpireOverride" {
			continue
		}
		if reflect.DeepEqual(w.Field(i).Interface(), d.Field(i).Interface()) {
			t.Errorf("fullSettings().%s equals its default: the round trip would not test it", name)
		}
	}
	p := writeFile(t, "sharestore.toml", want.Redacted())
	got, err := Load(p)
	if err != nil {
		t.Fatalf("Load(Redacted()): %v\n%s", err, want.Redacted())
	}
	want.Source = p
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip:\n got %#v\nwant %#v", got, want)
	}
	def := Defaults()
	p = writeFile(t, "defaults.toml", def.Redacted())
	// The default state directory is next to the file.
	def.Source, def.StateDir = p, filepath.Join(filepath.Dir(p), DefaultStateDir)
	if got, err := Load(p); err != nil || !reflect.DeepEqual(got, def) {
		t.Errorf("round trip of the defaults: %v\n got %#v\nwant %#v", err, got, def)
	}
	want.ExpireMode, want.ExpireOverride, want.ExpireCutoffDate = "age", "2mo", ""
	p = writeFile(t, "age.toml", want.Redacted())
	want.Source = p
	if got, err := Load(p); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("round trip with an override: %v\n got %#v\nwant %#v", err, got, want)
	}
}

func TestLoadExample(t *testing.T) {
	p := writeFile(t, "s.toml", `
[backend]
url = "disk:storage"
reserved_space = 1000000

[crawl]
state_dir = "state"

[expire]
mode = "age"
override = "60days"

[schedule.accounting]
minimum_cycle_time = "1day"
slow_start = "0s"
`)
	s, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(p)
	if s.Backend != "disk:"+filepath.Join(dir, "storage") || s.StateDir != filepath.Join(dir, "state") {
		t.Errorf("relative paths: backend %q state %q, want them under %s", s.Backend, s.StateDir, dir)
	}
	if s.Accounting.MinimumCycleTime != 24*time.Hour || s.Accounting.SlowStart != 0 || s.Accounting.CPUSlice != time.Second || s.Accounting.AllowedCPUProportion != 0.1 {
		t.Errorf("accounting schedule %+v", s.Accounting)
	}
	if s.Buckets != Defaults().Buckets || s.Buckets.MinimumCycleTime != time.Hour || s.Buckets.SlowStart != 5*time.Minute {
		t.Errorf("buckets schedule %+v, want the default", s.Buckets)
	}
	if s.ReservedSpace != 1000000 || s.Listen != "127.0.0.1:7480" || s.LogFormat != "text" || s.LogLevel != "info" {
		t.Errorf("settings %+v", s)
	}
	p2, err := s.Policy(TOMLKeys)
	if err != nil || !p2.Enabled || p2.Override != 60*24*time.Hour {
		t.Errorf("policy %+v, %v", p2, err)
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"unknown key", "[crawl]\nfats = true\n", "unknown key crawl.fats"},
		{"unknown table", "[crawler]\nfast = true\n", "unknown key crawler.fast"},
		{"wrong type", "[crawl]\n\nfast = \"yes\"\n", `line 3 (last key "crawl.fast"): incompatible types`},
		{"bad duration", "[schedule.buckets]\n\n\nslow_start = \"5 parsecs\"\n", `line 4: key schedule.buckets.slow_start: duration "5 parsecs"`},
		{"malformed", "[crawl\n", "line 2: expected '.' or ']' to end table name"},
		{"bad override", "[expire]\nmode = \"age\"\noverride = \"2kumquats\"\n", "expire.override: unknown unit 'kumquats' in '2kumquats'"},
		{"bad date", "[expire]\nmode = \"cutoff-date\"\ncutoff_date = \"2024-13-01\"\n", "expire.cutoff_date: invalid date '2024-13-01': want YYYY-MM-DD"},
		{"future date", "[expire]\nmode = \"cutoff-date\"\ncutoff_date = \"2999-01-01\"\n", "expire.cutoff_date 2999-01-01 is in the future"},
		{"bad mode", "[expire]\nmode = \"bogus\"\n", `expire.mode "bogus": want age or cutoff-date`},
		{"override without mode", "[expire]\noverride = \"7days\"\n", "expire.override and expire.cutoff_date need expire.mode"},
		{"max_delete 0", "[delete]\nmax_delete = 0\n", "delete.max_delete 0: want 1 or more (use crawl.dry_run to delete nothing)"},
		{"percent", "[delete]\nmax_delete_percent = 101\n", "delete.max_delete_percent 101: want more than 0 and at most 100"},
		{"crawler", "[crawl]\ncrawler = \"both\"\n", `crawl.crawler "both": want accounting, buckets or all`},
		{"in flight", "[crawl]\nprefixes_in_flight = 0\n", "crawl.prefixes_in_flight 0: want 1 to 256"},
		{"log format", "[log]\nformat = \"xml\"\n", `log.format "xml": want text or json`},
		{"log level", "[log]\nlevel = \"loud\"\n", `log.level "loud": want debug, info, warn or error`},
		{"duty cycle", "[schedule.accounting]\nallowed_cpu_proportion = 0\n", "schedule.accounting.allowed_cpu_proportion 0: want more than 0 and at most 1"},
		{"cpu slice", "[schedule.buckets]\ncpu_slice = \"0s\"\n", "schedule.buckets.cpu_slice 0s: want more than 0"},
		{"disabled", "[backend]\nenabled = false\n", "storage is not enabled"},
		{"bad scheme", "[backend]\nurl = \"ftp://x\"\n", `backend.url "ftp://x": want disk:PATH`},
		{"bad cloud URL", "[backend]\nurl = \"s3://b?bogus=1\"\n", `backend.url: backend URL: unknown option "bogus"`},
		{"credentials in URL", "[backend]\nurl = \"s3://KEY:topsecret@b\"\n", "credentials do not belong in the URL"},
		{"leasedb scheme", "[crawl]\nleasedb = \"mysql://h/db\"\n", `crawl.leasedb "mysql://h/db": want sqlite:PATH or postgres://`},
		{"leasedb empty path", "[crawl]\nleasedb = \"sqlite:\"\n", `crawl.leasedb "sqlite:": sqlite: needs the path`},
		{"leasedb password", "[crawl]\nleasedb = \"postgres://u:topsecret@h/db\"\n", "crawl.leasedb holds a password, and a configuration file holds no secrets"},
		{"claim lease", "[crawl]\nclaim_lease = \"100ms\"\n", "crawl.claim_lease 100ms: want 1s to 24h0m0s"},
		{"claim lease unit", "[crawl]\nclaim_lease = \"2 fortnights\"\n", `key crawl.claim_lease: duration "2 fortnights"`},
		{"worker name", "[crawl]\nworker = \"a\\tb\"\n", `crawl.worker "a\tb": want printable text`},
		{"leasedb password parameter", "[crawl]\nleasedb = \"postgres://u@h/db?password=topsecret\"\n", "crawl.leasedb holds a password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, "bad.toml", tc.text)
			_, err := Load(p)
			if !errors.Is(err, sharestore.ErrInvalidArgument) {
				t.Fatalf("Load: %v, want ErrInvalidArgument", err)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, p+": ") || !strings.Contains(msg, tc.want) {
				t.Errorf("Load: %q\nwant it to start with the file and say %q", msg, tc.want)
			}
			if strings.Contains(err.Error(), "topsecret") {
				t.Errorf("Load: %q shows the secret", err)
			}
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "none.toml")); !errors.Is(err, sharestore.ErrInvalidArgument) || !strings.Contains(err.Error(), "none.toml") {
		t.Errorf("missing file: %v", err)
	}
}

// A relative sqlite: crawl.leasedb is relative to the file's directory;
// a PostgreSQL URL is kept as it is.
func TestLoadLeaseDB(t *testing.T) {
	p := writeFile(t, "c.toml", "[crawl]\nleasedb = \"sqlite:db/l.sqlite\"\n")
	s, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := "sqlite:" + filepath.Join(filepath.Dir(p), "db", "l.sqlite"); s.LeaseDB != want {
		t.Fatalf("LeaseDB %q, want %q", s.LeaseDB, want)
	}
	u := "postgres://sharestore@db.example/leases?sslmode=require"
	s, err = Load(writeFile(t, "c.toml", "[crawl]\nleasedb = \""+u+"\"\n"))
	if err != nil || s.LeaseDB != u {
		t.Fatalf("LeaseDB %q (%v), want %q", s.LeaseDB, err, u)
	}
}
