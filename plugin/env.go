package plugin

import "strings"

// IsSecretEnv reports whether the environment variable name hands a
// secret to the sharestore command for a plugin: a name that begins
// with "SHARESTORE_" and contains "PLUGIN_SECRET_", such as
// SHARESTORE_PLUGIN_SECRET_TOKEN or SHARESTORE_TO_PLUGIN_SECRET_TOKEN.
// Such secrets reach a plugin in Config.Secrets, through Configure, so a
// plugin never inherits these variables from its host.
func IsSecretEnv(name string) bool {
	return strings.HasPrefix(name, "SHARESTORE_") && strings.Contains(name, "PLUGIN_SECRET_")
}

// pluginEnv is the environment a plugin starts with: env, the host's
// with go-plugin's own variables, less every variable IsSecretEnv names.
func pluginEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !IsSecretEnv(name) {
			out = append(out, kv)
		}
	}
	return out
}

// LogLevelEnv is the environment variable through which a host tells
// the plugin process its log level (debug, info, warn or error): the
// host sets it to the level of HostOptions.Logger, and Serve logs at
// that level (info when it is unset or unknown). The format is the
// host's alone: a plugin always writes JSON lines, which the host
// re-emits in its own format.
const LogLevelEnv = "SHARESTORE_PLUGIN_LOG_LEVEL"
