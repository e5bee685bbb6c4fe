package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tahoeNode writes a Tahoe base directory whose tahoe.cfg is cfg and
// whose private/ holds the files given.
func tahoeNode(t *testing.T, cfg string, private map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "private"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tahoe.cfg"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, v := range private {
		if err := os.WriteFile(filepath.Join(dir, "private", name), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestConfigCheckTOML(t *testing.T) {
	p := filepath.Join(t.TempDir(), "serve.toml")
	os.WriteFile(p, []byte("[backend]\nurl = \"disk:/srv/storage\"\n[http]\nlisten = \"127.0.0.1:8080\"\n[schedule.accounting]\nminimum_cycle_time = \"6h\"\n"), 0o600)
	code, out, errOut := run(t, "config", "check", "--config", p)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"# effective configuration of " + p, "url = \"disk:/srv/storage\"", "listen = \"127.0.0.1:8080\"",
		"[schedule.accounting]\nminimum_cycle_time = \"6h0m0s\"", "slow_start = \"10m0s\"", "[schedule.buckets]\nminimum_cycle_time = \"1h0m0s\""} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// What it prints is a configuration file that checks the same.
	p2 := filepath.Join(t.TempDir(), "again.toml")
	os.WriteFile(p2, []byte(out), 0o600)
	code, out2, errOut := run(t, "config", "check", "--config", p2)
	if code != 0 || strings.ReplaceAll(out2, p2, p) != out {
		t.Errorf("check of the printed file: exit %d %s\n%s\nwant\n%s", code, errOut, out2, out)
	}
}

func TestConfigCheckErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(bad, []byte("[expire]\nmode = \"age\"\noverride = \"1week\"\n"), 0o600)
	unknown := filepath.Join(t.TempDir(), "unknown.toml")
	os.WriteFile(unknown, []byte("[crawl]\nspeed = 3\n"), 0o600)
	node := tahoeNode(t, "[storage]\nenabled = true\nexpire.enabled = true\nexpire.mode = bogus\n", nil)
	off := tahoeNode(t, "[storage]\nenabled = false\n", nil)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--config", bad}, bad + ": expire.override: unknown unit 'week' in '1week'"},
		{[]string{"--config", unknown}, unknown + ": unknown key crawl.speed"},
		{[]string{"--tahoe-basedir", node}, filepath.Join(node, "tahoe.cfg") + ":4: [storage]expire.mode: GC mode 'bogus' must be 'age' or 'cutoff-date'"},
		{[]string{"--tahoe-basedir", off}, filepath.Join(off, "tahoe.cfg") + ":2: [storage]enabled: storage is not enabled"},
		{[]string{"--config", bad, "--tahoe-basedir", node}, "give one of them"},
		{nil, "--config FILE or --tahoe-basedir DIR is required"},
	} {
		code, out, errOut := run(t, append([]string{"config", "check"}, tc.args...)...)
		if code != 2 || out != "" || !strings.Contains(errOut, tc.want) {
			t.Errorf("config check %q: exit %d, stdout %q, stderr %q; want 2 and %q", tc.args, code, out, errOut, tc.want)
		}
	}
}

// A tahoe.cfg with each cloud backend: exit 0, and no secret value in
// anything the command writes.
func TestConfigCheckNeverPrintsSecrets(t *testing.T) {
	const s3Secret, azureKey = "wJalrXUtnFEMI-K7MDENG-s3-secret-value", "c2VjcmV0LWF6dXJlLWtleS12YWx1ZQ=="
	for _, tc := range []struct {
		cfg, want string
		private   map[string]string
		secrets   []string
	}{
		{"[storage]\nbackend = cloud.s3\ns3.bucket = bkt\ns3.url = http://127.0.0.1:9000\ns3.access_key_id = AKIDEXAMPLE\n",
			`url = "s3://bkt?endpoint=http%3A%2F%2F127.0.0.1%3A9000&path_style=true&region=us-east-1"`,
			map[string]string{"s3secret": s3Secret}, []string{s3Secret}},
		{"[storage]\nbackend = cloud.msazure\nmsazure.account_name = acct\nmsazure.container = ctr\n",
			`url = "azblob://ctr?account=acct"`,
			map[string]string{"msazure_account_key": azureKey}, []string{azureKey}},
	} {
		dir := tahoeNode(t, tc.cfg, tc.private)
		for _, args := range [][]string{
			{"config", "check", "--tahoe-basedir", dir},
			{"--log-level", "debug", "config", "check", "--tahoe-basedir", dir},
			{"--log-format", "json", "--log-level", "debug", "config", "check", "--tahoe-basedir", dir},
		} {
			code, out, errOut := run(t, args...)
			if code != 0 || !strings.Contains(out, tc.want) || !strings.Contains(out, "= [redacted] from "+filepath.Join(dir, "private")) {
				t.Errorf("%q: exit %d %s\n%s\nwant %q and a redacted secret", args, code, errOut, out, tc.want)
			}
			for _, sec := range tc.secrets {
				if strings.Contains(out+errOut, sec) {
					t.Errorf("%q prints the secret:\n%s%s", args, out, errOut)
				}
			}
		}
	}
}
