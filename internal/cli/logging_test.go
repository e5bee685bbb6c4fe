package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

// A bad --log-level or --log-format is exit 2, naming the flag, on
// every command.
func TestLogFlagsRefuseBadValues(t *testing.T) {
	for _, args := range [][]string{
		{"ls", "--log-level", "verbose", "--backend", "disk:" + t.TempDir()},
		{"status", "--log-level", "INFO", "--state-dir", t.TempDir()},
		{"--log-format", "xml", "crawl", "--once"},
		{"maintenance", "clean-incoming", "--log-format", "yaml", "--backend", "disk:" + t.TempDir()},
	} {
		code, _, errOut := run(t, args...)
		flag := "--log-level"
		if strings.Contains(strings.Join(args, " "), "--log-format") {
			flag = "--log-format"
		}
		if code != 2 || !strings.Contains(errOut, "sharestore: "+flag+` "`) || !strings.Contains(errOut, "want ") {
			t.Errorf("sharestore %s: exit %d, stderr %q; want 2 naming %s", strings.Join(args, " "), code, errOut, flag)
		}
	}
}

// Exit 2, with one line, for a backend that cannot be opened through a
// plugin: a binary that is not a plugin (the handshake fails), the disk
// plugin given a path that is not a store, and a plugin whose Configure
// fails because its database is locked (ErrUnavailable: exit 1 before).
func TestPluginThatCannotOpenExits2(t *testing.T) {
	disk := buildDiskPlugin(t)
	echo, _ := echoPlugin(t)
	notStore := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"handshake", []string{"ls", "--plugin", "/bin/ls", "--backend", "disk:" + notStore},
			[]string{"plugin /bin/ls: start-up failed: not a sharestore plugin: it printed"}},
		{"not a store", []string{"ls", "--plugin", disk, "--backend", "disk:" + notStore},
			[]string{"plugin " + disk + ": configure", "is not a Tahoe storage directory"}},
		{"locked", []string{"crawl", "--once", "--plugin", echo, "--plugin-option", "fail=locked", "--backend", "disk:" + notStore, "--state-dir", t.TempDir()},
			[]string{"plugin " + echo + ": configure", "database is locked"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := run(t, tc.args...)
			if code != 2 {
				t.Fatalf("exit %d, want 2; stderr:\n%s", code, errOut)
			}
			line := strings.TrimSuffix(errOut, "\n")
			if strings.Contains(line, "\n") || !strings.HasPrefix(line, "sharestore: ") {
				t.Errorf("stderr is not one line:\n%s", errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(line, w) {
					t.Errorf("stderr %q does not say %q", line, w)
				}
			}
			for _, bad := range []string{"Unrecognized remote plugin message", "This usually means", "Failed to read any lines", "[WARN]", "plugin failed to exit"} {
				if strings.Contains(errOut, bad) {
					t.Errorf("stderr shows go-plugin's %q:\n%s", bad, errOut)
				}
			}
		})
	}
}

// --log-format json: every line on stderr is a JSON object, through the
// disk plugin too (with --log-level debug, so that the plugin process's
// own records, which the host relays, are among them), and the error of
// a command that fails is one too. --log-level debug reaches the plugin
// process: a record only the plugin side logs appears, and not at the
// default level.
func TestLogFormatJSON(t *testing.T) {
	bin := buildDiskPlugin(t)
	root, _ := buildTahoeStore(t)
	check := func(what, errOut string) []map[string]any {
		t.Helper()
		var recs []map[string]any
		for _, l := range strings.Split(strings.TrimSpace(errOut), "\n") {
			var rec map[string]any
			if err := json.Unmarshal([]byte(l), &rec); err != nil || rec["level"] == nil || rec["msg"] == nil {
				t.Fatalf("%s: stderr line is not a JSON record: %q\nstderr:\n%s", what, l, errOut)
			}
			recs = append(recs, rec)
		}
		return recs
	}
	code, _, errOut := run(t, "crawl", "--once", "--fast", "--json", "--progress", "none", "--backend", "disk:"+root,
		"--state-dir", t.TempDir(), "--plugin", bin, "--log-format", "json", "--log-level", "debug")
	if code != 0 {
		t.Fatalf("crawl: exit %d\n%s", code, errOut)
	}
	serverSide := 0
	for _, rec := range check("crawl", errOut) {
		// go-plugin's server logs this in the plugin process only.
		if rec["msg"] == "configuring server automatic mTLS" && rec["plugin"] == bin && rec["level"] == "DEBUG" {
			serverSide++
		}
	}
	if serverSide != 1 {
		t.Errorf("--log-level debug: %d records of the plugin process's go-plugin server, want 1; stderr:\n%s", serverSide, errOut)
	}
	_, _, errOut = run(t, "ls", "--backend", "disk:"+root, "--plugin", bin, "--log-format", "json")
	if strings.Contains(errOut, "automatic mTLS") {
		t.Errorf("at the default level, debug records appear:\n%s", errOut)
	}
	code, _, errOut = run(t, "ls", "--backend", "disk:"+t.TempDir()+"/missing", "--plugin", bin, "--log-format", "json")
	recs := check("failing ls", errOut)
	if code != 2 || len(recs) != 1 || recs[0]["level"] != "ERROR" || !strings.Contains(recs[0]["msg"].(string), "does not exist") {
		t.Errorf("failing ls: exit %d, stderr:\n%s\nwant exit 2 and one error record", code, errOut)
	}
}
