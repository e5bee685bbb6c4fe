//go:build unix

package plugin_test

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/sharestore/sharestore/plugin"
)

// TestPluginEnvironmentHasNoSecrets checks that a plugin does not inherit
// the variables that hand secrets to the sharestore command, and does
// inherit the rest of its host's environment.
func TestPluginEnvironmentHasNoSecrets(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/PID/environ")
	}
	t.Setenv("SHARESTORE_PLUGIN_SECRET_TOKEN", "plugin-env-secret-1")
	t.Setenv("SHARESTORE_TO_PLUGIN_SECRET_TOKEN", "plugin-env-secret-2")
	t.Setenv("SHARESTORE_PLUGIN_OPTION_READ_ONLY", "kept-option")
	b, _ := openDisk(t, plugin.HostOptions{})
	data, err := os.ReadFile("/proc/" + strconv.Itoa(b.PID()) + "/environ")
	if err != nil {
		t.Fatal(err)
	}
	env := string(data)
	for _, s := range []string{"plugin-env-secret-1", "plugin-env-secret-2", "SHARESTORE_PLUGIN_SECRET_", "SHARESTORE_TO_PLUGIN_SECRET_"} {
		if strings.Contains(env, s) {
			t.Errorf("the plugin's environment holds %q", s)
		}
	}
	if !strings.Contains(env, "kept-option") {
		t.Errorf("the plugin did not inherit the rest of its host's environment")
	}
}

func TestIsSecretEnv(t *testing.T) {
	for name, want := range map[string]bool{
		"SHARESTORE_PLUGIN_SECRET_TOKEN":      true,
		"SHARESTORE_FROM_PLUGIN_SECRET_TOKEN": true,
		"SHARESTORE_PLUGIN_OPTION_TOKEN":      false,
		"AWS_SECRET_ACCESS_KEY":               false,
		"PLUGIN_SECRET_X":                     false,
	} {
		if got := plugin.IsSecretEnv(name); got != want {
			t.Errorf("IsSecretEnv(%s) = %v, want %v", name, got, want)
		}
	}
}
