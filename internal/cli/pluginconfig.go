package cli

import (
	"fmt"
	"maps"
	"os"
	"strings"

	"github.com/sharestore/sharestore/internal/backendurl/redact"
)

// pluginSettings are the options and secrets a plugin is configured
// with.
type pluginSettings struct {
	options map[string]string
	secrets map[string]string
}

// envPrefix is the prefix of the environment variables that hold
// options and secrets for this plugin: SHARESTORE_PLUGIN_ for --plugin,
// SHARESTORE_FROM_PLUGIN_ for --from-plugin, and so on.
func (p *pluginFlags) envPrefix() string {
	n := strings.ToUpper(strings.ReplaceAll(strings.TrimPrefix(p.name(), "--"), "-", "_"))
	return "SHARESTORE_" + n + "_"
}

// checkUnused fails when a flag that needs the path's flag is given
// without it.
func (p *pluginFlags) checkUnused() error {
	for _, f := range []struct {
		suffix string
		set    bool
	}{{"-sha256", p.sha256 != ""}, {"-option", len(p.options) > 0}, {"-config", p.config != ""}} {
		if f.set {
			return usageErr(fmt.Errorf("%s%s needs %s", p.name(), f.suffix, p.name()))
		}
	}
	return nil
}

// validate checks the flags before any backend is opened: the settings
// when the path's flag is given, else that nothing needs it.
func (p *pluginFlags) validate() error {
	if p.path == "" {
		return p.checkUnused()
	}
	_, err := p.settings()
	return err
}

// settings resolves the options and secrets for the plugin, each source
// overriding the ones before it:
//
//  1. the file of --plugin-config: its top-level keys are options, the
//     keys of its [secrets] table secrets (see readPluginConfig);
//  2. the environment: SHARESTORE_PLUGIN_OPTION_NAME=VALUE is the option
//     name, SHARESTORE_PLUGIN_SECRET_NAME=VALUE the secret name, NAME
//     lowercased (with the prefix of envPrefix);
//  3. each --plugin-option KEY=VALUE, a later one overriding an earlier.
//
// Secrets have no flag: argv is visible to every user of the machine.
// An option whose name looks like a credential (redact.SecretKey) is
// refused wherever it comes from, since options are not kept secret.
// Every error is a usage error naming the flag, file or variable, and
// none shows a value. The result is computed once.
func (p *pluginFlags) settings() (pluginSettings, error) {
	if p.resolved != nil {
		return *p.resolved, nil
	}
	set := pluginSettings{options: map[string]string{}, secrets: map[string]string{}}
	if p.config != "" {
		f, err := readPluginConfig(p.config)
		if err != nil {
			return set, usageErr(fmt.Errorf("%s-config: %w", p.name(), err))
		}
		for k := range f.options {
			if err := p.checkOption(fmt.Sprintf("%s-config %s: option %s", p.name(), p.config, k), k); err != nil {
				return set, usageErr(err)
			}
		}
		maps.Copy(set.options, f.options)
		maps.Copy(set.secrets, f.secrets)
	}
	if err := p.fromEnv(os.Environ(), set); err != nil {
		return set, usageErr(err)
	}
	for i, kv := range p.options {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return set, usageErr(fmt.Errorf("%s-option: the %s one given has no '=': want KEY=VALUE", p.name(), ordinal(i+1)))
		}
		if err := p.checkOption(p.name()+"-option "+k, k); err != nil {
			return set, usageErr(err)
		}
		set.options[k] = v
	}
	p.resolved = &set
	return set, nil
}

// fromEnv adds to set the options and secrets of environ's variables.
func (p *pluginFlags) fromEnv(environ []string, set pluginSettings) error {
	optPrefix, secPrefix := p.envPrefix()+"OPTION_", p.envPrefix()+"SECRET_"
	for _, kv := range environ {
		name, v, _ := strings.Cut(kv, "=")
		var key string
		var into map[string]string
		switch {
		case strings.HasPrefix(name, optPrefix):
			key, into = strings.ToLower(name[len(optPrefix):]), set.options
			if err := p.checkOption(name, key); err != nil {
				return err
			}
		case strings.HasPrefix(name, secPrefix):
			key, into = strings.ToLower(name[len(secPrefix):]), set.secrets
			if !validName(key) {
				return fmt.Errorf("environment variable %s: want %sNAME, NAME of letters, digits, '_', '-' or '.'", name, secPrefix)
			}
		default:
			continue
		}
		into[key] = v
	}
	return nil
}

// checkOption checks the name of an option that source (a flag, file or
// variable) gives.
func (p *pluginFlags) checkOption(source, name string) error {
	if !validName(name) {
		return fmt.Errorf("%s: want an option name of letters, digits, '_', '-' or '.'", source)
	}
	if redact.SecretKey(name) {
		return fmt.Errorf("%s: %q looks like a credential, and options are not kept secret; pass it as a secret: in the [secrets] table of %s-config FILE, or in %sSECRET_%s",
			source, name, p.name(), p.envPrefix(), strings.ToUpper(name))
	}
	return nil
}

// validName reports whether s is a well-formed option or secret name.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// ordinal is n as "1st", "2nd", "3rd", "4th", ….
func ordinal(n int) string {
	suffix := "th"
	if n%100 < 11 || n%100 > 13 {
		switch n % 10 {
		case 1:
			suffix = "st"
		case 2:
			suffix = "nd"
		case 3:
			suffix = "rd"
		}
	}
	return fmt.Sprintf("%d%s", n, suffix)
}

// pluginHelp is the paragraph of --help on a plugin's options and
// secrets, for the plugin flag pl ("--plugin").
func pluginHelp(pl string) string {
	env := (&pluginFlags{flag: pl}).envPrefix()
	rows := [][2]string{
		{pl + "-config FILE", "a TOML file: top-level keys are options,"},
		{"", "the keys of its [secrets] table secrets;"},
		{"", "with secrets, only its owner may read it (0600)"},
		{env + "OPTION_NAME=VALUE", "the option name (NAME lowercased)"},
		{env + "SECRET_NAME=VALUE", "the secret name (NAME lowercased)"},
		{pl + "-option KEY=VALUE", "the option KEY (repeatable)"},
	}
	w := 0
	for _, r := range rows {
		w = max(w, len(r[0]))
	}
	var b strings.Builder
	b.WriteString("\n\nOptions and secrets reach the plugin of " + pl + " through Configure,\nfrom three sources, each overriding the ones before it:\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "  %-*s  %s\n", w, r[0], r[1])
	}
	b.WriteString(`Secrets have no flag, since anyone on the machine can read a command line,
and an option named like a credential is refused. No secret is passed in
the plugin's command line or environment, printed, or stored in a state
directory.`)
	return b.String()
}
