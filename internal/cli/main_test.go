package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/disk"
	"github.com/sharestore/sharestore/internal/emulators"
	"github.com/sharestore/sharestore/plugin"
)

// echoEnv, set to a directory in the environment of the test binary,
// makes the binary the echo plugin (see serveEcho) instead of running
// the tests. A test sets it and passes the test binary itself as
// --plugin.
const echoEnv = "SHARESTORE_CLI_TEST_ECHO_PLUGIN"

func TestMain(m *testing.M) {
	if dir := os.Getenv(echoEnv); dir != "" {
		serveEcho(dir) // never returns
	}
	os.Exit(emulators.Run(m))
}

// echoReport is what the echo plugin saw: the configuration it received
// and what anyone on the machine could see of its process.
type echoReport struct {
	URL     string
	Options map[string]string
	Secrets map[string]string
	Cmdline string   // its /proc/self/cmdline (os.Args where there is none)
	Environ []string // its environment
}

// serveEcho serves the echo plugin: a disk backend at the Configure URL
// (disk:PATH) that writes what it received to dir/BASE.json, BASE being
// PATH's last element. It is a careless plugin: it logs its secrets'
// values, and with the option fail=configure it refuses to start, or
// with fail=list it fails listing prefix aa, quoting them in the error.
// The host must show none of them. With fail=locked it refuses to start,
// quietly, as a store whose database another process holds does
// (ErrUnavailable).
func serveEcho(dir string) {
	plugin.Serve(func(_ context.Context, cfg plugin.Config) (sharestore.Backend, error) {
		path := strings.TrimPrefix(cfg.URL, "disk:")
		rep := echoReport{URL: cfg.URL, Options: cfg.Options, Secrets: cfg.Secrets, Environ: os.Environ()}
		if b, err := os.ReadFile("/proc/self/cmdline"); err == nil {
			rep.Cmdline = strings.ReplaceAll(string(b), "\x00", " ")
		} else {
			rep.Cmdline = strings.Join(os.Args, " ")
		}
		if cfg.Options["fail"] == "locked" {
			return nil, sharestore.Errorf(sharestore.ErrUnavailable, "open %s: database is locked", path)
		}
		data, err := json.Marshal(rep)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(path)+".json"), data, 0o600); err != nil {
			return nil, err
		}
		var vals []string
		for _, v := range cfg.Secrets {
			vals = append(vals, v)
		}
		slices.Sort(vals)
		quoted := strings.Join(vals, ",")
		os.Stderr.WriteString("echo plugin: my secrets are " + quoted + "\n")
		if cfg.Options["fail"] == "configure" {
			return nil, sharestore.Errorf(sharestore.ErrPermissionDenied, "login refused for %s", quoted)
		}
		b, err := disk.Open(path, disk.Options{Create: cfg.Create})
		if err != nil || cfg.Options["fail"] != "list" {
			return b, err
		}
		return failingList{b, quoted}, nil
	})
}

// failingList fails to list prefix aa, quoting its secrets. Embedding
// only sharestore.Backend, it has no fast paths: the plugin's scans go
// through ListPrefix.
type failingList struct {
	sharestore.Backend
	secrets string
}

func (f failingList) ListPrefix(ctx context.Context, p sharestore.Prefix, fn func(sharestore.ShareInfo) error) error {
	if p == "aa" {
		return sharestore.Errorf(sharestore.ErrPermissionDenied, "listing %s as %s: access denied", p, f.secrets)
	}
	return f.Backend.ListPrefix(ctx, p, fn)
}

// echoPlugin makes the test binary the echo plugin for t's commands, and
// returns its path and the directory its reports go to.
func echoPlugin(t *testing.T) (bin, reports string) {
	t.Helper()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	reports = t.TempDir()
	t.Setenv(echoEnv, reports)
	return bin, reports
}

// readEcho returns the report of the echo plugin that served the store
// whose last path element is base.
func readEcho(t *testing.T, reports, base string) echoReport {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(reports, base+".json"))
	if err != nil {
		t.Fatalf("the echo plugin left no report: %v", err)
	}
	var rep echoReport
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}
