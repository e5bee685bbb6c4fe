package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
)

// node writes a Tahoe base directory with tahoe.cfg and private files.
func node(t *testing.T, cfg string, private map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tahoe.cfg"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "private"), 0o700); err != nil {
		t.Fatal(err)
	}
	for name, v := range private {
		if err := os.WriteFile(filepath.Join(dir, "private", name), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestINI(t *testing.T) {
	f, err := parseINI("x.cfg", "\ufeff# comment\n[node]\nnickname = a\n[storage]\nEnabled: yes\n ; indented comment\nreserved_space = 1G\nlong = first\n  second\n\n  third\n\nempty =\npct = 50%%\n[storage]\nreadonly = on\n")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ key, want string }{
		{"enabled", "yes"}, {"reserved_space", "1G"}, {"long", "first\nsecond\n\nthird"}, {"empty", ""}, {"pct", "50%"}, {"readonly", "on"},
	} {
		if v, ok, err := f.get("storage", tc.key); !ok || err != nil || v != tc.want {
			t.Errorf("[storage]%s = %q, %v, %v; want %q", tc.key, v, ok, err, tc.want)
		}
	}
	if f.line("storage", "reserved_space") != 7 {
		t.Errorf("line of reserved_space %d, want 7", f.line("storage", "reserved_space"))
	}
	for _, bad := range []string{"key = v\n", "[s]\njust a line\n"} {
		if _, err := parseINI("x.cfg", bad); err == nil || !strings.HasPrefix(err.Error(), "x.cfg:1") && !strings.HasPrefix(err.Error(), "x.cfg:2") {
			t.Errorf("parseINI(%q) = %v, want an error naming the file and line", bad, err)
		}
	}
	f, _ = parseINI("x.cfg", "[s]\na = 5%\nb = %(a)s\n")
	if _, _, err := f.get("s", "a"); err == nil || !strings.Contains(err.Error(), "x.cfg:2: [s]a: '%' must be followed by '%' or '('") {
		t.Errorf("lone %%: %v", err)
	}
	if _, _, err := f.get("s", "b"); err == nil || !strings.Contains(err.Error(), "interpolation is not supported") {
		t.Errorf("%%(a)s: %v", err)
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{{"10000", 10000}, {"1K", 1000}, {"1KB", 1000}, {"1kib", 1024}, {"1KiB", 1024}, {"2M", 2e6}, {"1MiB", 1 << 20}, {"1G", 1e9}, {"3gb", 3e9}, {"1GiB", 1 << 30}, {"1T", 1e12}, {"1E", 1e18}, {"0", 0}} {
		if got, err := ParseSize(tc.in); err != nil || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "1X", "1.5G", "G", "-1", "1 G", "1IB", "9E9"} {
		if _, err := ParseSize(bad); err == nil || !strings.HasPrefix(err.Error(), "unparseable value "+bad) {
			t.Errorf("ParseSize(%q) = %v, want unparseable value", bad, err)
		}
	}
}

func TestLoadTahoeDisk(t *testing.T) {
	dir := node(t, "[node]\nnickname = n\n[storage]\nenabled = True\nreadonly = yes\nreserved_space = 5GiB\nexpire.enabled = 1\nexpire.mode = cutoff-date\nexpire.cutoff_date = 2009-03-18\nexpire.override_lease_duration = 60 days\nexpire.immutable = true\n", nil)
	s, err := LoadTahoe(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Backend != "disk:"+filepath.Join(dir, "storage") || s.StateDir != filepath.Join(dir, "sharestore-state") || s.Source != filepath.Join(dir, "tahoe.cfg") {
		t.Errorf("backend %q state %q source %q", s.Backend, s.StateDir, s.Source)
	}
	if !s.ReadOnly || s.ReservedSpace != 5<<30 || !s.StorageEnabled {
		t.Errorf("readonly %v reserved %d enabled %v", s.ReadOnly, s.ReservedSpace, s.StorageEnabled)
	}
	// Tahoe ignores the age override in cutoff-date mode.
	if s.ExpireMode != "cutoff-date" || s.ExpireCutoffDate != "2009-03-18" || s.ExpireOverride != "" {
		t.Errorf("expire %q %q %q", s.ExpireMode, s.ExpireCutoffDate, s.ExpireOverride)
	}
	p, err := s.Policy(TahoeKeys)
	if err != nil || !p.Enabled || p.CutoffDate.Unix() != 1237334400 {
		t.Errorf("policy %+v %v", p, err)
	}
	if s.Accounting.SlowStart != 10*time.Minute || s.Buckets.SlowStart != 5*time.Minute || s.Accounting.MinimumCycleTime != 12*time.Hour {
		t.Errorf("schedules %+v %+v", s.Accounting, s.Buckets)
	}

	for _, tc := range []struct{ cfg, backend string }{
		{"[storage]\nstorage_dir = /srv/shares\n", "disk:/srv/shares"},
		{"[storage]\nstorage_dir = rel/st\n", "disk:" + filepath.Join("BASE", "rel/st")},
		{"[client]\n", "disk:" + filepath.Join("BASE", "storage")},
	} {
		dir := node(t, tc.cfg, nil)
		s, err := LoadTahoe(dir)
		if want := strings.Replace(tc.backend, "BASE", dir, 1); err != nil || s.Backend != want {
			t.Errorf("%q: %q, %v; want %q", tc.cfg, s.Backend, err, want)
		}
		if err == nil && (s.ExpireMode != "" || s.ReadOnly || s.ReservedSpace != 0) {
			t.Errorf("%q: defaults %+v", tc.cfg, s)
		}
	}
	// Age mode, with the override, and expiration off.
	s, err = LoadTahoe(node(t, "[storage]\nexpire.enabled = on\nexpire.mode = age\nexpire.override_lease_duration = 2mo\nexpire.cutoff_date = 2001-01-01\n", nil))
	if err != nil || s.ExpireMode != "age" || s.ExpireOverride != "2mo" || s.ExpireCutoffDate != "" {
		t.Errorf("age: %+v, %v", s, err)
	}
	s, err = LoadTahoe(node(t, "[storage]\nexpire.enabled = off\nexpire.mode = cutoff-date\nexpire.cutoff_date = 2001-01-01\n", nil))
	if err != nil || s.ExpireMode != "" || s.ExpireCutoffDate != "" {
		t.Errorf("disabled: %+v, %v", s, err)
	}
}

func TestLoadTahoeErrors(t *testing.T) {
	for _, tc := range []struct {
		name, cfg string
		private   map[string]string
		want      string
	}{
		{"disabled", "[storage]\nenabled = false\n", nil, "tahoe.cfg:2: [storage]enabled: storage is not enabled in this file"},
		{"bad boolean", "[storage]\nreadonly = maybe\n", nil, "tahoe.cfg:2: [storage]readonly: Not a boolean: maybe"},
		{"bad enabled", "[storage]\n\nexpire.enabled = yess\n", nil, "tahoe.cfg:3: [storage]expire.enabled: Not a boolean: yess"},
		{"bad size", "[storage]\nreserved_space = 10 gigs\n", nil, "tahoe.cfg:2: [storage]reserved_space: unparseable value 10 gigs"},
		{"bad mode", "[storage]\nexpire.enabled = true\nexpire.mode = bogus\n", nil, "tahoe.cfg:3: [storage]expire.mode: GC mode 'bogus' must be 'age' or 'cutoff-date'"},
		{"bad mode, disabled", "[storage]\nexpire.mode = bogus\n", nil, "[storage]expire.mode: GC mode 'bogus' must be 'age' or 'cutoff-date'"},
		{"no mode", "[storage]\nexpire.enabled = true\n", nil, "[storage]expire.mode: expire.mode is required when expire.enabled is true"},
		{"no cutoff", "[storage]\nexpire.enabled = true\nexpire.mode = cutoff-date\n", nil, "[storage]expire.mode: GC mode 'cutoff-date' needs a cutoff date"},
		{"bad duration", "[storage]\nexpire.override_lease_duration = 2kumquats\n", nil, "tahoe.cfg:2: [storage]expire.override_lease_duration: no unit (like day, month, or year) in '2kumquats'"},
		{"bad date", "[storage]\nexpire.cutoff_date = 18-03-2009\n", nil, "tahoe.cfg:2: [storage]expire.cutoff_date: invalid date '18-03-2009'"},
		{"future date", "[storage]\nexpire.enabled = true\nexpire.mode = cutoff-date\nexpire.cutoff_date = 2999-01-01\n", nil, "[storage]expire.cutoff_date 2999-01-01 is in the future"},
		{"immutable", "[storage]\nexpire.immutable = False\n", nil, "tahoe.cfg:2: [storage]expire.immutable: expire.immutable = False is no longer supported"},
		{"mutable", "[storage]\nexpire.mutable = no\n", nil, "tahoe.cfg:2: [storage]expire.mutable: expire.mutable = False is no longer supported"},
		{"mutable bad", "[storage]\nexpire.mutable = nope\n", nil, "[storage]expire.mutable: Not a boolean: nope"},
		{"backend", "[storage]\nbackend = cloud.openstack\n", nil, `[storage]backend: "cloud.openstack" is not supported by sharestore`},
		{"readonly cloud", "[storage]\nreadonly = true\nbackend = s3\n", nil, "[storage]readonly: true is not supported by the cloud backend; make the container read-only instead"},
		{"s3 bucket", "[storage]\nbackend = cloud.s3\ns3.access_key_id = AK\n", nil, "[storage]s3.bucket is required with backend = cloud.s3"},
		{"s3 secret", "[storage]\nbackend = cloud.s3\ns3.bucket = b\ns3.access_key_id = AK\n", nil, "cannot read the S3 secret access key (private/s3secret)"},
		{"s3 url", "[storage]\nbackend = cloud.s3\ns3.bucket = b\ns3.access_key_id = AK\ns3.url = ftp://x\n", map[string]string{"s3secret": "S"}, "tahoe.cfg:5: [storage]s3.url: want an http:// or https:// URL"},
		{"azure key", "[storage]\nbackend = cloud.msazure\nmsazure.account_name = a\nmsazure.container = c\n", map[string]string{"msazure_account_key": "not base64!"}, "want the account key in base64"},
		{"azure container", "[storage]\nbackend = cloud.msazure\nmsazure.account_name = a\n", nil, "[storage]msazure.container is required with backend = cloud.msazure"},
		{"gcs pem", gcsCfg, map[string]string{"googlestorage_private_key": "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"}, "not a service account JSON key: sharestore's Google Cloud Storage backend (the Go SDK) cannot sign with the PKCS#12 or PEM private key Tahoe's googlestorage backend takes; create a JSON key for sa@p.iam.gserviceaccount.com"},
		{"gcs p12", gcsCfg, map[string]string{"googlestorage_private_key": "\x30\x82\x09\x8c\x02\x01\x03"}, "not a service account JSON key"},
		{"gcs other account", gcsCfg, map[string]string{"googlestorage_private_key": `{"type":"service_account","client_email":"other@p.iam.gserviceaccount.com","private_key":"-----BEGIN PRIVATE KEY-----\n"}`}, "[storage]googlestorage.account_email: sa@p.iam.gserviceaccount.com, but"},
		{"malformed", "[storage]\nreadonly\n", nil, "tahoe.cfg:2: want 'key = value'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadTahoe(node(t, tc.cfg, tc.private))
			if !errors.Is(err, sharestore.ErrInvalidArgument) {
				t.Fatalf("LoadTahoe: %v, want ErrInvalidArgument", err)
			}
			if msg := err.Error(); !strings.Contains(msg, "tahoe.cfg") && !strings.Contains(msg, "private") || !strings.Contains(msg, tc.want) {
				t.Errorf("LoadTahoe: %q\nwant it to name the file and say %q", msg, tc.want)
			}
		})
	}
	if _, err := LoadTahoe(t.TempDir()); !errors.Is(err, sharestore.ErrInvalidArgument) || !strings.Contains(err.Error(), "tahoe.cfg") {
		t.Errorf("no tahoe.cfg: %v", err)
	}
}

const gcsCfg = "[storage]\nbackend = cloud.googlestorage\ngooglestorage.account_email = sa@p.iam.gserviceaccount.com\ngooglestorage.project_id = proj\ngooglestorage.bucket = gbkt\n"

const (
	s3Secret    = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	azureSecret = "c2VjcmV0LWF6dXJlLWFjY291bnQta2V5LXZhbHVl"
	gcsKeyBody  = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC-secret-gcs"
)

// Each cloud backend maps to its URL, with the credential in Secrets and
// never in the URL or in Redacted.
func TestLoadTahoeCloud(t *testing.T) {
	gcsJSON := `{"type":"service_account","client_email":"sa@p.iam.gserviceaccount.com","private_key":"-----BEGIN PRIVATE KEY-----\n` + gcsKeyBody + `\n-----END PRIVATE KEY-----\n"}`
	for _, tc := range []struct {
		name, cfg string
		private   map[string]string
		url       string // BASE is the base directory
		secrets   map[string]string
		hidden    string
	}{
		{"s3 custom url", "[storage]\nbackend = cloud.s3\ns3.bucket = bkt\ns3.url = http://127.0.0.1:9000\ns3.prefix = srv1/\ns3.access_key_id = AKIDEXAMPLE\n",
			map[string]string{"s3secret": s3Secret + "\n"},
			"s3://bkt/srv1?endpoint=http%3A%2F%2F127.0.0.1%3A9000&path_style=true&region=us-east-1",
			map[string]string{"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": s3Secret, "AWS_SESSION_TOKEN": ""}, s3Secret},
		{"s3 on AWS", "[storage]\nbackend = s3\ns3.bucket = bkt\ns3.access_key_id = AKIDEXAMPLE\n",
			map[string]string{"s3secret": s3Secret},
			"s3://bkt?region=us-east-1",
			map[string]string{"AWS_SECRET_ACCESS_KEY": s3Secret}, s3Secret},
		{"azure", "[storage]\nbackend = cloud.msazure\nmsazure.account_name = acct\nmsazure.container = ctr\n",
			map[string]string{"msazure_account_key": azureSecret + "\n"},
			"azblob://ctr?account=acct",
			map[string]string{"AZURE_STORAGE_KEY": azureSecret, "AZURE_STORAGE_CONNECTION_STRING": ""}, azureSecret},
		{"gcs", gcsCfg, map[string]string{"googlestorage_private_key": gcsJSON},
			"gs://gbkt?auth=key&key_file=BASE%2Fprivate%2Fgooglestorage_private_key&project=proj",
			nil, gcsKeyBody},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := node(t, tc.cfg, tc.private)
			s, err := LoadTahoe(dir)
			if err != nil {
				t.Fatal(err)
			}
			want := strings.ReplaceAll(tc.url, "BASE", strings.ReplaceAll(dir, "/", "%2F"))
			if s.Backend != want {
				t.Errorf("backend %q\n    want %q", s.Backend, want)
			}
			for name, v := range tc.secrets {
				if got, ok := s.Secrets[name]; !ok || got.Value != v || s.Getenv(name) != v {
					t.Errorf("secret %s = %q (%v), want %q", name, got.Value, ok, v)
				}
			}
			out := s.Redacted() + fmt.Sprintf("%v %+v %#v %s %v", s, s, s, s.Secrets, s.Secrets)
			if strings.Contains(out, tc.hidden) || strings.Contains(s.Backend, tc.hidden) {
				t.Errorf("the secret shows:\n%s", out)
			}
			for name, v := range s.Secrets {
				if v.Value != "" && !strings.Contains(out, name+" = [redacted] from "+v.Source) {
					t.Errorf("Redacted does not name the secret %s:\n%s", name, out)
				}
			}
		})
	}
}
