package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sharestore/sharestore/backends/disk"
)

// nodeStore makes a Tahoe node directory with its storage directory in
// the default place (NODEDIR/storage), and two leftover uploads in
// incoming/: one 30 days old, one an hour old. It returns the node
// directory, the storage directory and the two leftovers.
func nodeStore(t *testing.T) (node, storage, old, young string) {
	t.Helper()
	node = t.TempDir()
	storage = filepath.Join(node, "storage")
	b, err := disk.Open(storage, disk.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	dir := filepath.Join(storage, "shares", "incoming", "aa", strings.Repeat("a", 26))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	old, young = filepath.Join(dir, "0"), filepath.Join(dir, "1")
	for path, age := range map[string]time.Duration{old: 30 * 24 * time.Hour, young: time.Hour} {
		if err := os.WriteFile(path, []byte("partial upload"), 0o644); err != nil {
			t.Fatal(err)
		}
		at := time.Now().Add(-age)
		if err := os.Chtimes(path, at, at); err != nil {
			t.Fatal(err)
		}
	}
	return node, storage, old, young
}

func exists(path string) bool { _, err := os.Lstat(path); return err == nil }

// Without a Tahoe node, the default age removes the month-old leftover
// and keeps the hour-old one (it may be a live upload); a dry run before
// lists exactly the old one and removes nothing.
func TestCleanIncomingRemovesOnlyOldLeftovers(t *testing.T) {
	_, storage, old, young := nodeStore(t)
	code, out, errOut := run(t, "maintenance", "clean-incoming", "--backend", "disk:"+storage, "--dry-run", "--json")
	if code != 0 {
		t.Fatalf("dry run: exit %d: %s", code, errOut)
	}
	var rep cleanIncomingReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("dry run --json: %v: %s", err, out)
	}
	if !rep.DryRun || len(rep.Files) != 1 || rep.Files[0] != old {
		t.Fatalf("dry run lists %+v, want only %s", rep, old)
	}
	if !exists(old) || !exists(young) {
		t.Fatal("the dry run removed a file")
	}
	code, out, errOut = run(t, "maintenance", "clean-incoming", "--backend", "disk:"+storage)
	if code != 0 || !strings.Contains(out, "removed "+old+"\n") || !strings.Contains(out, "removed 1 leftover uploads") {
		t.Fatalf("clean: exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	if exists(old) || !exists(young) {
		t.Fatalf("after the clean: old exists %v, young exists %v; want false, true", exists(old), exists(young))
	}
	// --older-than 0 takes the young one too.
	code, out, errOut = run(t, "maintenance", "clean-incoming", "--backend", "disk:"+storage, "--older-than", "0")
	if code != 0 || exists(young) {
		t.Fatalf("--older-than 0: exit %d, stdout %q, stderr %s, young exists %v", code, out, errOut, exists(young))
	}
	if !exists(filepath.Join(storage, "shares", "incoming")) {
		t.Fatal("incoming/ itself was removed")
	}
}

// A live pid in the node's twistd.pid or running.process makes the
// command refuse (exit 2, naming the file and the pid) and remove
// nothing; --force runs anyway.
func TestCleanIncomingRefusesWhileTahoeRuns(t *testing.T) {
	for _, name := range []string{"twistd.pid", "running.process"} {
		t.Run(name, func(t *testing.T) {
			node, storage, old, _ := nodeStore(t)
			pidFile := filepath.Join(node, name)
			pid := itoa(os.Getpid())
			if err := os.WriteFile(pidFile, []byte(pid+" 1700000000.5\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, extra := range [][]string{nil, {"--dry-run"}} {
				args := append([]string{"maintenance", "clean-incoming", "--backend", "disk:" + storage}, extra...)
				code, out, errOut := run(t, args...)
				if code != 2 || !strings.Contains(errOut, pidFile+" names pid "+pid+", which is alive") || !strings.Contains(errOut, "--force") {
					t.Fatalf("%v: exit %d, stdout %q, stderr %q; want exit 2 naming %s and pid %s", extra, code, out, errOut, pidFile, pid)
				}
			}
			if !exists(old) {
				t.Fatal("a refused run removed a leftover")
			}
			code, _, errOut := run(t, "maintenance", "clean-incoming", "--backend", "disk:"+storage, "--force")
			if code != 0 || exists(old) {
				t.Fatalf("--force: exit %d, stderr %s, old leftover exists %v", code, errOut, exists(old))
			}
		})
	}
}

// A tahoe.cfg with a [storage] section and no pid file is refused too:
// nothing tells whether the node runs. A stale pid file (a pid that is no
// longer alive) says it does not.
func TestCleanIncomingTahoeConfig(t *testing.T) {
	node, storage, old, _ := nodeStore(t)
	cfg := filepath.Join(node, "tahoe.cfg")
	if err := os.WriteFile(cfg, []byte("[node]\nnickname = x\n\n[storage]\nenabled = true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := run(t, "maintenance", "clean-incoming", "--backend", "disk:"+storage)
	if code != 2 || !strings.Contains(errOut, cfg+" configures a Tahoe storage server") || !exists(old) {
		t.Fatalf("tahoe.cfg without a pid file: exit %d, stderr %q, old exists %v", code, errOut, exists(old))
	}
	dead := exec.Command(os.Args[0], "-test.run=^$")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(node, "twistd.pid"), []byte(itoa(dead.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = run(t, "maintenance", "clean-incoming", "--backend", "disk:"+storage)
	if code != 0 || exists(old) {
		t.Fatalf("stale pid file: exit %d, stderr %q, old exists %v", code, errOut, exists(old))
	}
}

func TestCleanIncomingUsage(t *testing.T) {
	_, storage, _, _ := nodeStore(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "--backend is required"},
		{[]string{"--backend", "s3://bucket?region=x"}, "disk stores only"},
		{[]string{"--backend", "disk:" + storage, "--older-than", "-1h"}, "--older-than \"-1h\""},
		{[]string{"--backend", "disk:" + storage, "--older-than", "soon"}, "--older-than \"soon\""},
		{[]string{"--backend", "disk:" + filepath.Join(storage, "nope")}, "does not exist"},
	} {
		code, _, errOut := run(t, append([]string{"maintenance", "clean-incoming"}, tc.args...)...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, errOut, tc.want)
		}
	}
}

// The disk backend's message for a leftover upload names this command:
// it must exist under that name.
func TestCleanIncomingIsTheNamedCommand(t *testing.T) {
	code, out, errOut := run(t, "maintenance", "clean-incoming", "--help")
	if code != 0 || !strings.Contains(out, "sharestore maintenance clean-incoming --backend disk:PATH") {
		t.Fatalf("help: exit %d, stdout %q, stderr %s", code, out, errOut)
	}
}
