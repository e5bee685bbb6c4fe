package cli

import (
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Secret values the tests plant; none may show anywhere but in the echo
// plugin's Configure.
const (
	fileSecret = "s3cr3t-from-the-file-1234"
	envSecret  = "s3cr3t-from-the-env-5678"
	toSecret   = "s3cr3t-for-the-dest-9012"
)

// writeConfig writes a --plugin-config file with the given mode.
func writeConfig(t *testing.T, text string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "plugin.toml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// noSecret fails t if any planted secret is in text.
func noSecret(t *testing.T, what, text string) {
	t.Helper()
	for _, s := range []string{fileSecret, envSecret, toSecret} {
		if strings.Contains(text, s) {
			t.Errorf("%s shows the secret %q:\n%s", what, s, text)
		}
	}
}

// TestPluginOptionsAndSecretsReachPlugin checks that options and secrets
// reach the plugin's Configure from each source (the file, the
// environment, the flags), each overriding the one before, and that no
// secret is in the plugin's argv or environment or in anything the
// command prints, although the plugin logs them.
func TestPluginOptionsAndSecretsReachPlugin(t *testing.T) {
	bin, reports := echoPlugin(t)
	root, _ := buildTahoeStore(t)
	cfg := writeConfig(t, `
from_file = "f"
overridden = "by the file"
read_only = true
retries = 3

[secrets]
token = "`+fileSecret+`"
file_only = "`+fileSecret+`-2"
`, 0o600)
	t.Setenv("SHARESTORE_PLUGIN_OPTION_FROM_ENV", "e")
	t.Setenv("SHARESTORE_PLUGIN_OPTION_OVERRIDDEN", "by the environment")
	t.Setenv("SHARESTORE_PLUGIN_SECRET_TOKEN", envSecret)
	t.Setenv("SHARESTORE_PLUGIN_SECRET_Env_Only", envSecret+"-2")
	// Another command's variables are not this one's.
	t.Setenv("SHARESTORE_FROM_PLUGIN_OPTION_OTHER", "x")
	code, out, errOut := run(t, "ls", "--backend", "disk:"+root, "--plugin", bin, "--plugin-config", cfg,
		"--plugin-option", "from_flag=a=b", "--plugin-option", "overridden=by a flag")
	if code != 0 {
		t.Fatalf("ls through the echo plugin: exit %d\n%s", code, errOut)
	}
	rep := readEcho(t, reports, filepath.Base(root))
	wantOpts := map[string]string{"from_file": "f", "read_only": "true", "retries": "3", "from_env": "e",
		"from_flag": "a=b", "overridden": "by a flag"}
	if !maps.Equal(rep.Options, wantOpts) {
		t.Errorf("the plugin got the options %v, want %v", rep.Options, wantOpts)
	}
	wantSecrets := map[string]string{"token": envSecret, "file_only": fileSecret + "-2", "env_only": envSecret + "-2"}
	if !maps.Equal(rep.Secrets, wantSecrets) {
		t.Errorf("the plugin got the secrets %v, want %v", rep.Secrets, wantSecrets)
	}
	noSecret(t, "the plugin's command line", rep.Cmdline)
	noSecret(t, "the plugin's environment", strings.Join(rep.Environ, "\n"))
	noSecret(t, "stdout", out)
	noSecret(t, "stderr", errOut)
	if !strings.Contains(errOut, "echo plugin: my secrets are REDACTED") {
		t.Errorf("the plugin's log line did not reach stderr, with its secrets removed:\n%s", errOut)
	}
}

// TestPluginSecretNotInErrorsOrStateDir has the plugin quote its secrets
// in errors: at Configure, which fails the command, and listing one
// prefix, which a crawl records in its state directory. Neither the
// output nor any file under the state directory shows them.
func TestPluginSecretNotInErrorsOrStateDir(t *testing.T) {
	bin, _ := echoPlugin(t)
	root, _ := buildTahoeStore(t)
	t.Setenv("SHARESTORE_PLUGIN_SECRET_TOKEN", envSecret)
	code, out, errOut := run(t, "ls", "--backend", "disk:"+root, "--plugin", bin, "--plugin-option", "fail=configure")
	if code != 2 || !strings.Contains(errOut, "login refused for REDACTED") {
		t.Errorf("a plugin that refuses to start: exit %d, stderr:\n%s", code, errOut)
	}
	noSecret(t, "stdout", out)
	noSecret(t, "stderr", errOut)

	state := t.TempDir()
	code, out, errOut = run(t, "crawl", "--once", "--fast", "--progress", "none", "--backend", "disk:"+root,
		"--state-dir", state, "--plugin", bin, "--plugin-option", "fail=list")
	if code != 1 || !strings.Contains(errOut, "prefix=aa") {
		t.Fatalf("crawl with a failing prefix: exit %d\n%s\n%s", code, out, errOut)
	}
	noSecret(t, "stdout", out)
	noSecret(t, "stderr", errOut)
	recorded := false
	err := filepath.WalkDir(state, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		noSecret(t, path, string(data))
		recorded = recorded || strings.Contains(string(data), "listing aa as REDACTED")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !recorded {
		t.Errorf("no file under the state directory records the failure of prefix aa")
	}
}

// TestPluginConfigFileModes checks that a config file holding secrets is
// refused unless only its owner can access it, and one without secrets
// if others can write it, naming the file, before the plugin starts.
func TestPluginConfigFileModes(t *testing.T) {
	bin, reports := echoPlugin(t)
	root, _ := buildTahoeStore(t)
	withSecrets := "a = 1\n[secrets]\ntoken = \"" + fileSecret + "\"\n"
	for _, tc := range []struct {
		name string
		text string
		mode os.FileMode
		ok   bool
	}{
		{"secrets, owner only", withSecrets, 0o600, true},
		{"secrets, owner read only", withSecrets, 0o400, true},
		{"secrets, world-readable", withSecrets, 0o644, false},
		{"secrets, group-readable", withSecrets, 0o640, false},
		{"empty secrets table, world-readable", "a = 1\n[secrets]\n", 0o644, false},
		{"options only, world-readable", "a = 1\n", 0o644, true},
		{"options only, group-writable", "a = 1\n", 0o664, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(filepath.Join(reports, filepath.Base(root)+".json"))
			cfg := writeConfig(t, tc.text, tc.mode)
			code, _, errOut := run(t, "ls", "--backend", "disk:"+root, "--plugin", bin, "--plugin-config", cfg)
			noSecret(t, "stderr", errOut)
			if tc.ok {
				if code != 0 {
					t.Fatalf("exit %d: %s", code, errOut)
				}
				return
			}
			if code != 2 || !strings.Contains(errOut, cfg) || !strings.Contains(errOut, "too open") || !strings.Contains(errOut, "--plugin-config") {
				t.Errorf("exit %d, stderr %q; want exit 2 naming the flag and %s as too open", code, errOut, cfg)
			}
			if _, err := os.Stat(filepath.Join(reports, filepath.Base(root)+".json")); err == nil {
				t.Errorf("the plugin was started")
			}
		})
	}
}

// TestPluginSettingsRefused checks the usage errors (exit 2): each names
// the flag, file or variable, and none shows a value.
func TestPluginSettingsRefused(t *testing.T) {
	bin, _ := echoPlugin(t)
	root, _ := buildTahoeStore(t)
	ls := []string{"ls", "--backend", "disk:" + root, "--plugin", bin}
	cp := []string{"copy", "--from", "disk:" + root, "--to", "disk:" + filepath.Join(t.TempDir(), "dst"), "--to-plugin", bin}
	for _, tc := range []struct {
		name string
		args []string
		env  [2]string
		want string
	}{
		{"option without '='", append(ls, "--plugin-option", "read_only"), [2]string{}, "--plugin-option: the 1st one given has no '='"},
		{"second option without '='", append(ls, "--plugin-option", "a=1", "--plugin-option", fileSecret), [2]string{}, "--plugin-option: the 2nd one given has no '='"},
		{"copy option without '='", append(cp, "--to-plugin-option", fileSecret), [2]string{}, "--to-plugin-option: the 1st one given has no '='"},
		{"empty option name", append(ls, "--plugin-option", "="+fileSecret), [2]string{}, "--plugin-option : want an option name"},
		{"credential as a flag", append(ls, "--plugin-option", "secret_access_key="+fileSecret), [2]string{}, "SHARESTORE_PLUGIN_SECRET_SECRET_ACCESS_KEY"},
		{"credential as a copy flag", append(cp, "--to-plugin-option", "api_token="+fileSecret), [2]string{}, "SHARESTORE_TO_PLUGIN_SECRET_API_TOKEN"},
		{"credential as an option variable", ls, [2]string{"SHARESTORE_PLUGIN_OPTION_PASSWORD", fileSecret}, "SHARESTORE_PLUGIN_OPTION_PASSWORD: \"password\" looks like a credential"},
		{"secret variable without a name", ls, [2]string{"SHARESTORE_PLUGIN_SECRET_", fileSecret}, "environment variable SHARESTORE_PLUGIN_SECRET_:"},
		{"option without the plugin", []string{"ls", "--backend", "disk:" + root, "--plugin-option", "a=1"}, [2]string{}, "--plugin-option needs --plugin"},
		{"config without the plugin", []string{"ls", "--backend", "disk:" + root, "--plugin-config", "x.toml"}, [2]string{}, "--plugin-config needs --plugin"},
		{"copy option without the plugin", []string{"copy", "--from", "disk:" + root, "--to", "disk:" + t.TempDir(), "--from-plugin-option", "a=1"}, [2]string{}, "--from-plugin-option needs --from-plugin"},
		{"missing config", append(ls, "--plugin-config", filepath.Join(root, "none.toml")), [2]string{}, "none.toml: no such file"},
		{"malformed config", append(ls, "--plugin-config", writeConfig(t, "a = 1\nb = \""+fileSecret+"\n", 0o600)), [2]string{}, "line 2, column"},
		{"config with another table", append(ls, "--plugin-config", writeConfig(t, "[other]\nb = 1\n", 0o600)), [2]string{}, "option \"other\": want a string, a number or a boolean"},
		{"config with an array secret", append(ls, "--plugin-config", writeConfig(t, "[secrets]\nb = [\""+fileSecret+"\"]\n", 0o600)), [2]string{}, "secret \"b\": want a string"},
		{"config with a credential option", append(ls, "--plugin-config", writeConfig(t, "token = \""+fileSecret+"\"\n", 0o600)), [2]string{}, "option token: \"token\" looks like a credential"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env[0] != "" {
				t.Setenv(tc.env[0], tc.env[1])
			}
			code, _, errOut := run(t, tc.args...)
			if code != 2 || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 and %q", code, errOut, tc.want)
			}
			noSecret(t, "stderr", errOut)
		})
	}
}

// TestCopyPluginSettings checks that each side of a copy gets its own
// options and secrets: --from-plugin-option and SHARESTORE_FROM_PLUGIN_…
// reach the source, --to-plugin-config and SHARESTORE_TO_PLUGIN_… the
// destination.
func TestCopyPluginSettings(t *testing.T) {
	bin, reports := echoPlugin(t)
	root, _ := buildTahoeStore(t)
	dst := filepath.Join(t.TempDir(), "dst")
	cfg := writeConfig(t, "side = \"to\"\n[secrets]\ntoken = \""+toSecret+"\"\n", 0o600)
	t.Setenv("SHARESTORE_FROM_PLUGIN_SECRET_TOKEN", envSecret)
	t.Setenv("SHARESTORE_TO_PLUGIN_OPTION_FROM_ENV", "to")
	t.Setenv("SHARESTORE_PLUGIN_SECRET_TOKEN", fileSecret) // not copy's
	code, out, errOut := run(t, "copy", "--from", "disk:"+root, "--from-plugin", bin, "--from-plugin-option", "side=from",
		"--to", "disk:"+dst, "--to-plugin", bin, "--to-plugin-config", cfg)
	if code != 0 {
		t.Fatalf("copy through two echo plugins: exit %d\n%s\n%s", code, out, errOut)
	}
	src, to := readEcho(t, reports, filepath.Base(root)), readEcho(t, reports, "dst")
	if want := map[string]string{"side": "from"}; !maps.Equal(src.Options, want) {
		t.Errorf("the source got the options %v, want %v", src.Options, want)
	}
	if want := map[string]string{"token": envSecret}; !maps.Equal(src.Secrets, want) {
		t.Errorf("the source got the secrets %v, want %v", src.Secrets, want)
	}
	if want := map[string]string{"side": "to", "from_env": "to"}; !maps.Equal(to.Options, want) {
		t.Errorf("the destination got the options %v, want %v", to.Options, want)
	}
	if want := map[string]string{"token": toSecret}; !maps.Equal(to.Secrets, want) {
		t.Errorf("the destination got the secrets %v, want %v", to.Secrets, want)
	}
	for _, rep := range []echoReport{src, to} {
		noSecret(t, "a plugin's command line", rep.Cmdline)
		noSecret(t, "a plugin's environment", strings.Join(rep.Environ, "\n"))
	}
	noSecret(t, "stdout", out)
	noSecret(t, "stderr", errOut)
}
