//go:build unix

package plugin_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/plugin"
)

// alive reports whether pid is a live (not zombie) process.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	// The state follows the parenthesised command name.
	s := string(stat)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

// waitGone polls until pid is gone, for at most d.
func waitGone(t *testing.T, pid int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for alive(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("process %d still running %v later", pid, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestNoOrphanAfterHostSIGKILL kills a host with SIGKILL and checks that
// its plugin exits on its own (parent watchdog).
func TestNoOrphanAfterHostSIGKILL(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), hostEnv+"="+diskPlugin+" "+t.TempDir())
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	type result struct {
		line string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		line, err := bufio.NewReader(out).ReadString('\n')
		got <- result{line, err}
	}()
	var line string
	select {
	case r := <-got:
		if r.err != nil {
			t.Fatalf("reading the host's output: %v", r.err)
		}
		line = r.line
	case <-time.After(60 * time.Second):
		t.Fatal("the host did not report its plugin within 60s")
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || pid <= 0 {
		t.Fatalf("host said %q", line)
	}
	if !alive(pid) {
		t.Fatalf("plugin %d is not running while its host is", pid)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	waitGone(t, pid, 10*time.Second)
}

// TestCloseLeavesNoProcess checks that Close stops the plugin.
func TestCloseLeavesNoProcess(t *testing.T) {
	b, _ := openDisk(t, plugin.HostOptions{})
	pid := b.PID()
	if pid == 0 || !alive(pid) {
		t.Fatalf("PID() = %d, not a running process", pid)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid, 10*time.Second)
	if _, err := b.SharesetsForPrefix(context.Background(), "aa"); err == nil {
		t.Fatal("SharesetsForPrefix after Close succeeded")
	}
}

func fileSHA256(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return h.Sum(nil)
}

// TestChecksumPin checks that a matching SHA-256 pin starts the plugin and
// a mismatching one refuses to.
func TestChecksumPin(t *testing.T) {
	sum := fileSHA256(t, diskPlugin)
	b, _ := openDisk(t, plugin.HostOptions{SHA256: sum})
	if _, err := b.AvailableSpace(context.Background()); err != nil {
		t.Fatalf("pinned plugin: %v", err)
	}
	bad := append([]byte(nil), sum...)
	bad[0] ^= 0xff
	_, err := plugin.Open(context.Background(), diskPlugin, plugin.Config{URL: "disk:" + t.TempDir(), Create: true}, plugin.HostOptions{SHA256: bad})
	if err == nil {
		t.Fatal("Open with a wrong SHA-256 pin succeeded")
	}
	if !errors.Is(err, sharestore.ErrPermissionDenied) || !strings.Contains(err.Error(), diskPlugin) || !strings.Contains(err.Error(), "SHA-256") {
		t.Fatalf("Open with a wrong pin: %v (code %v); want PERMISSION_DENIED naming the binary and the checksum", err, sharestore.CodeOf(err))
	}
}

func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fake-plugin")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestClearFailures checks that each way a plugin can fail to start fails
// fast, with a message of one line naming the binary and the cause, and
// none of go-plugin's own explanations.
func TestClearFailures(t *testing.T) {
	notExec := filepath.Join(t.TempDir(), "data.txt")
	os.WriteFile(notExec, []byte("hello"), 0o644)
	cases := []struct {
		name, path, want string
	}{
		{"Missing", filepath.Join(t.TempDir(), "nope"), "no such file"},
		{"NotExecutable", notExec, "not an executable"},
		{"NotAPlugin", script(t, "echo hello, world"), `not a sharestore plugin: it printed "hello, world" instead of the plugin handshake`},
		{"ExitsSilently", script(t, "exit 0"), "not a sharestore plugin: it printed nothing and exited without the plugin handshake"},
		{"NotAPluginBinary", "/bin/ls", "not a sharestore plugin"},
		{"VersionMismatch", script(t, "echo '1|2|unix|/nonexistent.sock|grpc|'; exec sleep 5"), "incompatible API version"},
		{"CrashAtStartup", script(t, "echo 'cannot open the store: disk on fire' >&2; exit 1"), "disk on fire"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := plugin.Open(context.Background(), tc.path, plugin.Config{URL: "disk:" + t.TempDir()}, plugin.HostOptions{Stderr: io.Discard})
			if err == nil {
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tc.path) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open: %v\nwant a message naming %s and containing %q", err, tc.path, tc.want)
			}
			for _, boilerplate := range []string{"\n", "Unrecognized remote plugin message", "Failed to read any lines", "This usually means"} {
				if strings.Contains(err.Error(), boilerplate) {
					t.Fatalf("Open: %q\nwant one line without go-plugin's text %q", err, boilerplate)
				}
			}
			if d := time.Since(start); d > 4*time.Second {
				t.Fatalf("Open took %v to fail", d)
			}
		})
	}
	t.Run("BadConfig", func(t *testing.T) {
		_, err := plugin.Open(context.Background(), diskPlugin, plugin.Config{URL: "disk:" + filepath.Join(t.TempDir(), "missing")}, plugin.HostOptions{})
		if err == nil || !strings.Contains(err.Error(), diskPlugin) || !strings.Contains(err.Error(), "configure") {
			t.Fatalf("Open on a missing store: %v; want an error naming the binary and configure", err)
		}
	})
}
