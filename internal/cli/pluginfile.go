package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// maxPluginConfig bounds the size of a --plugin-config file.
const maxPluginConfig = 1 << 20

// pluginFile is what a --plugin-config file holds.
type pluginFile struct {
	options map[string]string
	secrets map[string]string
}

// readPluginConfig reads a plugin's configuration file, in TOML: its
// top-level keys are options and the keys of its [secrets] table
// secrets, each a string, a number or a boolean (passed on as written in
// Go's form: true, 42, 0.5). For example
//
//	read_only = true
//	retry_timeout = "30s"
//
//	[secrets]
//	secret_access_key = "…"
//
// Any other table or an array is refused. A file with a [secrets] table
// must be accessible by its owner only (mode 0600 or 0400), and no
// config file may be writable by group or others, or it is refused, as
// ssh refuses a private key others can read. Errors name the file and a
// key or a line, never a value.
func readPluginConfig(path string) (pluginFile, error) {
	var pf pluginFile
	f, err := os.Open(path)
	if err != nil {
		return pf, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return pf, err
	}
	if !fi.Mode().IsRegular() {
		return pf, fmt.Errorf("%s is not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxPluginConfig+1))
	if err != nil {
		return pf, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(data) > maxPluginConfig {
		return pf, fmt.Errorf("%s is larger than %d bytes", path, maxPluginConfig)
	}
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		// The parser's message may quote the text it stopped at, which
		// may be a secret: say only where.
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return pf, fmt.Errorf("%s: line %d, column %d: not valid TOML", path, pe.Position.Line, pe.Position.Col)
		}
		return pf, fmt.Errorf("%s: not valid TOML", path)
	}
	_, hasSecrets := raw["secrets"]
	if err := checkConfigMode(path, fi.Mode(), hasSecrets); err != nil {
		return pf, err
	}
	pf.options, pf.secrets = map[string]string{}, map[string]string{}
	for k, v := range raw {
		if k == "secrets" {
			table, ok := v.(map[string]any)
			if !ok {
				return pf, fmt.Errorf("%s: secrets must be a table ([secrets])", path)
			}
			for sk, sv := range table {
				if !validName(sk) {
					return pf, fmt.Errorf("%s: secret %q: want a name of letters, digits, '_', '-' or '.'", path, sk)
				}
				s, err := scalar(sv)
				if err != nil {
					return pf, fmt.Errorf("%s: secret %q: %w", path, sk, err)
				}
				pf.secrets[sk] = s
			}
			continue
		}
		s, err := scalar(v)
		if err != nil {
			return pf, fmt.Errorf("%s: option %q: %w (the only table is [secrets])", path, k, err)
		}
		pf.options[k] = s
	}
	return pf, nil
}

// checkConfigMode refuses a config file that group or others may write,
// or, when it holds secrets, read. Windows has no such mode bits.
func checkConfigMode(path string, mode os.FileMode, hasSecrets bool) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	perm := mode.Perm()
	switch {
	case hasSecrets && perm&0o077 != 0:
		return fmt.Errorf("permissions %04o for %s are too open: it holds [secrets], so it must be accessible by its owner only (chmod 600 %s)", perm, path, path)
	case perm&0o022 != 0:
		return fmt.Errorf("permissions %04o for %s are too open: others can change the plugin's configuration (chmod go-w %s)", perm, path, path)
	}
	return nil
}

var errNotScalar = errors.New("want a string, a number or a boolean")

// scalar is a TOML value as an option's string.
func scalar(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	}
	return "", errNotScalar
}

// resolvePlugin finds the plugin binary that the flag named flag gives as
// path: a path with a separator is used as it is (relative to the working
// directory), and a bare name is looked up on $PATH, as a shell would, so
// that --plugin sharestore-backend-s3 runs the installed plugin. A name
// found nowhere is bad usage, with the directories searched.
func resolvePlugin(flag, path string) (string, error) {
	if strings.ContainsRune(path, '/') || strings.ContainsRune(path, filepath.Separator) {
		return path, nil
	}
	found, err := exec.LookPath(path)
	if err != nil {
		if errors.Is(err, exec.ErrDot) {
			// A binary in the working directory is never run by its bare
			// name: that is how a stray file takes over a command.
			return "", usageErr(fmt.Errorf("%s %s: found only in the working directory, which is on $PATH; give it as ./%s", flag, path, path))
		}
		return "", usageErr(fmt.Errorf("%s %s: no such plugin on $PATH (%s); give its path, such as ./%s", flag, path, os.Getenv("PATH"), path))
	}
	return found, nil
}
